package provider

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	"github.com/tootform/terraform-provider-mastodon/internal/kube"
	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

// An adoption reads the environment a chart gives its web container and
// maps each variable to the attribute that renders it. The charts run the
// same variables this provider renders, so adopting this provider's own
// objects must give back a configuration that renders the same
// environment, the same secrets and the same processes: a variable the
// table maps to the wrong attribute, or one it forgets (which would land
// in extra_env, where a block's variables are refused), shows here.
func TestAdoptionIsTheInverseOfTheEnvironment(t *testing.T) {
	ctx := context.Background()
	s := &mastodon.Spec{Name: "social", Namespace: "ns", LocalDomain: "social.example", WebDomain: "www.social.example",
		Version: "v4.5.1", WebReplicas: 2, StreamReplicas: 3, WebConcurrency: 3, MaxThreads: 7,
		WebResources: mastodon.Resources{CPURequest: "500m", MemoryLimit: "2Gi"},
		Sidekiq: []mastodon.SidekiqProcess{
			{Name: "default", Queues: []mastodon.Queue{{Name: "default", Weight: 8}, {Name: "push", Weight: 6}, {Name: "ingress", Weight: 4}, {Name: "mailers", Weight: 2},
				{Name: "pull"}, {Name: "fasp"}}, Concurrency: 20, Replicas: 2},
			{Name: "scheduler", Queues: []mastodon.Queue{{Name: "scheduler"}}, Concurrency: 5, Replicas: 1},
		},
		Database: &mastodon.Database{Host: "db.internal", Port: 6432, Name: "mastodon", User: "mastodon", Password: "db-secret", SSLMode: "require", Pool: 30,
			Replica: &mastodon.Replica{Host: "db-replica.internal", Port: 5433, User: "reader", Password: "replica-secret"}},
		Redis:        &mastodon.Redis{Host: "redis.internal", Port: 6380, Password: "redis-secret", DB: 1},
		CacheRedis:   &mastodon.Redis{Host: "cache.internal", Port: 6381, User: "cache", Password: "cache-secret", DB: 2},
		SidekiqRedis: &mastodon.Redis{Host: "jobs.internal", Password: "jobs-secret"},
		SMTP: &mastodon.SMTP{Server: "smtp.example.org", Port: 465, Login: "mastodon", Password: "smtp-secret", FromAddress: "notifications@social.example",
			AuthMethod: "plain", OpenSSLVerifyMode: "peer", EnableStartTLS: "never", TLS: true},
		MediaBucket: &mastodon.MediaBucket{Bucket: "media", Endpoint: "https://storage.example.org", Region: "eu", AliasHost: "files.social.example",
			AccessKeyID: "AKIA", SecretAccessKey: "bucket-secret", PathStyle: true},
		Settings: mastodon.Settings{AuthorizedFetch: true, DefaultLocale: "de", TrustedProxyIP: "10.0.0.0/8",
			ExtraEnv: map[string]string{"CACHE_BUSTER_ENABLED": "true"}, ExtraSecretEnv: map[string]string{"CACHE_BUSTER_SECRET": "cb-secret"}},
		Translation: &mastodon.Translation{DeepL: &mastodon.DeepL{APIKey: "deepl-secret", Plan: "pro"}},
		Domains:     mastodon.Domains{Alternate: []string{"social.example.net", "mastodon.example.org"}, CDNHost: "https://assets.social.example"},
		HCaptcha:    &mastodon.HCaptcha{SiteKey: "site", SecretKey: "hc-secret"},
		OpenTelemetry: &mastodon.OpenTelemetry{Endpoint: "http://otel.monitoring:4318", ServiceNamePrefix: "social", ServiceNameSeparator: "-",
			TracesSampler: "parentbased_traceidratio", TracesSamplerRatio: ptr.To(0.25)},
		LogLevels: mastodon.LogLevels{Rails: "warn", Streaming: "debug"},
		Policy: mastodon.Policy{EmailDomainAllowlist: []string{"example.org", "example.net"}, EmailDomainDenylist: []string{"spam.example"},
			IPRetentionSeconds: 86400 * 30, SessionRetentionSeconds: 86400 * 90, UserActiveDays: 14, DisallowUnauthenticatedAPIAccess: true,
			ForceDefaultLocale: true, AllowedPrivateAddresses: []string{"10.0.0.0/8", "fd00::/8"}, HTTPProxy: "http://proxy.net:3128",
			HTTPHiddenProxy: "http://privoxy.tor:8118", AllowAccessToHiddenService: true},
	}
	s.Defaults()
	if errs := s.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	secrets := mastodon.Secrets{}
	if err := secrets.Fill(false, false); err != nil {
		t.Fatal(err)
	}
	cr := releaseOf(t, s, secrets)
	var schemaResp resource.SchemaResponse
	(&instanceResource{}).Schema(ctx, resource.SchemaRequest{}, &schemaResp)
	m, notes, err := adoptedState(ctx, fakeClient(), cr, "ns", "social", tfsdk.State{Schema: schemaResp.Schema})
	if err != nil {
		t.Fatal(err)
	}
	if len(notes) > 0 {
		t.Errorf("adopting the provider's own objects found differences: %v", notes)
	}
	got, d := m.spec(ctx)
	if d.HasError() {
		t.Fatal(d)
	}
	if errs := got.Validate(); len(errs) > 0 {
		t.Fatalf("the adopted configuration is refused: %v", errs)
	}
	if got.CacheRedis == nil || got.SidekiqRedis == nil || got.CacheRedis.Password != "cache-secret" || got.SidekiqRedis.Password != "jobs-secret" {
		t.Errorf("the cache's and Sidekiq's Redis are not adopted as cache_redis and sidekiq_redis: %+v %+v", got.CacheRedis, got.SidekiqRedis)
	}
	gotSecrets := secretsFromObject(m.Secrets, m.VapidPublicKey.ValueString())
	if gotSecrets != secrets {
		t.Errorf("secrets differ:\n got %+v\nwant %+v", gotSecrets, secrets)
	}
	wantPlain, wantSecret := s.Environment(secrets)
	gotPlain, gotSecret := got.Environment(gotSecrets)
	for what, pair := range map[string][2]map[string]string{"plain": {wantPlain, gotPlain}, "secret": {wantSecret, gotSecret}} {
		if !maps.Equal(pair[0], pair[1]) {
			for _, k := range slices.Sorted(maps.Keys(pair[0])) {
				if pair[1][k] != pair[0][k] {
					t.Errorf("%s %s: adopted %q, want %q", what, k, pair[1][k], pair[0][k])
				}
			}
			for k := range pair[1] {
				if _, ok := pair[0][k]; !ok {
					t.Errorf("%s %s: adopted %q, not rendered before", what, k, pair[1][k])
				}
			}
		}
	}
	if got.Version != s.Version || got.WebReplicas != 2 || got.StreamReplicas != 3 || got.WebResources != s.WebResources ||
		!slices.EqualFunc(got.Sidekiq, s.Sidekiq, func(a, b mastodon.SidekiqProcess) bool {
			return a.Name == b.Name && a.Concurrency == b.Concurrency && a.Replicas == b.Replicas && slices.Equal(a.Queues, b.Queues)
		}) {
		t.Errorf("processes differ: version %s web %d streaming %d %+v sidekiq %+v", got.Version, got.WebReplicas, got.StreamReplicas, got.WebResources, got.Sidekiq)
	}
	want := *s.Database.Replica
	want.Name = "mastodon" // REPLICA_DB_NAME is always rendered: the adopted name is given
	if r := got.Database.Replica; r == nil || *r != want {
		t.Errorf("the replica is not adopted as database.replica: %+v", r)
	}
	// A difference is reported, a secret's value never: here the chart
	// gives DB_PASS literally (not from a Secret), which the instance
	// carries into its Secret, and another streaming URL.
	ctr := &cr.web.Spec.Template.Spec.Containers[0]
	ctr.Env = append(ctr.Env, corev1.EnvVar{Name: "DB_PASS", Value: "plain-literal"}, corev1.EnvVar{Name: "STREAMING_API_BASE_URL", Value: "wss://elsewhere"})
	_, notes, err = adoptedState(ctx, fakeClient(), cr, "ns", "social", tfsdk.State{Schema: schemaResp.Schema})
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(notes, "\n")
	if !strings.Contains(joined, "wss://elsewhere") {
		t.Errorf("the differences are not reported: %v", notes)
	}
	if strings.Contains(joined, "plain-literal") || strings.Contains(joined, "db-secret") {
		t.Errorf("a secret's value is in the adoption's warning: %v", notes)
	}
	if m.MigratedVersion.ValueString() != s.Version {
		t.Errorf("migrated_version %s: the release's database is migrated to its version %s", m.MigratedVersion, s.Version)
	}
}

