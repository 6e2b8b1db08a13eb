package provider

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

// ownSecrets is an own_secrets block: write-only values under a version,
// a referenced Secret, rotations.
func ownSecrets(values map[string]string, version int64, secret string, rotate ...string) *ownSecretsModel {
	o := &ownSecretsModel{ValuesWO: types.MapNull(types.StringType), ValuesWOVersion: types.Int64Null(), SecretName: types.StringNull(),
		SecretKeys: types.MapNull(types.StringType), Rotate: types.ListNull(types.StringType)}
	if values != nil {
		o.ValuesWO, _ = types.MapValueFrom(context.Background(), types.StringType, values)
	}
	if version > 0 {
		o.ValuesWOVersion = types.Int64Value(version)
	}
	if secret != "" {
		o.SecretName = types.StringValue(secret)
	}
	if rotate != nil {
		o.Rotate, _ = types.ListValueFrom(context.Background(), types.StringType, rotate)
	}
	return o
}

// heldSecrets are an instance's secrets, as state holds them.
func heldSecrets(t *testing.T) mastodon.Secrets {
	var s mastodon.Secrets
	if err := s.Fill(true, true); err != nil {
		t.Fatal(err)
	}
	return s
}

// planOwn runs the plan-time check of own_secrets for an instance that
// holds held and was configured with was, under the configuration now:
// the errors' paths and summaries, and the planned secrets.
func planOwn(t *testing.T, held mastodon.Secrets, was, now *ownSecretsModel) (diag.Diagnostics, mastodon.Secrets) {
	h := newPlanHarness(t)
	prior := h.config(func(m *instanceModel) {
		m.OwnSecrets = was
		m.Secrets, m.VapidPublicKey = secretsObject(held), types.StringValue(held.VapidPublicKey)
		m.ID, m.URL = types.StringValue("ns/social"), types.StringValue("https://social.example.org")
		m.Ready, m.MigratedVersion, m.Drift = types.BoolValue(true), types.StringValue(mastodon.DefaultVersion), types.ListValueMust(types.StringType, []attr.Value{})
	})
	cfg := h.config(func(m *instanceModel) { m.OwnSecrets = now })
	state, proposed := h.proposed(prior, cfg, nil)
	resp := h.modifyPlan(state, proposed, cfg)
	var secrets types.Object
	var vapid types.String
	resp.Diagnostics.Append(resp.Plan.GetAttribute(context.Background(), path.Root("secrets"), &secrets)...)
	resp.Diagnostics.Append(resp.Plan.GetAttribute(context.Background(), path.Root("vapid_public_key"), &vapid)...)
	return resp.Diagnostics, secretsFromObject(secrets, vapid.ValueString())
}

// At plan time: a value equal to the instance's changes nothing; another
// is refused, naming the attribute, unless rotated, and a rotation plans
// the new values (the VAPID public key derived); under an unchanged
// version the write-only values are not read; removing the block keeps
// the secrets.
func TestOwnSecretsAtPlan(t *testing.T) {
	held := heldSecrets(t)
	newPrivate, newPublic, _ := mastodon.GenerateVapidKeys()
	other := strings.Repeat("c", 128)
	for _, tc := range []struct {
		name     string
		was, now *ownSecretsModel
		refused  string // the error's detail, "" for none
		want     func(s *mastodon.Secrets)
	}{
		{name: "equal", now: ownSecrets(map[string]string{"SECRET_KEY_BASE": held.SecretKeyBase, "VAPID_PRIVATE_KEY": held.VapidPrivateKey}, 1, "")},
		{name: "changed", now: ownSecrets(map[string]string{"SECRET_KEY_BASE": other}, 1, ""),
			refused: "own_secrets.values_wo: SECRET_KEY_BASE differs from the instance's"},
		{name: "changed under a new version", was: ownSecrets(nil, 1, ""), now: ownSecrets(map[string]string{"SECRET_KEY_BASE": other}, 2, ""),
			refused: "SECRET_KEY_BASE differs"},
		{name: "changed under the same version", was: ownSecrets(nil, 1, ""), now: ownSecrets(map[string]string{"SECRET_KEY_BASE": other}, 1, "")},
		{name: "rotated", now: ownSecrets(map[string]string{"VAPID_PRIVATE_KEY": newPrivate}, 1, "", "VAPID"),
			want: func(s *mastodon.Secrets) { s.VapidPrivateKey, s.VapidPublicKey = newPrivate, newPublic }},
		{name: "removed", was: ownSecrets(nil, 1, "", "VAPID")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			diags, planned := planOwn(t, held, tc.was, tc.now)
			want := held
			if tc.want != nil {
				tc.want(&want)
			}
			switch {
			case tc.refused == "" && diags.HasError():
				t.Fatalf("refused: %v", diags)
			case tc.refused != "" && (len(diags) != 1 || !strings.Contains(diags[0].Detail(), tc.refused)):
				t.Fatalf("got %v, want the refusal %q", diags, tc.refused)
			case tc.refused != "":
				if p := diags[0].(diag.DiagnosticWithPath).Path(); !p.Equal(ownValuesPath) {
					t.Errorf("refusal at %s", p)
				}
			}
			if planned != want {
				t.Errorf("planned secrets %+v, want %+v", planned, want)
			}
		})
	}
}

