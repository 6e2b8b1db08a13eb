package provider

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/smithy-go"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// The plan step of mastodon_media_bucket, called directly with values built
// from tftypes, as Terraform sends them.

var (
	bucketUnknownStr  = tftypes.NewValue(tftypes.String, tftypes.UnknownValue)
	bucketUnknownBool = tftypes.NewValue(tftypes.Bool, tftypes.UnknownValue)
)

func bucketSchema(t *testing.T) schema.Schema {
	t.Helper()
	var resp resource.SchemaResponse
	(&mediaBucketResource{}).Schema(context.Background(), resource.SchemaRequest{}, &resp)
	return resp.Schema
}

// bucketValue is a whole resource value: the attributes given, null elsewhere.
func bucketValue(t *testing.T, attrs map[string]tftypes.Value) tftypes.Value {
	t.Helper()
	typ := bucketSchema(t).Type().TerraformType(context.Background()).(tftypes.Object)
	vals := map[string]tftypes.Value{}
	for name, at := range typ.AttributeTypes {
		vals[name] = tftypes.NewValue(at, nil)
		if v, ok := attrs[name]; ok {
			vals[name] = v
		}
	}
	for name := range attrs {
		if _, ok := typ.AttributeTypes[name]; !ok {
			t.Fatalf("no attribute %s", name)
		}
	}
	return tftypes.NewValue(typ, vals)
}

// bucketPlan runs ModifyPlan for a create of config. Like Terraform, the
// proposed plan is the configuration with every computed attribute the
// configuration leaves null unknown, and the defaults of create and
// force_destroy filled.
func bucketPlan(t *testing.T, config map[string]tftypes.Value, state tftypes.Value) (plan mediaBucketResourceModel, diags diag.Diagnostics) {
	t.Helper()
	ctx := context.Background()
	sch := bucketSchema(t)
	proposed := map[string]tftypes.Value{}
	for k, v := range config {
		proposed[k] = v
	}
	for _, name := range []string{"id", "region", "path_style", "public_access", "created"} {
		if _, ok := config[name]; !ok {
			typ := sch.Attributes[name].GetType().TerraformType(ctx)
			proposed[name] = tftypes.NewValue(typ, tftypes.UnknownValue)
		}
	}
	for _, name := range []string{"create", "force_destroy"} {
		if _, ok := config[name]; !ok {
			proposed[name] = tftypes.NewValue(tftypes.Bool, name == "create")
		}
	}
	proposed["secret_access_key_wo"] = tftypes.NewValue(tftypes.String, nil) // write-only: never in a plan
	proposed["instance_secret_access_key_wo"] = tftypes.NewValue(tftypes.String, nil)
	proposed["settings"] = tftypes.NewValue(sch.Attributes["settings"].GetType().TerraformType(ctx), tftypes.UnknownValue)
	if state.Type() == nil {
		state = tftypes.NewValue(sch.Type().TerraformType(ctx), nil)
	}
	req := resource.ModifyPlanRequest{
		Config: tfsdk.Config{Schema: sch, Raw: bucketValue(t, config)},
		Plan:   tfsdk.Plan{Schema: sch, Raw: bucketValue(t, proposed)},
		State:  tfsdk.State{Schema: sch, Raw: state},
	}
	resp := resource.ModifyPlanResponse{Plan: req.Plan}
	(&mediaBucketResource{}).ModifyPlan(ctx, req, &resp)
	diags = resp.Diagnostics
	if diags.HasError() {
		t.Fatalf("ModifyPlan: %v", diags)
	}
	diags.Append(resp.Plan.Get(ctx, &plan)...)
	return plan, diags
}

func clearBucketEnv(t *testing.T) {
	for _, env := range []string{envS3Endpoint, envS3Region, envS3AccessKey, envS3SecretKey} {
		t.Setenv(env, "")
	}
}