func TestSidekiqCommandAndCharts(t *testing.T) {
	q, c, err := mastodon.SidekiqCommand([]string{"bundle", "exec", "sidekiq", "-c", "25", "-q", "default,8", "-q", "scheduler"})
	if err != nil || c != 25 || !slices.Equal(q, []string{"default,8", "scheduler"}) {
		t.Fatalf("%v %d %v", q, c, err)
	}
	if _, _, err := mastodon.SidekiqCommand([]string{"bundle", "exec", "sidekiq", "-c", "x"}); err == nil {
		t.Error("a concurrency that is not a number is accepted")
	}
	if _, _, err := mastodon.SidekiqCommand([]string{"bundle", "exec", "sidekiq"}); err == nil {
		t.Error("a process with no queue is accepted")
	}
	for _, c := range []struct{ name, version, want string }{
		{"mastodon", "1.0.2", mastodon.ChartHelmCharts}, {"mastodon", "6.9.3", mastodon.ChartLegacy},
		{"mastodon", "5.1.0", ""}, {"mastodon", "2.0.0", ""}, {"gitlab", "1.0.0", ""},
	} {
		got, err := mastodon.AdoptableChart(c.name, c.version)
		if got != c.want || (c.want == "") != (err != nil) {
			t.Errorf("%s %s: %q %v", c.name, c.version, got, err)
		}
	}
	for id, want := range map[string][3]string{"helm:ns/rel": {"ns", "rel", "rel"}, "helm:ns/rel/social": {"ns", "rel", "social"},
		"helm:ns": {}, "helm:/rel": {}, "helm:ns/rel/a/b": {}, "helm:ns//x": {}} {
		ns, rel, name, ok := parseHelmID(id)
		if got := [3]string{ns, rel, name}; ok != (want != [3]string{}) || (ok && got != want) {
			t.Errorf("%s: %v %v", id, got, ok)
		}
	}
}

