package provider

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tootform/terraform-provider-mastodon/internal/kube"
	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

// ownSecretsModel is own_secrets: the instance's secrets given instead of
// generated, write-only or from an existing Secret.
type ownSecretsModel struct {
	ValuesWO        types.Map    `tfsdk:"values_wo"`
	ValuesWOVersion types.Int64  `tfsdk:"values_wo_version"`
	SecretName      types.String `tfsdk:"secret_name"`
	SecretKeys      types.Map    `tfsdk:"secret_keys"`
	Rotate          types.List   `tfsdk:"rotate"`
}

var (
	ownSecretsPath = path.Root("own_secrets")
	ownValuesPath  = ownSecretsPath.AtName("values_wo")
	ownSecretPath  = ownSecretsPath.AtName("secret_name")
)

func ownSecretsAttributes(in nested) map[string]schema.Attribute {
	var rotations []string
	for _, r := range mastodon.SecretRotations {
		rotations = append(rotations, "`"+r.Name+"`: "+r.Breaks)
	}
	names := "`" + strings.Join(mastodon.OwnSecretEnv, "`, `") + "`"
	return map[string]schema.Attribute{"own_secrets": optionalBlock(in, "own_secrets",
		"The instance's secrets given instead of generated: those of an instance moved here (a Helm chart's Secret, a `.env.production`), "+
			"which its sessions, Web Push subscriptions and encrypted columns depend on. Any subset of "+names+" may be given, "+
			"write-only or from an existing Secret; the rest is generated. Once taken, they are the instance's secrets, kept in its Secret "+
			"and in `secrets` like generated ones: removing this block keeps them, a value equal to the instance's is no change, and a "+
			"different one is refused unless `rotate` names it. Formats are checked at plan (values of a Secret where the cluster can be read): "+
			"`SECRET_KEY_BASE` of at least "+strconv.Itoa(mastodon.MinKeyBase)+" characters; `VAPID_PRIVATE_KEY` a P-256 private scalar in URL-safe base64, with "+
			"`VAPID_PUBLIC_KEY` its public key (derived when not given); the Active Record encryption keys non-empty and not the test "+
			"environment's (`..."+mastodon.ActiveRecordTestSuffix+"`); `DB_PASS` and `REDIS_PASSWORD` only for the embedded services.",
		map[string]schema.Attribute{
			"values_wo": schema.MapAttribute{Optional: true, Sensitive: true, WriteOnly: true, ElementType: types.StringType,
				Validators: []validator.Map{ownValuesCheck{}},
				Description: "Secrets by Mastodon's variable names (" + names + "), write-only: never stored in Terraform state as given " +
					"(Terraform 1.11+), though the instance's `secrets` show them once taken. Requires `values_wo_version`, and is read only " +
					"when that version changes."},
			"values_wo_version": woVersionAttribute("values_wo"),
			"secret_name": optString("An existing Secret in the instance's namespace to take secrets from, read at each plan and apply: " +
				"each variable from the key of its name (as in `.env.production` and the legacy `mastodon/chart`), or the key `secret_keys` " +
				"gives. Keys absent from the Secret are generated; `DB_PASS` and `REDIS_PASSWORD` are read under their names only while the " +
				"embedded service is used (a `.env.production` holds the external one's there). The official `mastodon/helm-charts` chart names its keys otherwise: " +
				"`secret_keys = { SECRET_KEY_BASE = \"secret-key-base\", VAPID_PRIVATE_KEY = \"vapid-private-key\", VAPID_PUBLIC_KEY = " +
				"\"vapid-public-key\", ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY = \"are-primary-key\", ACTIVE_RECORD_ENCRYPTION_DETERMINISTIC_KEY " +
				"= \"are-deterministic-key\", ACTIVE_RECORD_ENCRYPTION_KEY_DERIVATION_SALT = \"are-derivation-salt\" }`."),
			"secret_keys": schema.MapAttribute{Optional: true, ElementType: types.StringType, Validators: []validator.Map{ownNamesCheck{}},
				Description: "The key of `secret_name` that holds each variable, where it is not the variable's name. A key named here must exist."},
			"rotate": schema.ListAttribute{Optional: true, ElementType: types.StringType, Validators: []validator.List{rotateCheck{}},
				Description: "The secrets whose given value may replace the instance's, which is otherwise refused. What a rotation breaks, " +
					"from Mastodon's source: " + strings.Join(rotations, "; ") + ". Remove it once applied: while it names a secret, " +
					"a changed value is taken without question. `DB_PASS` and `REDIS_PASSWORD` of the embedded services are set once, when the service is created: " +
					"the provider cannot change them inside PostgreSQL or a running Redis, so another value is refused, rotation or not."},
		})}
}