func minioConfig(extra map[string]tftypes.Value) map[string]tftypes.Value {
	c := map[string]tftypes.Value{
		"bucket": str("media"), "endpoint": str("http://127.0.0.1:9000"),
		"access_key_id": str("manager"), "secret_access_key": str("manager-secret"),
	}
	for k, v := range extra {
		c[k] = v
	}
	return c
}

// Values unknown in the configuration (another resource's output) stay
// unknown in the plan: a default there is a value Terraform rejects when
// the real one arrives.
func TestBucketPlanUnknownInputsStayUnknown(t *testing.T) {
	clearBucketEnv(t)
	plan, _ := bucketPlan(t, minioConfig(map[string]tftypes.Value{
		"region": bucketUnknownStr, "path_style": bucketUnknownBool, "public_access": bucketUnknownStr,
	}), tftypes.Value{})
	if !plan.Region.IsUnknown() || !plan.PathStyle.IsUnknown() || !plan.PublicAccess.IsUnknown() {
		t.Errorf("region %v, path_style %v, public_access %v: want all unknown", plan.Region, plan.PathStyle, plan.PublicAccess)
	}
	if !plan.Settings.IsUnknown() {
		t.Errorf("settings = %v while their inputs are unknown", plan.Settings)
	}
	if plan.ID.ValueString() != "media" || !plan.Created.IsUnknown() {
		t.Errorf("id %v, created %v", plan.ID, plan.Created)
	}
}

// Where the configuration leaves them out, the store type's defaults.
func TestBucketPlanDefaultsWhereConfigIsNull(t *testing.T) {
	clearBucketEnv(t)
	plan, _ := bucketPlan(t, minioConfig(nil), tftypes.Value{})
	if plan.Region.ValueString() != "us-east-1" || !plan.PathStyle.ValueBool() || plan.PublicAccess.ValueString() != "policy" {
		t.Errorf("region %v, path_style %v, public_access %v", plan.Region, plan.PathStyle, plan.PublicAccess)
	}
	a := plan.Settings.Attributes()
	if plan.Settings.IsUnknown() || a["access_key_id"].String() != `"manager"` || a["secret_access_key"].String() != `"manager-secret"` ||
		a["endpoint"].String() != `"http://127.0.0.1:9000"` || a["path_style"].String() != "true" {
		t.Errorf("settings = %v", plan.Settings)
	}
	// The endpoint unknown: region does not depend on it; path style and public access do.
	t.Setenv(envS3Region, "eu-central-1")
	plan, _ = bucketPlan(t, minioConfig(map[string]tftypes.Value{"endpoint": bucketUnknownStr}), tftypes.Value{})
	if plan.Region.ValueString() != "eu-central-1" || !plan.PathStyle.IsUnknown() || !plan.PublicAccess.IsUnknown() || !plan.Settings.IsUnknown() {
		t.Errorf("endpoint unknown: region %v, path_style %v, public_access %v, settings %v", plan.Region, plan.PathStyle, plan.PublicAccess, plan.Settings)
	}
}

// Each input of settings, unknown alone, keeps settings unknown.
func TestBucketPlanSettingsUnknownWhileAnInputIs(t *testing.T) {
	clearBucketEnv(t)
	for _, name := range []string{"bucket", "endpoint", "region", "path_style", "public_access", "alias_host", "access_key_id", "secret_access_key", "instance_access_key_id", "instance_secret_access_key"} {
		unknown := bucketUnknownStr
		if name == "path_style" {
			unknown = bucketUnknownBool
		}
		extra := map[string]tftypes.Value{name: unknown}
		if name == "instance_secret_access_key" {
			extra["instance_access_key_id"] = str("mastodon")
		}
		plan, _ := bucketPlan(t, minioConfig(extra), tftypes.Value{})
		if !plan.Settings.IsUnknown() {
			t.Errorf("%s unknown: settings = %v", name, plan.Settings)
		}
	}
}

