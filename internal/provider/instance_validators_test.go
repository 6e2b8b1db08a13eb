package provider

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// validateAttribute runs the validators of the instance's attribute at p
// (a spec path such as "sidekiq[1].name") on v, as the framework does.
func validateAttribute(t *testing.T, p string, v attr.Value) diag.Diagnostics {
	t.Helper()
	ctx := context.Background()
	var sr resource.SchemaResponse
	(&instanceResource{}).Schema(ctx, resource.SchemaRequest{}, &sr)
	at := attributePath(p)
	a, diags := sr.Schema.AttributeAtPath(ctx, at)
	if diags.HasError() {
		t.Fatalf("%s: %v", p, diags)
	}
	switch a := a.(type) {
	case schema.StringAttribute:
		for _, c := range a.Validators {
			var resp validator.StringResponse
			c.ValidateString(ctx, validator.StringRequest{Path: at, ConfigValue: v.(types.String)}, &resp)
			diags.Append(resp.Diagnostics...)
		}
	case schema.Int64Attribute:
		for _, c := range a.Validators {
			var resp validator.Int64Response
			c.ValidateInt64(ctx, validator.Int64Request{Path: at, ConfigValue: v.(types.Int64)}, &resp)
			diags.Append(resp.Diagnostics...)
		}
	case schema.ListAttribute:
		for _, c := range a.Validators {
			var resp validator.ListResponse
			c.ValidateList(ctx, validator.ListRequest{Path: at, ConfigValue: v.(types.List)}, &resp)
			diags.Append(resp.Diagnostics...)
		}
	case schema.MapAttribute:
		for _, c := range a.Validators {
			var resp validator.MapResponse
			c.ValidateMap(ctx, validator.MapRequest{Path: at, ConfigValue: v.(types.Map)}, &resp)
			diags.Append(resp.Diagnostics...)
		}
	default:
		t.Fatalf("%s: no validators of %T", p, a)
	}
	return diags
}

// The checks of single attributes of the core are the schema's
// validators: each reports one error at its attribute, worded as the
// spec's errors are ("Invalid <path>", "<path>: <message>"), and never
// about an unknown or null value.
func TestCoreChecks(t *testing.T) {
	str, num := types.StringValue, types.Int64Value
	testChecks(t, []checkCase{
		{"name", str("Social_1"), str("social"), `name: "Social_1" must be a lowercase DNS label`},
		{"name", str(strings.Repeat("a", 41)), str(strings.Repeat("a", 40)), "at most 40 characters"},
		{"namespace", str("Mastodon"), str("mastodon"), `namespace: "Mastodon" is not a valid namespace name`},
		{"local_domain", str("localhost"), str("social.example"), `local_domain: "localhost" is not a domain name`},
		{"web_domain", str("https://social.example/"), str("social.example"), `web_domain: "https://social.example/" is not a domain name`},
		{"version", str("latest"), str("v4.6.5"), `version: "latest" is not a Mastodon version`},
		{"version", str("4.6.5"), str("v4.7.0-rc.1"), `version: "4.6.5" is not an image tag: Mastodon's tags start with v, write "v4.6.5"`},
		{"image.pull_policy", str("always"), str("Never"), `image.pull_policy: must be one of Always, IfNotPresent, Never, not "always"`},
		{"web.replicas", num(-1), num(0), "web.replicas: must not be negative (got -1)"},
		{"streaming.replicas", num(-2), num(3), "streaming.replicas: must not be negative (got -2)"},
		{"sidekiq[1].replicas", num(-1), num(2), "sidekiq[1].replicas: must not be negative (got -1)"},
		{"web.concurrency", num(-1), num(0), "web.concurrency: must be at least 1 (got -1)"},
		{"web.max_threads", num(-5), num(5), "web.max_threads: must be at least 1 (got -5)"},
		{"sidekiq[0].concurrency", num(-1), num(10), "sidekiq[0].concurrency: must be at least 1 (got -1)"},
		{"sidekiq[1].name", str("Push"), str("push"), `sidekiq[1].name: "Push" must be a lowercase DNS label of at most 20 characters`},
		{"web.resources.cpu_request", str("half"), str("500m"), `web.resources.cpu_request: "half" is not a Kubernetes quantity (such as 500m or 1Gi)`},
		{"sidekiq[2].resources.memory_limit", str("1 GB"), str("1Gi"), `sidekiq[2].resources.memory_limit: "1 GB" is not a Kubernetes quantity`},
		{"embedded_database.resources.cpu_limit", str("x"), str("2"), "embedded_database.resources.cpu_limit: "},
		{"embedded_database.storage_size", str("10 GB"), str("20Gi"), `embedded_database.storage_size: "10 GB" is not a Kubernetes quantity (such as 10Gi)`},
		{"embedded_redis.storage_size", str("big"), str("2Gi"), `embedded_redis.storage_size: "big" is not a Kubernetes quantity (such as 1Gi)`},
		{"media.storage_size", str("big"), str("100Gi"), `media.storage_size: "big" is not a Kubernetes quantity (such as 10Gi)`},
		{"media.access_mode", str("ReadWriteOncePod"), str("ReadWriteMany"), "media.access_mode: ReadWriteOncePod lets one Pod mount the volume"},
		{"media.access_mode", str("ReadOnlyMany"), str("ReadWriteOnce"), `media.access_mode: must be one of ReadWriteOnce, ReadWriteMany, not "ReadOnlyMany"`},
		{"settings.default_locale", str("English"), str("pt-BR"), `settings.default_locale: "English" is not a locale such as en or pt-BR`},
		{"database.port", num(70000), num(5433), "database.port: must be a TCP port (got 70000)"},
		{"database.sslmode", str("on"), str("verify-full"), `database.sslmode: must be one of disable, allow, prefer, require, verify-ca, verify-full, not "on"`},
		{"database.pool", num(-1), num(0), "database.pool: must not be negative"},
		{"redis.port", num(-1), num(6380), "redis.port: must be a TCP port (got -1)"},
	})
}