// ownValuesCheck runs mastodon.CheckOwnSecrets on own_secrets.values_wo
// (write-only values are in the configuration a validator sees). A map
// with an unknown value waits until it is known.
type ownValuesCheck struct{}

func (ownValuesCheck) Description(context.Context) string {
	return "the instance's secrets by Mastodon's variable names, in the formats Mastodon takes"
}
func (c ownValuesCheck) MarkdownDescription(ctx context.Context) string { return c.Description(ctx) }
func (ownValuesCheck) ValidateMap(_ context.Context, req validator.MapRequest, resp *validator.MapResponse) {
	if values, ok := knownStrings(req.ConfigValue); ok {
		for _, err := range mastodon.CheckOwnSecrets(values) {
			invalid(req.Path, err, &resp.Diagnostics)
		}
	}
}

// ownNamesCheck runs mastodon.CheckOwnSecretNames on the names of
// own_secrets.secret_keys.
type ownNamesCheck struct{}

func (ownNamesCheck) Description(context.Context) string {
	return "keys named for the instance's secrets, by Mastodon's variable names"
}
func (c ownNamesCheck) MarkdownDescription(ctx context.Context) string { return c.Description(ctx) }
func (ownNamesCheck) ValidateMap(_ context.Context, req validator.MapRequest, resp *validator.MapResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	for _, err := range mastodon.CheckOwnSecretNames(slices.Sorted(maps.Keys(req.ConfigValue.Elements()))) {
		invalid(req.Path, err, &resp.Diagnostics)
	}
}

// rotateCheck runs mastodon.CheckRotation on each known name of
// own_secrets.rotate.
type rotateCheck struct{}

func (rotateCheck) Description(context.Context) string               { return "names of secrets that can be rotated" }
func (c rotateCheck) MarkdownDescription(ctx context.Context) string { return c.Description(ctx) }
func (rotateCheck) ValidateList(_ context.Context, req validator.ListRequest, resp *validator.ListResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	for _, e := range req.ConfigValue.Elements() {
		if name, ok := e.(types.String); ok && !name.IsNull() && !name.IsUnknown() {
			invalid(req.Path, mastodon.CheckRotation(name.ValueString()), &resp.Diagnostics)
		}
	}
}

// knownStrings are a map's values, when they are all known.
func knownStrings(m types.Map) (map[string]string, bool) {
	if m.IsNull() || m.IsUnknown() {
		return nil, false
	}
	out := map[string]string{}
	for k, e := range m.Elements() {
		v, ok := e.(types.String)
		if !ok || v.IsNull() || v.IsUnknown() {
			return nil, false
		}
		out[k] = v.ValueString()
	}
	return out, true
}

// ownSecretsSpec puts own_secrets into the spec, with the write-only
// values when the model has them (a configuration), for the rules between
// attributes that Validate checks at plan time (the values' forms are
// ownValuesCheck's).
func ownSecretsSpec(ctx context.Context, m *instanceModel, s *mastodon.Spec, diags *diag.Diagnostics) {
	o := m.OwnSecrets
	if o == nil {
		return
	}
	s.OwnSecrets = &mastodon.OwnSecrets{From: "own_secrets.values_wo"}
	s.OwnSecrets.Keys, _ = knownStrings(o.SecretKeys)
	if o.ValuesWO.IsNull() {
		return
	}
	s.OwnSecrets.Given, _ = knownStrings(o.ValuesWO)
	if o.ValuesWOVersion.IsNull() {
		diags.AddAttributeError(ownSecretsPath.AtName("values_wo_version"), "Missing version of a write-only value",
			"own_secrets.values_wo needs own_secrets.values_wo_version: set it (to 1, say) and change it whenever you give new values.")
	}
}