// The keys from the environment manage the bucket and never reach settings.
func TestBucketPlanEnvironmentKeysNotInSettings(t *testing.T) {
	clearBucketEnv(t)
	t.Setenv(envS3AccessKey, "operator")
	t.Setenv(envS3SecretKey, "operator-secret")
	plan, diags := bucketPlan(t, map[string]tftypes.Value{"bucket": str("media"), "endpoint": str("http://127.0.0.1:9000")}, tftypes.Value{})
	a := plan.Settings.Attributes()
	if !a["access_key_id"].IsNull() || !a["secret_access_key"].IsNull() {
		t.Errorf("settings carry the environment's keys: %v", plan.Settings)
	}
	if !hasWarning(diags, "settings carry no keys") {
		t.Errorf("no warning that settings carry no keys: %v", diags)
	}
	// Mastodon's own key from the configuration, the managing one from the environment.
	plan, _ = bucketPlan(t, map[string]tftypes.Value{"bucket": str("media"), "endpoint": str("http://127.0.0.1:9000"),
		"instance_access_key_id": str("mastodon"), "instance_secret_access_key": str("mastodon-secret")}, tftypes.Value{})
	a = plan.Settings.Attributes()
	if a["access_key_id"].String() != `"mastodon"` || a["secret_access_key"].String() != `"mastodon-secret"` {
		t.Errorf("settings = %v, want Mastodon's key", plan.Settings)
	}
	// Given write-only, Mastodon's secret is not in settings.
	plan, _ = bucketPlan(t, map[string]tftypes.Value{"bucket": str("media"), "endpoint": str("http://127.0.0.1:9000"),
		"instance_access_key_id": str("mastodon"), "instance_secret_access_key_wo": str("mastodon-secret")}, tftypes.Value{})
	a = plan.Settings.Attributes()
	if a["access_key_id"].String() != `"mastodon"` || !a["secret_access_key"].IsNull() {
		t.Errorf("settings = %v, want Mastodon's key ID and no secret", plan.Settings)
	}
}

func TestBucketPlanWarnsWhenMastodonGetsTheManagingKeyOnAWS(t *testing.T) {
	clearBucketEnv(t)
	aws := func(extra map[string]tftypes.Value) map[string]tftypes.Value {
		c := minioConfig(extra)
		delete(c, "endpoint")
		return c
	}
	const warning = "Mastodon gets the key that manages the bucket"
	for name, tc := range map[string]struct {
		config map[string]tftypes.Value
		warn   bool
	}{
		"managing key in settings":     {aws(nil), true},
		"Mastodon's key is the same":   {aws(map[string]tftypes.Value{"instance_access_key_id": str("manager"), "instance_secret_access_key": str("manager-secret")}), true},
		"Mastodon's own key":           {aws(map[string]tftypes.Value{"instance_access_key_id": str("mastodon"), "instance_secret_access_key": str("x")}), false},
		"Mastodon's key unknown":       {aws(map[string]tftypes.Value{"instance_access_key_id": bucketUnknownStr, "instance_secret_access_key": str("x")}), false},
		"not AWS":                      {minioConfig(nil), false},
		"endpoint unknown (maybe AWS)": {minioConfig(map[string]tftypes.Value{"endpoint": bucketUnknownStr}), false},
		"the managing key ID unknown":  {aws(map[string]tftypes.Value{"access_key_id": bucketUnknownStr, "instance_access_key_id": str("mastodon"), "instance_secret_access_key": str("x")}), false},
	} {
		_, diags := bucketPlan(t, tc.config, tftypes.Value{})
		if got := hasWarning(diags, warning); got != tc.warn {
			t.Errorf("%s: warning %v, want %v (%v)", name, got, tc.warn, diags)
		}
	}
	// The managing key from the environment, the same given to Mastodon.
	t.Setenv(envS3AccessKey, "operator")
	t.Setenv(envS3SecretKey, "operator-secret")
	_, diags := bucketPlan(t, map[string]tftypes.Value{"bucket": str("media"), "instance_access_key_id": str("operator"), "instance_secret_access_key": str("operator-secret")}, tftypes.Value{})
	if !hasWarning(diags, warning) {
		t.Errorf("the environment's key given to Mastodon on AWS: no warning (%v)", diags)
	}
}