// checkCase is a bad value of an attribute and the error it gets, and a
// good value.
type checkCase struct {
	path      string
	bad, good attr.Value
	want      string // in the detail
}

// testChecks checks each case's attribute: one error at it for the bad
// value, none for the good one, nor for null or unknown.
func testChecks(t *testing.T, cases []checkCase) {
	t.Helper()
	for _, tc := range cases {
		diags := validateAttribute(t, tc.path, tc.bad)
		if len(diags) != 1 || diags[0].Summary() != "Invalid "+tc.path || !strings.Contains(diags[0].Detail(), tc.want) ||
			diags[0].(diag.DiagnosticWithPath).Path().String() != tc.path {
			t.Errorf("%s = %v: %v, want one error with %q", tc.path, tc.bad, diags, tc.want)
		}
		if diags := validateAttribute(t, tc.path, tc.good); len(diags) > 0 {
			t.Errorf("%s = %v refused: %v", tc.path, tc.good, diags)
		}
		if _, ok := tc.bad.(types.String); ok {
			for _, v := range []attr.Value{types.StringNull(), types.StringUnknown()} {
				if diags := validateAttribute(t, tc.path, v); len(diags) > 0 {
					t.Errorf("%s = %v refused: %v", tc.path, v, diags)
				}
			}
		} else if diags := validateAttribute(t, tc.path, types.Int64Unknown()); len(diags) > 0 {
			t.Errorf("%s unknown refused: %v", tc.path, diags)
		}
	}
}