// releaseOf is a release made of the objects the spec renders.
func releaseOf(t *testing.T, s *mastodon.Spec, secrets mastodon.Secrets) *chartRelease {
	t.Helper()
	cr := &chartRelease{objs: map[string]*unstructured.Unstructured{}, sidekiq: map[string]*appsv1.Deployment{}}
	for _, o := range s.Render(secrets, "") {
		u := o.Unstructured()
		switch o.Kind {
		case "ConfigMap", "Secret":
			cr.objs[kube.Key(u)] = u
		case "Deployment":
			var d appsv1.Deployment
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &d); err != nil {
				t.Fatal(err)
			}
			switch {
			case o.Name == s.WebName():
				cr.web = &d
			case o.Name == s.StreamingName():
				cr.streaming = &d
			default:
				cr.sidekiq[o.Name[len(s.SidekiqName("")):]] = &d
			}
		}
	}
	return cr
}

// adoptSpec adopts the release that s renders (its embedded services with
// passwords when embedded): the model, the import's notes and the
// release's secrets.
func adoptSpec(t *testing.T, s *mastodon.Spec, embedded bool) (*instanceModel, []string, mastodon.Secrets) {
	t.Helper()
	ctx := context.Background()
	s.Defaults()
	secrets := mastodon.Secrets{}
	if err := secrets.Fill(embedded, embedded); err != nil {
		t.Fatal(err)
	}
	var schemaResp resource.SchemaResponse
	(&instanceResource{}).Schema(ctx, resource.SchemaRequest{}, &schemaResp)
	m, notes, err := adoptedState(ctx, fakeClient(), releaseOf(t, s, secrets), "ns", "social", tfsdk.State{Schema: schemaResp.Schema})
	if err != nil {
		t.Fatal(err)
	}
	return m, notes, secrets
}