// secretCluster is a fake cluster that holds one Secret.
type secretCluster struct {
	*fakeCluster
	name string
	data map[string]string
}

func (c secretCluster) Get(_ context.Context, kind, _, name string) (*unstructured.Unstructured, error) {
	if kind != "Secret" || name != c.name {
		return nil, nil
	}
	data := map[string]any{}
	for k, v := range c.data {
		data[k] = base64.StdEncoding.EncodeToString([]byte(v))
	}
	return &unstructured.Unstructured{Object: map[string]any{"kind": "Secret", "data": data}}, nil
}

// At apply time, the values of a referenced Secret (by Mastodon's names or
// the keys given) are taken before anything changes; a changed one is
// refused unless rotated; a missing Secret or key is an error naming the
// attribute.
func TestOwnSecretsAtApply(t *testing.T) {
	held := heldSecrets(t)
	chart := map[string]string{"secret-key-base": strings.Repeat("d", 128), "vapid-private-key": held.VapidPrivateKey, "OTP_SECRET": "otp", "DB_PASS": "external"}
	keyed := func(rotate ...string) *ownSecretsModel {
		o := ownSecrets(nil, 0, "chart-secrets", rotate...)
		o.SecretKeys, _ = types.MapValueFrom(context.Background(), types.StringType,
			map[string]string{"SECRET_KEY_BASE": "secret-key-base", "VAPID_PRIVATE_KEY": "vapid-private-key"})
		return o
	}
	for _, tc := range []struct {
		name     string
		prior    bool // an instance holding held, else a create
		own      *ownSecretsModel
		secret   string
		refused  string
		planned  bool // the plan showed the instance's secrets unchanged
		external bool // an external database, whose password the Secret holds as DB_PASS
		want     func(s *mastodon.Secrets)
	}{
		{name: "create", own: keyed(), secret: "chart-secrets", want: func(s *mastodon.Secrets) {
			*s = mastodon.Secrets{SecretKeyBase: chart["secret-key-base"], VapidPrivateKey: held.VapidPrivateKey, VapidPublicKey: held.VapidPublicKey, OTPSecret: "otp",
				DatabasePassword: "external"}
		}},
		{name: "changed", prior: true, own: keyed(), secret: "chart-secrets", refused: "own_secrets.secret_name: SECRET_KEY_BASE differs"},
		{name: "rotated", prior: true, own: keyed("SECRET_KEY_BASE"), secret: "chart-secrets", external: true, want: func(s *mastodon.Secrets) {
			s.SecretKeyBase, s.OTPSecret = chart["secret-key-base"], "otp"
		}},
		{name: "an embedded service's password never rotates", prior: true, own: keyed("SECRET_KEY_BASE"), secret: "chart-secrets",
			refused: "DB_PASS differs from the instance's, and it cannot be rotated"},
		{name: "external database", own: keyed(), secret: "chart-secrets", external: true, want: func(s *mastodon.Secrets) {
			*s = mastodon.Secrets{SecretKeyBase: chart["secret-key-base"], VapidPrivateKey: held.VapidPrivateKey, VapidPublicKey: held.VapidPublicKey, OTPSecret: "otp"}
		}},
		{name: "changed since the plan", prior: true, own: keyed("SECRET_KEY_BASE"), secret: "chart-secrets", planned: true, external: true,
			refused: "differ from those the plan showed"},
		{name: "missing Secret", own: keyed(), secret: "other", refused: "Secret ns/chart-secrets does not exist"},
		{name: "missing key", own: func() *ownSecretsModel {
			o := keyed()
			o.SecretKeys, _ = types.MapValueFrom(context.Background(), types.StringType, map[string]string{"OTP_SECRET": "otp-secret"})
			return o
		}(), secret: "chart-secrets", refused: `has no key "otp-secret" (for OTP_SECRET)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newPlanHarness(t)
			cfg := h.config(func(m *instanceModel) {
				m.OwnSecrets = tc.own
				if tc.external {
					m.Database = &databaseModel{}
				}
			})
			var prior *instanceModel
			var cur mastodon.Secrets
			if tc.prior {
				prior = h.config(func(m *instanceModel) {})
				cur = held
			}
			plan := *cfg
			plan.Secrets = types.ObjectUnknown(secretsAttrTypes())
			if tc.planned {
				plan.Secrets = secretsObject(held)
			}
			var diags diag.Diagnostics
			ok := takeOwnSecrets(context.Background(), secretCluster{&fakeCluster{}, tc.secret, chart}, cfg, &plan, prior, &cur, &diags)
			if tc.refused != "" {
				if ok || !strings.Contains(diags[0].Detail(), tc.refused) {
					t.Fatalf("got %v, want the refusal %q", diags, tc.refused)
				}
				return
			}
			if !ok {
				t.Fatal(diags)
			}
			want := held
			tc.want(&want)
			if cur != want {
				t.Errorf("secrets %+v, want %+v", cur, want)
			}
		})
	}
}

// The schema's validators of own_secrets report at the attribute, as the
// spec's errors do, and wait for unknown values.
func TestOwnSecretsValidators(t *testing.T) {
	ctx := context.Background()
	mapOf := func(m map[string]attr.Value) types.Map { return types.MapValueMust(types.StringType, m) }
	at := ownValuesPath
	var values validator.MapResponse
	ownValuesCheck{}.ValidateMap(ctx, validator.MapRequest{Path: at, ConfigValue: mapOf(map[string]attr.Value{
		"SECRET_KEY_BASE": types.StringValue("0123456789abcdef")})}, &values)
	if len(values.Diagnostics) != 1 || values.Diagnostics[0].Summary() != "Invalid own_secrets.values_wo" ||
		!strings.HasPrefix(values.Diagnostics[0].Detail(), "own_secrets.values_wo: SECRET_KEY_BASE has 16 characters") {
		t.Errorf("values_wo: %v", values.Diagnostics)
	}
	var unknown validator.MapResponse
	ownValuesCheck{}.ValidateMap(ctx, validator.MapRequest{Path: at, ConfigValue: mapOf(map[string]attr.Value{
		"SECRET_KEY_BASE": types.StringValue("short"), "VAPID_PRIVATE_KEY": types.StringUnknown()})}, &unknown)
	if unknown.Diagnostics.HasError() {
		t.Errorf("a map with an unknown value: %v", unknown.Diagnostics)
	}
	var keys validator.MapResponse
	ownNamesCheck{}.ValidateMap(ctx, validator.MapRequest{Path: ownSecretsPath.AtName("secret_keys"),
		ConfigValue: mapOf(map[string]attr.Value{"SECRET": types.StringValue("x")})}, &keys)
	if len(keys.Diagnostics) != 1 || !strings.HasPrefix(keys.Diagnostics[0].Detail(), `own_secrets.secret_keys: "SECRET" is not a secret`) {
		t.Errorf("secret_keys: %v", keys.Diagnostics)
	}
	var rotate validator.ListResponse
	rotateCheck{}.ValidateList(ctx, validator.ListRequest{Path: ownSecretsPath.AtName("rotate"),
		ConfigValue: types.ListValueMust(types.StringType, []attr.Value{types.StringValue("VAPID"), types.StringValue("ALL"), types.StringUnknown()})}, &rotate)
	if len(rotate.Diagnostics) != 1 || !strings.HasPrefix(rotate.Diagnostics[0].Detail(), `own_secrets.rotate: "ALL" is not a secret that can be rotated`) {
		t.Errorf("rotate: %v", rotate.Diagnostics)
	}
}

// Values unknown at plan (from another resource, or a toggle) are neither
// an error nor a value: the plan leaves the secrets unknown where the apply
// may take a value, and says nothing else.
func TestOwnSecretsUnknownAtPlan(t *testing.T) {
	held := heldSecrets(t)
	was := ownSecrets(map[string]string{"SECRET_KEY_BASE": held.SecretKeyBase}, 1, "")
	unknownValue := ownSecrets(nil, 2, "")
	unknownValue.ValuesWO = types.MapValueMust(types.StringType, map[string]attr.Value{"OTP_SECRET": types.StringUnknown()})
	unknownRotation := ownSecrets(nil, 0, "")
	unknownRotation.Rotate = types.ListValueMust(types.StringType, []attr.Value{types.StringUnknown()})
	unknownKeys := ownSecrets(nil, 0, "chart-secrets")
	unknownKeys.SecretKeys = types.MapValueMust(types.StringType, map[string]attr.Value{"SECRET_KEY_BASE": types.StringUnknown()})
	for name, now := range map[string]*ownSecretsModel{"a value": unknownValue, "a rotation": unknownRotation, "a key": unknownKeys} {
		diags, planned := planOwn(t, held, was, now)
		if diags.HasError() {
			t.Errorf("%s unknown: %v", name, diags)
		}
		if planned.SecretKeyBase != "" {
			t.Errorf("%s unknown: the secrets are planned known, though the apply may take a value", name)
		}
	}
	// The whole block unknown (own_secrets = var.x ? {...} : null).
	h := newPlanHarness(t)
	prior := h.config(func(m *instanceModel) {
		m.OwnSecrets = was
		m.Secrets, m.VapidPublicKey = secretsObject(held), types.StringValue(held.VapidPublicKey)
		m.ID, m.URL = types.StringValue("ns/social"), types.StringValue("https://social.example.org")
		m.Ready, m.MigratedVersion, m.Drift = types.BoolValue(true), types.StringValue(mastodon.DefaultVersion), types.ListValueMust(types.StringType, []attr.Value{})
	})
	cfg := h.config(func(m *instanceModel) { m.OwnSecrets = was })
	state, proposed := h.proposed(prior, cfg, nil)
	raw, err := tftypes.Transform(h.state(cfg).Raw, func(p *tftypes.AttributePath, v tftypes.Value) (tftypes.Value, error) {
		if p.Equal(tftypes.NewAttributePath().WithAttributeName("own_secrets")) {
			return tftypes.NewValue(v.Type(), tftypes.UnknownValue), nil
		}
		return v, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	req := resource.ModifyPlanRequest{Config: tfsdk.Config{Schema: h.schema, Raw: raw}, State: state, Plan: proposed}
	resp := resource.ModifyPlanResponse{Plan: proposed}
	(&instanceResource{}).ModifyPlan(context.Background(), req, &resp)
	var secrets types.Object
	resp.Diagnostics.Append(resp.Plan.GetAttribute(context.Background(), path.Root("secrets"), &secrets)...)
	if resp.Diagnostics.HasError() || !secrets.IsUnknown() {
		t.Errorf("own_secrets unknown: %v, secrets planned %v (want unknown)", resp.Diagnostics, secrets)
	}
}