// The checks of single attributes of the features, as TestCoreChecks.
func TestFeatureChecks(t *testing.T) {
	str, num := types.StringValue, types.Int64Value
	testChecks(t, []checkCase{
		{"smtp.port", num(70000), num(2525), "smtp.port: must be a TCP port (got 70000)"},
		{"smtp.from_address", str("not an address"), str("Mastodon <notifications@social.example>"), `smtp.from_address: "not an address" is not an email address`},
		{"smtp.auth_method", str("oauth"), str("login"), `smtp.auth_method: must be one of plain, login, cram_md5, none, not "oauth"`},
		{"smtp.enable_starttls", str("yes"), str("always"), `smtp.enable_starttls: must be one of auto, always, never, not "yes"`},
		{"smtp.openssl_verify_mode", str("strict"), str("peer"), `smtp.openssl_verify_mode: must be one of none, peer, client_once, fail_if_no_peer_cert, not "strict"`},
		{"smtp.delivery_method", str("letter_opener"), str("sendmail"), "smtp.delivery_method: letter_opener is Mastodon's development-only delivery method"},
		{"smtp.delivery_method", str("pigeon"), str("file"), `smtp.delivery_method: must be one of smtp, sendmail, file, letter_opener, not "pigeon"`},
		{"opensearch.host", str("https://es.internal"), str("10.0.0.5"), `opensearch.host: "https://es.internal" must be a host name or address without scheme`},
		{"opensearch.host", str("es internal"), str("es.internal"), `opensearch.host: "es internal" is not a host name or IP address`},
		{"opensearch.port", num(92000), num(9201), "opensearch.port: must be a TCP port (got 92000)"},
		{"opensearch.scheme", str("ftp"), str("https"), `opensearch.scheme: must be http or https, not "ftp"`},
		{"opensearch.preset", str("huge_cluster"), str("large_cluster"), `opensearch.preset: must be one of single_node_cluster, small_cluster, large_cluster, not "huge_cluster"`},
		{"opensearch.prefix", str("Social"), str("social-1"), `opensearch.prefix: "Social" is not an index name prefix`},
		{"opensearch.ca_certificate_pem", str("nope"), str(testCertificate(t)), "opensearch.ca_certificate_pem: holds no PEM certificate"},
		{"maintenance.remote_media.schedule", str("every night"), str("0 3 * * *"), `maintenance.remote_media.schedule: "every night" is not a cron schedule`},
		{"maintenance.statuses.schedule", str("TZ=UTC 0 3 * * *"), str("@weekly"), `maintenance.statuses.schedule: "TZ=UTC 0 3 * * *" is not a cron schedule`},
		{"maintenance.preview_cards.retention_days", num(0), num(30), "maintenance.preview_cards.retention_days: must be at least 1"},
		{"maintenance.statuses.retention_days", num(-1), num(1), "maintenance.statuses.retention_days: must be at least 1"},
		{"backup.schedule", str("daily"), str("@daily"), `backup.schedule: "daily" is not a cron schedule of five fields (minute hour day-of-month month day-of-week, such as "23 2 * * *")`},
		{"backup.keep", num(0), num(1), "backup.keep: must be at least 1"},
		{"backup.prefix", str("a/b/c/d/e"), str("/mastodon/db-dumps/"), `backup.prefix: "a/b/c/d/e" must be one to four path segments`},
		{"backup.prefix", str("backups/../media_attachments"), str("a/b/c/d"), `backup.prefix: "backups/../media_attachments" must be one to four path segments`},
		{"backup.storage_size", str("lots"), str("5Gi"), `backup.storage_size: "lots" is not a Kubernetes quantity (such as 10Gi)`},
		{"database.cloud_sql.instance_connection_name", str("mastodon"), str("example.com:my-project:us-central1:db"),
			`database.cloud_sql.instance_connection_name: "mastodon" is not an instance connection name`},
		{"database.cloud_sql.workload_identity_service_account", str("someone@gmail.com"), str("a@p.iam.gserviceaccount.com"),
			`database.cloud_sql.workload_identity_service_account: "someone@gmail.com" is not a Google service account email`},
		{"ingress.tls_secret_name", str("Social_TLS"), str("social-tls"), `ingress.tls_secret_name: "Social_TLS" is not a valid Secret name`},
		{"ingress.gke_streaming_timeout_seconds", num(-1), num(3600), "ingress.gke_streaming_timeout_seconds: must not be negative"},
		{"translation.deepl.plan", str("business"), str("pro"), `translation.deepl.plan: must be free or pro, not "business"`},
		{"translation.libre_translate.endpoint", str("translate.example.org"), str("http://libretranslate:5000"),
			`translation.libre_translate.endpoint: "translate.example.org" must be a URL such as https://translate.example.org`},
	})
}