// rotate are the names rotate gives; known is false while it or one of
// them is unknown.
func (o *ownSecretsModel) rotate() (names []string, known bool) {
	if o.Rotate.IsUnknown() {
		return nil, false
	}
	for _, e := range o.Rotate.Elements() {
		v, ok := e.(types.String)
		if !ok || v.IsUnknown() {
			return nil, false
		}
		names = append(names, v.ValueString())
	}
	return names, true
}

// ownGiven are the values given, by source: the write-only ones when they
// are to be read (fresh: a create, or a new version), and those of the
// referenced Secret, read with get. missing says the Secret does not exist;
// unread that some input could not be read (a value unknown at plan, a
// Secret the plan could not read).
type ownGiven struct {
	wo, ref map[string]string
	missing bool
	unread  bool
}

// A password of an embedded service that is not used (external says so)
// is not read under its own name: the Secret of a .env.production holds
// the external one's there. With atPlan, a Secret that cannot be read is
// left to the apply (unread), as every plan-time look at the cluster is.
func readOwnSecrets(ctx context.Context, get func(ctx context.Context, kind, ns, name string) (*unstructured.Unstructured, error),
	ns string, o *ownSecretsModel, fresh, atPlan bool, external map[string]bool, diags *diag.Diagnostics) ownGiven {
	var g ownGiven
	if fresh && !o.ValuesWO.IsNull() {
		var known bool
		g.wo, known = knownStrings(o.ValuesWO)
		g.unread = !known
	}
	if o.SecretName.IsNull() {
		return g
	}
	keys, known := knownStrings(o.SecretKeys)
	if o.SecretKeys.IsNull() {
		keys, known = map[string]string{}, true
	}
	if get == nil || o.SecretName.IsUnknown() || !known {
		g.unread = true
		return g
	}
	u, err := get(ctx, "Secret", ns, o.SecretName.ValueString())
	if err != nil && atPlan {
		tflog.Debug(ctx, "cannot read own_secrets.secret_name at plan time", map[string]any{"error": err.Error()})
		g.unread = true
		return g
	}
	if err != nil {
		diags.AddAttributeError(ownSecretPath, "Cannot read own_secrets.secret_name", fmt.Sprintf("Secret %s/%s: %v", ns, o.SecretName.ValueString(), err))
		return g
	}
	if u == nil {
		g.missing = true
		return g
	}
	data := kube.SecretData(u)
	g.ref = map[string]string{}
	for _, env := range mastodon.OwnSecretEnv {
		key, named, read := mastodon.OwnSecretKey(env, keys, external[env])
		if !read {
			continue
		}
		if v, ok := data[key]; ok {
			g.ref[env] = v
		} else if named {
			diags.AddAttributeError(ownSecretsPath.AtName("secret_keys"), "Missing key in own_secrets.secret_name",
				fmt.Sprintf("own_secrets.secret_keys: Secret %s/%s has no key %q (for %s).", ns, o.SecretName.ValueString(), key, env))
		}
	}
	return g
}

// check reports the values that Mastodon would not take, and a variable
// given both ways.
func (g ownGiven) check(diags *diag.Diagnostics) {
	for _, err := range mastodon.CheckOwnSecrets(g.wo) {
		invalid(ownValuesPath, err, diags)
	}
	for _, err := range mastodon.CheckOwnSecrets(g.ref) {
		invalid(ownSecretPath, err, diags)
	}
	for _, env := range slices.Sorted(maps.Keys(g.wo)) {
		if _, twice := g.ref[env]; twice {
			diags.AddAttributeError(ownValuesPath, "Secret given twice",
				"own_secrets.values_wo: "+env+" is given here and by own_secrets.secret_name: give it one way.")
		}
	}
}

// refuseMissing refuses a referenced Secret that does not exist (at plan
// time only for an instance that exists: a create's Secret may be made in
// the same apply).
func (g ownGiven) refuseMissing(ns string, o *ownSecretsModel, diags *diag.Diagnostics) {
	diags.AddAttributeError(ownSecretPath, "Missing own_secrets.secret_name",
		fmt.Sprintf("own_secrets.secret_name: Secret %s/%s does not exist. Create it, or remove secret_name: the instance keeps the secrets it took. "+
			"Nothing was changed.", ns, o.SecretName.ValueString()))
}