// A release whose bucket has no keys (its Pods' identity reaches it)
// adopts as a keyless media_bucket, which renders the same environment.
func TestAdoptionKeylessBucket(t *testing.T) {
	ctx := context.Background()
	s := &mastodon.Spec{Name: "social", Namespace: "ns", LocalDomain: "social.example", Version: "v4.5.1", WebReplicas: 1, StreamReplicas: 1,
		MediaBucket: &mastodon.MediaBucket{Bucket: "media", Endpoint: "https://s3.eu-west-1.amazonaws.com", Region: "eu-west-1"}}
	m, notes, secrets := adoptSpec(t, s, false)
	if len(notes) > 0 {
		t.Errorf("adopting a keyless bucket found differences: %v", notes)
	}
	if b := m.MediaBucket; b == nil || !b.AccessKeyID.IsNull() || !b.SecretAccessKey.IsNull() || b.Bucket.ValueString() != "media" {
		t.Fatalf("media_bucket %+v: want the bucket, with both keys null", b)
	}
	got, d := m.spec(ctx)
	if d.HasError() {
		t.Fatal(d)
	}
	if errs := got.Validate(); len(errs) > 0 {
		t.Fatalf("the adopted keyless bucket is refused: %v", errs)
	}
	wantPlain, wantSecret := s.Environment(secrets)
	gotPlain, gotSecret := got.Environment(secretsFromObject(m.Secrets, m.VapidPublicKey.ValueString()))
	bucketVars := func(env map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range env {
			if strings.HasPrefix(k, "S3_") || strings.HasPrefix(k, "AWS_") {
				out[k] = v
			}
		}
		return out
	}
	for what, pair := range map[string][2]map[string]string{"plain": {wantPlain, gotPlain}, "secret": {wantSecret, gotSecret}} {
		if want, got := bucketVars(pair[0]), bucketVars(pair[1]); !maps.Equal(want, got) || (what == "secret" && len(got) > 0) {
			t.Errorf("the adopted bucket's %s variables: %v, want %v", what, got, want)
		}
	}
}