// replicas conflicts with autoscaling and external_scaling only when known:
// an unknown one may end up null.
func TestScalingConflictsKnownOnly(t *testing.T) {
	auto := &autoscalingModel{MaxReplicas: types.Int64Value(3), TargetCPU: types.Int64Value(60)}
	for _, tc := range []struct {
		name     string
		replicas types.Int64
		external bool
		auto     *autoscalingModel
		want     string // the attribute named, "" for none
	}{
		{"autoscaling and replicas", types.Int64Value(2), false, auto, "web.autoscaling"},
		{"autoscaling and unknown replicas", types.Int64Unknown(), false, auto, ""},
		{"external_scaling and replicas", types.Int64Value(2), true, nil, "web.external_scaling"},
		{"external_scaling and unknown replicas", types.Int64Unknown(), true, nil, ""},
	} {
		var diags diag.Diagnostics
		scaling(tc.replicas, types.BoolValue(tc.external), tc.auto, attributePath("web"), &diags)
		var got string
		if len(diags) > 0 {
			got = diags[0].(diag.DiagnosticWithPath).Path().String()
		}
		if len(diags) > 1 || got != tc.want {
			t.Errorf("%s: %v, want an error at %q", tc.name, diags, tc.want)
		}
	}
}

func testCertificate(t *testing.T) string {
	cert, _ := testCertificatePEM(t)
	return cert
}

// A process's queues are checked as a list; one not known yet waits.
func TestQueuesCheck(t *testing.T) {
	list := func(queues ...attr.Value) types.List { return types.ListValueMust(types.StringType, queues) }
	str := types.StringValue
	for _, tc := range []struct {
		queues types.List
		want   []string // the errors' details
	}{
		{list(str("default,8"), str("scheduler")), nil},
		{list(str("defaults")), []string{`sidekiq[1].queues: unknown queue "defaults": Mastodon's queues are default, push, ingress, mailers, pull, scheduler, fasp`}},
		{list(str("push"), str("push,2")), []string{`sidekiq[1].queues: queue "push" is listed twice`}},
		{list(), []string{"sidekiq[1].queues: must name at least one queue"}},
		{list(str("default"), types.StringUnknown()), nil},
		{list(str("defaults"), types.StringUnknown()), nil},
		{types.ListUnknown(types.StringType), nil},
		{types.ListNull(types.StringType), nil},
	} {
		var got []string
		for _, d := range validateAttribute(t, "sidekiq[1].queues", tc.queues) {
			if d.Summary() != "Invalid sidekiq[1].queues" || d.(diag.DiagnosticWithPath).Path().String() != "sidekiq[1].queues" {
				t.Errorf("%v: %s at %v", tc.queues, d.Summary(), d.(diag.DiagnosticWithPath).Path())
			}
			got = append(got, d.Detail())
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%v: %q, want %q", tc.queues, got, tc.want)
		}
	}
}

// The names of the free-form environment are checked, even while a value
// is unknown.
func TestEnvNamesCheck(t *testing.T) {
	env := func(m map[string]attr.Value) types.Map { return types.MapValueMust(types.StringType, m) }
	str := types.StringValue
	for _, p := range []string{"settings.extra_env", "settings.extra_secret_env", "settings.extra_secret_env_wo"} {
		for _, tc := range []struct {
			env  types.Map
			want []string
		}{
			{env(map[string]attr.Value{"RAILS_LOG_LEVEL": str("warn"), "_X1": str("")}), nil},
			{env(map[string]attr.Value{"MY-VAR": str("x"), "1X": types.StringUnknown(), "OK": str("y")}),
				[]string{p + `: "1X" is not an environment variable name`, p + `: "MY-VAR" is not an environment variable name`}},
			{types.MapUnknown(types.StringType), nil},
		} {
			var got []string
			for _, d := range validateAttribute(t, p, tc.env) {
				if d.Summary() != "Invalid "+p {
					t.Errorf("%s: %s", p, d.Summary())
				}
				got = append(got, d.Detail())
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("%s = %v: %q, want %q", p, tc.env, got, tc.want)
			}
		}
	}
}