// take puts the given values into the instance's secrets, refusing a
// change that rotate does not name; it returns whether any changed.
func (g ownGiven) take(cur *mastodon.Secrets, rotate []string, diags *diag.Diagnostics) bool {
	taken := false
	for _, src := range []struct {
		values map[string]string
		at     path.Path
	}{{g.wo, ownValuesPath}, {g.ref, ownSecretPath}} {
		changed, refused := mastodon.TakeOwnSecrets(cur, src.values, rotate)
		for _, m := range refused {
			diags.AddAttributeError(src.at, "Refused change of the instance's secrets", src.at.String()+": "+m+" Nothing was changed.")
		}
		taken = taken || len(changed) > 0
	}
	return taken
}

// externalServices says which embedded services' passwords are not used:
// those of an external database or Redis that is, or may be, configured.
func externalServices(ctx context.Context, config tfsdk.Config, diags *diag.Diagnostics) map[string]bool {
	var database, redis types.Object
	diags.Append(getAttrs(ctx, config, map[string]any{"database": &database, "redis": &redis})...)
	return map[string]bool{mastodon.EnvDBPassword: !database.IsNull(), mastodon.EnvRedisPassword: !redis.IsNull()}
}

// freshValues says whether the write-only values are to be read: at
// create, when the block is new, or under a new version.
func freshValues(was, now *ownSecretsModel) bool {
	return was == nil || !was.ValuesWOVersion.Equal(now.ValuesWOVersion)
}

// planOwnSecrets checks the given secrets at plan time and plans them:
// formats, refusals of unrotated changes, and the secrets a rotation
// changes. A Secret that cannot be read yet is checked by the apply.
func (r *instanceResource) planOwnSecrets(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Config.Schema == nil || req.Config.Raw.IsNull() {
		return // a test's request without a configuration
	}
	creating := req.State.Raw.IsNull()
	var block types.Object
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, ownSecretsPath, &block)...)
	if block.IsNull() || resp.Diagnostics.HasError() {
		return
	}
	if block.IsUnknown() {
		// It may give any secret: the apply checks and takes them.
		if !creating {
			planSecretsUnknown(ctx, resp)
		}
		return
	}
	var cfg, was *ownSecretsModel
	resp.Diagnostics.Append(block.As(ctx, &cfg, basetypes.ObjectAsOptions{})...)
	if cfg == nil || resp.Diagnostics.HasError() {
		return
	}
	var ns types.String
	resp.Diagnostics.Append(resp.Plan.GetAttribute(ctx, path.Root("namespace"), &ns)...)
	var get func(ctx context.Context, kind, ns, name string) (*unstructured.Unstructured, error)
	if c := planClient(ctx, r.clients); c != nil && !ns.IsUnknown() {
		get = func(ctx context.Context, kind, ns, name string) (*unstructured.Unstructured, error) {
			ctx, cancel := context.WithTimeout(ctx, planCheckTimeout)
			defer cancel()
			return c.Get(ctx, kind, ns, name)
		}
	}
	if !creating {
		resp.Diagnostics.Append(req.State.GetAttribute(ctx, ownSecretsPath, &was)...)
	}
	if cfg.ValuesWO.IsNull() && !cfg.ValuesWOVersion.IsNull() && !cfg.ValuesWOVersion.IsUnknown() {
		resp.Diagnostics.AddAttributeError(ownValuesPath, "Missing write-only value",
			"own_secrets.values_wo_version versions own_secrets.values_wo, which is not set.")
	}
	// A replacement's create reads the write-only values again (its prior
	// state is gone): so does its plan.
	fresh := freshValues(was, cfg) || replaced(ctx, req)
	var diags diag.Diagnostics
	g := readOwnSecrets(ctx, get, ns.ValueString(), cfg, fresh, true, externalServices(ctx, req.Config, &diags), &diags)
	g.check(&diags)
	if g.missing && !creating {
		g.refuseMissing(ns.ValueString(), cfg, &diags)
	}
	resp.Diagnostics.Append(diags...)
	if creating || resp.Diagnostics.HasError() {
		return
	}
	var state instanceModel
	resp.Diagnostics.Append(getAttrs(ctx, req.State, map[string]any{"secrets": &state.Secrets, "vapid_public_key": &state.VapidPublicKey})...)
	cur := secretsFromObject(state.Secrets, state.VapidPublicKey.ValueString())
	rotate, rotateKnown := cfg.rotate()
	// What the plan cannot read (a Secret of a cluster not known yet, a
	// value or a rotation known only at apply) the apply checks: the
	// secrets are unknown when it may change them (a rotation, or a secret
	// the instance does not hold yet).
	unread := g.unread && (len(rotate) > 0 || lacksOwnSecret(cur))
	if !rotateKnown {
		unread, g = true, ownGiven{}
	}
	if !g.take(&cur, rotate, &resp.Diagnostics) && !unread {
		return
	}
	// A rotation changes the secrets: plan them, or unknown when the
	// Secret could not be read.
	secrets, vapid := secretsObject(cur), types.StringValue(cur.VapidPublicKey)
	if unread {
		secrets, vapid = types.ObjectUnknown(secretsAttrTypes()), types.StringUnknown()
	}
	var planned types.Object
	resp.Diagnostics.Append(resp.Plan.GetAttribute(ctx, path.Root("secrets"), &planned)...)
	if !planned.IsUnknown() {
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("secrets"), secrets)...)
	}
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("vapid_public_key"), vapid)...)
}