// The rules of an adoption that no round trip shows: what a chart leaves
// unset, what it keeps in a ConfigMap, how it routes.
func TestAdoptionRules(t *testing.T) {
	one := int32(1)
	d := func(image string, cmd ...string) *appsv1.Deployment {
		return &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: &one, Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Image: image, Command: cmd}}}}}}
	}
	cr := &chartRelease{objs: map[string]*unstructured.Unstructured{}, web: d("ghcr.io/mastodon/mastodon:v4.6.2"),
		sidekiq: map[string]*appsv1.Deployment{"all": d("ghcr.io/mastodon/mastodon:v4.6.2", "bundle", "exec", "sidekiq", "-q", "default")}}
	// Mastodon writes uploads public-read when S3_PERMISSION is unset
	// (config/initializers/paperclip.rb); the instance always writes it.
	rec, err := cr.record(map[string]string{"LOCAL_DOMAIN": "example.com", "S3_ENABLED": "true", "S3_BUCKET": "media", "S3_ENDPOINT": "https://s3.example"})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := rec["media_bucket"].(map[string]any); b["permission"] != "public-read" || b["path_style"] != true {
		t.Errorf("media_bucket %v: want permission public-read (Mastodon's default) and path_style (no S3_OVERRIDE_PATH_STYLE)", b)
	}
	rec, _ = cr.record(map[string]string{"LOCAL_DOMAIN": "example.com", "S3_ENABLED": "false", "S3_BUCKET": "media"})
	if _, ok := rec["media_bucket"]; ok {
		t.Error("a bucket is adopted while S3_ENABLED is false")
	}
	for name, secret := range map[string]bool{"REPLICA_DB_PASS": true, "OIDC_CLIENT_SECRET": true, "LDAP_PASSWORD": true, "SAML_PRIVATE_KEY": true,
		"CACHE_BUSTER_SECRET_HEADER": true, "HCAPTCHA_SECRET_KEY": true, "SOME_API_KEY": true, "GITHUB_TOKEN": true,
		"TZ": false, "RAILS_LOG_LEVEL": false, "HCAPTCHA_SITE_KEY": false, "VAPID_PUBLIC_KEY": false, "ALTERNATE_DOMAINS": false} {
		if mastodon.LooksSecret(name) != secret {
			t.Errorf("%s looks secret: %v, want %v", name, !secret, secret)
		}
	}
	for _, c := range []struct {
		objs []kube.HelmObject
		want string
	}{
		{[]kube.HelmObject{{Kind: "Ingress", Name: "m"}, {Kind: "Service", Name: "m-web"}}, ""},
		{[]kube.HelmObject{{Kind: "HTTPRoute", Name: "m"}}, "HTTPRoute m (Gateway API)"},
		{[]kube.HelmObject{{Kind: "Ingress", Name: "m"}, {Kind: "Ingress", Name: "m-streaming"}}, "2 Ingresses"},
	} {
		err := routable(c.objs)
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%v: %v, want %q", c.objs, err, c.want)
		}
	}
}

// An adoption leaves in extra_env only what the instance neither renders
// nor maps to an attribute, so the adopted configuration passes the
// extra_env refusals: switches a chart writes as "false" that Mastodon
// reads as unset (mastodon.UnsetWhenFalse) are dropped; AUTHORIZED_FETCH
// "false", which overrides the admin's setting, has no attribute value and
// is named in the notes; a block's family that is not adopted (OIDC_*) and
// foreign variables are carried as they are.
func TestAdoptionLeavesNoOwnedVariableFree(t *testing.T) {
	ctx := context.Background()
	s := &mastodon.Spec{Name: "social", Namespace: "ns", LocalDomain: "social.example", Version: "v4.5.1", WebReplicas: 1, StreamReplicas: 1}
	s.Settings.ExtraEnv = map[string]string{"AUTHORIZED_FETCH": "false", "SINGLE_USER_MODE": "false", "LIMITED_FEDERATION_MODE": "false",
		"OIDC_ENABLED": "true", "OIDC_ISSUER": "https://id.example", "GITHUB_REPOSITORY": "me/mastodon"}
	m, notes, _ := adoptSpec(t, s, true)
	if len(notes) != 1 || !strings.HasPrefix(notes[0], `AUTHORIZED_FETCH: the chart's "false" is not carried over`) {
		t.Errorf("notes: %v, want AUTHORIZED_FETCH's only", notes)
	}
	got, d := m.spec(ctx)
	if d.HasError() {
		t.Fatal(d)
	}
	if errs := got.Validate(); len(errs) > 0 {
		t.Fatalf("the adopted configuration is refused: %v", errs)
	}
	if want := []string{"GITHUB_REPOSITORY", "OIDC_ENABLED", "OIDC_ISSUER"}; !slices.Equal(slices.Sorted(maps.Keys(got.Settings.ExtraEnv)), want) {
		t.Errorf("extra_env %v, want the keys %v", got.Settings.ExtraEnv, want)
	}
	if w := got.Warnings(); len(w) != 2 {
		t.Errorf("warnings %v, want OIDC_ENABLED's and OIDC_ISSUER's (they belong to sso)", w)
	}
}