// An update keeps created as the create left it.
func TestBucketPlanCreatedFromState(t *testing.T) {
	clearBucketEnv(t)
	config := minioConfig(nil)
	state := map[string]tftypes.Value{}
	for k, v := range config {
		state[k] = v
	}
	state["created"] = tftypes.NewValue(tftypes.Bool, false)
	plan, _ := bucketPlan(t, config, bucketValue(t, state))
	if plan.Created.IsUnknown() || plan.Created.ValueBool() {
		t.Errorf("created = %v, want false from state", plan.Created)
	}
}

func hasWarning(diags diag.Diagnostics, summary string) bool {
	for _, d := range diags.Warnings() {
		if strings.Contains(d.Summary(), summary) {
			return true
		}
	}
	return false
}

func bucketValidate(t *testing.T, config map[string]tftypes.Value) diag.Diagnostics {
	t.Helper()
	req := resource.ValidateConfigRequest{Config: tfsdk.Config{Schema: bucketSchema(t), Raw: bucketValue(t, config)}}
	var resp resource.ValidateConfigResponse
	(&mediaBucketResource{}).ValidateConfig(context.Background(), req, &resp)
	return resp.Diagnostics
}

// Bad input is refused naming the attribute; an unknown value is never
// a conflict nor a missing value.
func TestBucketValidateKeys(t *testing.T) {
	clearBucketEnv(t)
	for name, tc := range map[string]struct {
		extra map[string]tftypes.Value
		want  string // the attribute named, "" for none
	}{
		"Mastodon's key ID without a secret":  {map[string]tftypes.Value{"instance_access_key_id": str("m")}, "instance_secret_access_key"},
		"Mastodon's secret without a key ID":  {map[string]tftypes.Value{"instance_secret_access_key": str("s")}, "instance_access_key_id"},
		"Mastodon's write-only without an ID": {map[string]tftypes.Value{"instance_secret_access_key_wo": str("s")}, "instance_access_key_id"},
		"Mastodon's secret twice": {map[string]tftypes.Value{"instance_access_key_id": str("m"),
			"instance_secret_access_key": str("s"), "instance_secret_access_key_wo": str("s")}, "instance_secret_access_key_wo"},
		"a version without its write-only": {map[string]tftypes.Value{"instance_access_key_id": str("m"), "instance_secret_access_key": str("s"),
			"instance_secret_access_key_wo_version": tftypes.NewValue(tftypes.Number, 1)}, "instance_secret_access_key_wo_version"},
		"Mastodon's pair":           {map[string]tftypes.Value{"instance_access_key_id": str("m"), "instance_secret_access_key": str("s")}, ""},
		"Mastodon's secret unknown": {map[string]tftypes.Value{"instance_access_key_id": str("m"), "instance_secret_access_key": bucketUnknownStr}, ""},
		"Mastodon's key ID unknown": {map[string]tftypes.Value{"instance_access_key_id": bucketUnknownStr, "instance_secret_access_key": str("s")}, ""},
		"both secrets, one unknown (a conditional)": {map[string]tftypes.Value{"secret_access_key": bucketUnknownStr,
			"secret_access_key_wo": str("s")}, ""},
		"both of Mastodon's secrets, one unknown": {map[string]tftypes.Value{"instance_access_key_id": str("m"),
			"instance_secret_access_key": bucketUnknownStr, "instance_secret_access_key_wo": str("s")}, ""},
	} {
		diags := bucketValidate(t, minioConfig(tc.extra))
		var named []string
		for _, d := range diags.Errors() {
			if d, ok := d.(diag.DiagnosticWithPath); ok {
				named = append(named, d.Path().String())
			}
		}
		switch {
		case tc.want == "" && diags.HasError():
			t.Errorf("%s: %v", name, diags)
		case tc.want != "" && (len(named) != 1 || named[0] != tc.want):
			t.Errorf("%s: errors at %v, want one at %s (%v)", name, named, tc.want, diags)
		}
	}
}