// planSecretsUnknown plans the instance's secrets unknown: the apply may
// change them.
func planSecretsUnknown(ctx context.Context, resp *resource.ModifyPlanResponse) {
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("secrets"), types.ObjectUnknown(secretsAttrTypes()))...)
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("vapid_public_key"), types.StringUnknown())...)
}

// lacksOwnSecret says whether the instance lacks one of the secrets
// own_secrets may give (a value given later is taken, not refused).
func lacksOwnSecret(cur mastodon.Secrets) bool {
	for _, env := range mastodon.OwnSecretEnv {
		if *cur.Field(env) == "" {
			return true
		}
	}
	return false
}

// givenWriteOnly puts the write-only values of own_secrets into the spec
// at apply time (the plan holds none), so that its rules see them.
func givenWriteOnly(cfg *instanceModel, spec *mastodon.Spec) {
	if cfg.OwnSecrets != nil && spec.OwnSecrets != nil {
		if v, ok := knownStrings(cfg.OwnSecrets.ValuesWO); ok {
			spec.OwnSecrets.Given = v
		}
	}
}

// takeOwnSecrets puts the given secrets into the instance's (secrets:
// those of state, else of the cluster) before the apply changes anything,
// and refuses, changing nothing, what the plan could not check.
func takeOwnSecrets(ctx context.Context, c instanceCluster, cfg, plan, prior *instanceModel, secrets *mastodon.Secrets, diags *diag.Diagnostics) bool {
	o := cfg.OwnSecrets
	if o == nil {
		return true
	}
	var was *ownSecretsModel
	if prior != nil {
		was = prior.OwnSecrets
	}
	ns := plan.Namespace.ValueString()
	external := map[string]bool{mastodon.EnvDBPassword: cfg.Database != nil, mastodon.EnvRedisPassword: cfg.Redis != nil}
	g := readOwnSecrets(ctx, c.Get, ns, o, freshValues(was, o), false, external, diags)
	if g.missing {
		g.refuseMissing(ns, o, diags)
	}
	g.check(diags)
	if diags.HasError() {
		return false
	}
	taken := *secrets
	rotate, _ := o.rotate()
	g.take(&taken, rotate, diags)
	// A Secret changed between the plan and the apply: what the plan
	// showed is not what would be applied.
	if !diags.HasError() && !plan.Secrets.IsUnknown() && !plan.Secrets.IsNull() && !secretsObject(taken).Equal(plan.Secrets) {
		diags.AddAttributeError(ownSecretPath, "The given secrets changed since the plan",
			"own_secrets: the secrets to apply differ from those the plan showed (the Secret "+o.SecretName.ValueString()+
				" changed in between). Nothing was changed: plan again.")
	}
	if diags.HasError() {
		return false
	}
	*secrets = taken
	return true
}