// Mastodon's key created in the same apply (an IAM access key) is refused
// for a few seconds: the proof tries again, and only for such refusals.
func TestBucketProofWaitsForANewKey(t *testing.T) {
	defer func(w, e time.Duration) { newKeyPropagation, proveRetryEvery = w, e }(newKeyPropagation, proveRetryEvery)
	newKeyPropagation, proveRetryEvery = time.Second, 10*time.Millisecond
	unknownKey := &smithy.GenericAPIError{Code: "InvalidAccessKeyId", Message: "The AWS Access Key Id you provided does not exist in our records."}
	calls := 0
	err := proveNewKey(context.Background(), true, func() error {
		if calls++; calls < 3 {
			return unknownKey
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Errorf("a key known at the third try: %v after %d calls", err, calls)
	}
	calls = 0
	wrongSecret := &smithy.GenericAPIError{Code: "SignatureDoesNotMatch"}
	if err := proveNewKey(context.Background(), true, func() error { calls++; return wrongSecret }); !errors.Is(err, wrongSecret) || calls != 1 {
		t.Errorf("a wrong secret: %v after %d calls, want one", err, calls)
	}
	calls = 0
	if err := proveNewKey(context.Background(), false, func() error { calls++; return unknownKey }); !errors.Is(err, unknownKey) || calls != 1 {
		t.Errorf("the managing key refused: %v after %d calls, want one", err, calls)
	}
	calls = 0
	start := time.Now()
	if err := proveNewKey(context.Background(), true, func() error { calls++; return unknownKey }); !errors.Is(err, unknownKey) || time.Since(start) < newKeyPropagation {
		t.Errorf("a key never known: %v after %v", err, time.Since(start))
	}
}

// An import adopts the bucket's claim only in its own run: a refresh
// without a secret key keeps the mark for the apply that follows only when
// it is the import's own refresh (created still null); any later one
// clears it, so a claim that appears after the import (another state's)
// is never adopted by a later apply.
func TestBucketAdoptOnlyInTheImportsRun(t *testing.T) {
	clearBucketEnv(t)
	ctx := context.Background()
	sch := bucketSchema(t)
	for _, tc := range []struct {
		name      string
		created   tftypes.Value
		wantAdopt bool
	}{
		{"the import's own refresh", tftypes.NewValue(tftypes.Bool, nil), true},
		{"a later refresh", tftypes.NewValue(tftypes.Bool, false), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			state := tfsdk.State{Schema: sch, Raw: bucketValue(t, map[string]tftypes.Value{
				"id": str("media"), "bucket": str("media"), "endpoint": str("http://127.0.0.1:9000"),
				"create": tftypes.NewValue(tftypes.Bool, true), "force_destroy": tftypes.NewValue(tftypes.Bool, false),
				"created": tc.created,
			})}
			req := resource.ReadRequest{State: state}
			req.Private = newPrivate(req.Private)
			if d := req.Private.SetKey(ctx, adoptKey, []byte("true")); d.HasError() {
				t.Fatal(d)
			}
			resp := resource.ReadResponse{State: state, Private: req.Private}
			(&mediaBucketResource{}).Read(ctx, req, &resp)
			if resp.Diagnostics.HasError() {
				t.Fatal(resp.Diagnostics)
			}
			var d diag.Diagnostics
			if got := adopting(ctx, resp.Private, &d); got != tc.wantAdopt || d.HasError() {
				t.Fatalf("adopting after the refresh: %v, want %v (%v)", got, tc.wantAdopt, d)
			}
			var created *bool
			resp.Diagnostics.Append(resp.State.GetAttribute(ctx, path.Root("created"), &created)...)
			if created == nil || *created {
				t.Fatalf("created after the refresh: %v, want false", created)
			}
		})
	}
}
