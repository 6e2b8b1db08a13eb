package provider

import (
	"context"
	"fmt"
	"reflect"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tootform/terraform-provider-mastodon/internal/kube"
	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

// credential is a secret the user gives the instance, in one of its
// forms: clear (Sensitive, kept in state), write-only (never in state)
// with the version that says when a new write-only value is to be applied,
// or a reference to a key of an existing Secret that someone else manages
// (name_secret_ref: the Pods read it, the provider only hashes it; see
// mastodon.SecretRef). Its model fields are found by their attribute names
// (see in); the table of the features lists every credential
// (instanceFeatures).
type credential struct {
	block string // the path of its block: "translation.deepl", "" for the root
	name  string // the clear attribute; the others are name_wo and name_wo_version
	// what names the value in the write-only attribute's description, doc
	// is the clear attribute's.
	what, doc string
	// secret names the Secret that holds the value in the cluster, nil for
	// the instance's (mastodon.Spec.SecretName); key is its key there.
	secret func(s *mastodon.Spec) string
	key    string
	// set puts a value into the spec, whose block the feature made;
	// setRef a reference.
	set    func(s *mastodon.Spec, v string)
	setRef func(s *mastodon.Spec, r *mastodon.SecretRef)
	// noRef, for a credential without a reference form, names the
	// attribute that does what a reference would (its doc says so).
	noRef string
	// jobsOnly: only Jobs read the value (no Pod rolls when it changes).
	jobsOnly bool
}

// attributes are the credential's attributes: its three forms, and the
// write-only value's version.
func (c credential) attributes() map[string]schema.Attribute {
	wo, ref := c.name+"_wo", c.name+"_secret_ref"
	out := map[string]schema.Attribute{
		c.name: schema.StringAttribute{Optional: true, Sensitive: true, Description: c.doc},
		wo: schema.StringAttribute{Optional: true, Sensitive: true, WriteOnly: true,
			Description: c.what + ", write-only: never stored in Terraform state (Terraform 1.11+). Requires the `_wo_version` beside it; conflicts with `" + c.name + "`."},
		wo + "_version": woVersionAttribute(wo),
	}
	if c.noRef == "" {
		change := "keeps only a hash of the value, so that a change of it rolls the Pods at the next apply"
		if c.jobsOnly {
			change = "keeps nothing of the value: the Jobs that read it take it when they start"
		}
		out[ref] = schema.SingleNestedAttribute{Optional: true, Attributes: secretRefAttributes(),
			Description: c.what + ", read by the Pods from a key of an existing Secret of the instance's namespace that someone else manages " +
				"(External Secrets, Vault, sealed-secrets): the value never passes through Terraform. The provider reads the Secret at plan and apply " +
				"(it needs `get` on Secrets), refuses a missing Secret or key before anything changes (so the Secret must exist when the plan is made: " +
				"create it in an earlier apply), and " + change + ". Give one of `" + c.name + "`, `" + wo + "` and `" + ref + "`."}
	}
	return out
}

// secretRefAttributes are the attributes of a reference to a Secret's key.
func secretRefAttributes() map[string]schema.Attribute {
	return map[string]schema.Attribute{
		"name": checkSecretName.on(schema.StringAttribute{Required: true, Description: "The Secret, in the instance's namespace."}),
		"key":  checkDataKey.on(schema.StringAttribute{Required: true, Description: "The key of its data that holds the value."}),
	}
}

// secretRefModel is a reference to a Secret's key (secretRefAttributes).
type secretRefModel struct {
	Name types.String `tfsdk:"name"`
	Key  types.String `tfsdk:"key"`
}

// secretRef is the reference an attribute holds, nil when it is null. A
// name or key not known yet is "" (mastodon.Spec.SecretRefs leaves such
// references out).
func secretRef(m *secretRefModel) *mastodon.SecretRef {
	if m == nil {
		return nil
	}
	return &mastodon.SecretRef{Name: m.Name.ValueString(), Key: m.Key.ValueString()}
}

// woVersionAttribute is the version of the write-only attribute wo.
func woVersionAttribute(wo string) schema.Int64Attribute {
	return schema.Int64Attribute{Optional: true, Description: "Required with `" + wo + "`; change it to apply a new `" + wo + "`."}
}

// path is the path of the clear attribute.
func (c credential) path() path.Path {
	p := path.Empty()
	for _, name := range c.attributePath() {
		p = p.AtName(name)
	}
	return p
}

// attributePath is the clear attribute's path, as attribute names.
func (c credential) attributePath() []string {
	if c.block == "" {
		return []string{c.name}
	}
	return append(strings.Split(c.block, "."), c.name)
}

// live names the Secret and the key that hold the value in the cluster.
func (c credential) live(s *mastodon.Spec) (secret, key string) {
	if c.secret == nil {
		return s.SecretName(), c.key
	}
	return c.secret(s), c.key
}

// credentialValues are a credential's attributes in a model; ref is nil
// for a credential without a reference form.
type credentialValues struct {
	clear, wo *types.String
	version   *types.Int64
	ref       **secretRefModel
}

// in finds the credential's attributes in m, a pointer to a model
// (instanceModel), by their names (tfsdk tags); nil when its block is
// absent.
func (c credential) in(m any) *credentialValues {
	v := reflect.ValueOf(m).Elem()
	names := c.attributePath()
	for _, name := range names[:len(names)-1] {
		if v = c.modelField(v, name, nil); v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return nil
			}
			v = v.Elem()
		}
	}
	stringType, int64Type := reflect.TypeFor[types.String](), reflect.TypeFor[types.Int64]()
	out := &credentialValues{
		clear:   c.modelField(v, c.name, stringType).Addr().Interface().(*types.String),
		wo:      c.modelField(v, c.name+"_wo", stringType).Addr().Interface().(*types.String),
		version: c.modelField(v, c.name+"_wo_version", int64Type).Addr().Interface().(*types.Int64),
	}
	if c.noRef == "" {
		out.ref = c.modelField(v, c.name+"_secret_ref", reflect.TypeFor[*secretRefModel]()).Addr().Interface().(**secretRefModel)
	}
	return out
}

// referenced says whether the values give a reference (known or not).
func (v *credentialValues) referenced() bool { return v.ref != nil && *v.ref != nil }

// modelField is the field of the struct v that holds the attribute name,
// looked for in its embedded structs too: of type want, or a block (a
// struct or a pointer to one) when want is nil. A field missing or of
// another type is a mistake in the table of the features (the tests
// find it): it panics, naming the credential and the field.
func (c credential) modelField(v reflect.Value, name string, want reflect.Type) reflect.Value {
	f, found := taggedField(v, name)
	if !found {
		panic(fmt.Sprintf("credential %s: the model (%s) has no field for attribute %q", c.path(), v.Type(), name))
	}
	t := f.Type()
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	block := t.Kind() == reflect.Struct && !t.Implements(reflect.TypeFor[attr.Value]())
	what := "block"
	if want != nil {
		what = want.String()
	}
	if (want == nil && !block) || (want != nil && f.Type() != want) {
		panic(fmt.Sprintf("credential %s: the field for attribute %q of the model (%s) is a %s, not a %s", c.path(), name, v.Type(), f.Type(), what))
	}
	return f
}

// taggedField is the field of the struct v that holds the attribute name,
// looked for in its embedded structs too.
func taggedField(v reflect.Value, name string) (reflect.Value, bool) {
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if f.Tag.Get("tfsdk") == name {
			return v.Field(i), true
		}
		if f.Anonymous {
			if found, ok := taggedField(v.Field(i), name); ok {
				return found, true
			}
		}
	}
	return reflect.Value{}, false
}

// writeOnlyPassword is the write-only alternative to a password attribute.
type writeOnlyPassword struct {
	PasswordWO        types.String    `tfsdk:"password_wo"`
	PasswordWOVersion types.Int64     `tfsdk:"password_wo_version"`
	PasswordRef       *secretRefModel `tfsdk:"password_secret_ref"`
}

// extraSecretEnvWO is settings.extra_secret_env_wo and its version.
func extraSecretEnvWO(m *instanceModel) (types.Map, types.Int64) {
	if m.Settings == nil {
		return types.MapNull(types.StringType), types.Int64Null()
	}
	return m.Settings.ExtraSecretEnvWO, m.Settings.ExtraSecretEnvWOV
}

// woPath is the path of a clear attribute's twin: password -> password_wo.
func woPath(p path.Path, suffix string) path.Path {
	last, _ := p.Steps().LastStep()
	name, _ := last.(path.PathStepAttributeName)
	return p.ParentPath().AtName(string(name) + suffix)
}

// validateWriteOnly checks the forms of a configuration's credentials: a
// clear value, a write-only one or a reference, never two, and a
// write-only value always with its version (without it Terraform could not
// tell when to apply a new one). A credential with an unknown value (see
// splitUnknown) is not judged.
func validateWriteOnly(m *instanceModel, unknown map[string]bool, diags *diag.Diagnostics) {
	check := func(p path.Path, clearSet, woSet, versionSet, refSet bool) {
		wo, version, ref := woPath(p, "_wo"), woPath(p, "_wo_version"), woPath(p, "_secret_ref")
		if unknown[p.String()] || unknown[wo.String()] || unknown[version.String()] || unknown[p.ParentPath().String()] ||
			affected(ref.String(), unknown) {
			return
		}
		if refSet && (clearSet || woSet) {
			other := p
			if woSet {
				other = wo
			}
			diags.AddAttributeError(ref, "Conflicting values", ref.String()+": conflicts with "+other.String()+
				": give one of "+p.String()+", "+wo.String()+" and "+ref.String()+".")
		}
		switch {
		case clearSet && woSet:
			diags.AddAttributeError(wo, "Conflicting values", wo.String()+" conflicts with "+p.String()+": give one of them.")
		case woSet && !versionSet:
			diags.AddAttributeError(version, "Missing version of a write-only value",
				wo.String()+" needs "+version.String()+": set it (to 1, say) and change it whenever you give a new value.")
		case versionSet && !woSet:
			diags.AddAttributeError(wo, "Missing write-only value", version.String()+" versions "+wo.String()+", which is not set.")
		}
	}
	for _, c := range instanceCredentials {
		if v := c.in(m); v != nil {
			check(c.path(), !v.clear.IsNull(), !v.wo.IsNull(), !v.version.IsNull(), v.referenced())
		}
	}
	env, version := extraSecretEnvWO(m)
	check(path.Root("settings").AtName("extra_secret_env"), false, !env.IsNull(), !version.IsNull(), false)
}

// withWriteOnly puts the write-only values of a configuration into the spec.
func withWriteOnly(ctx context.Context, config *instanceModel, s *mastodon.Spec) diag.Diagnostics {
	for _, c := range instanceCredentials {
		if v := c.in(config); v != nil && !v.wo.IsNull() && !v.wo.IsUnknown() {
			c.set(s, v.wo.ValueString())
		}
	}
	env, _ := extraSecretEnvWO(config)
	if env.IsNull() || env.IsUnknown() {
		return nil
	}
	return env.ElementsAs(ctx, &s.Settings.ExtraSecretEnvWriteOnly, false)
}

// writeOnlyFromCluster puts into the spec the values given write-only (not
// in state), as the cluster holds them, so a refresh compares like with like.
func writeOnlyFromCluster(state *instanceModel, s *mastodon.Spec, live map[string]*unstructured.Unstructured) (filled bool) {
	return fillWriteOnly(state, s, live, func(int) bool { return true }, false)
}

// fillWriteOnly puts into the spec the values, as the cluster holds them,
// of the write-only inputs that m versions and pick selects (an index of
// instanceCredentials; -1 is settings.extra_secret_env_wo). With keepGiven, a value
// the cluster does not hold leaves the spec's as it is.
func fillWriteOnly(m *instanceModel, s *mastodon.Spec, live map[string]*unstructured.Unstructured, pick func(int) bool, keepGiven bool) (filled bool) {
	data := func(secret string) map[string]string {
		if u := live["Secret/"+s.Namespace+"/"+secret]; u != nil {
			return kube.SecretData(u)
		}
		return map[string]string{}
	}
	for i, c := range instanceCredentials {
		if v := c.in(m); v != nil && !v.version.IsNull() && pick(i) {
			secret, key := c.live(s)
			if value, ok := data(secret)[key]; ok || !keepGiven {
				c.set(s, value)
			}
			filled = true
		}
	}
	if _, version := extraSecretEnvWO(m); !version.IsNull() && pick(-1) {
		filled = true
		if u := live["Secret/"+s.Namespace+"/"+s.SecretName()]; u != nil {
			values := kube.SecretData(u)
			s.Settings.ExtraSecretEnvWriteOnly = map[string]string{}
			for _, k := range strings.Split(u.GetAnnotations()[mastodon.AnnotationWriteOnlyKeys], ",") {
				if k != "" {
					s.Settings.ExtraSecretEnvWriteOnly[k] = values[k]
				}
			}
		}
	}
	return filled
}

// keepWriteOnly puts into the spec of an update, for every write-only value
// whose version did not change, the value the cluster holds: the version
// is the only trigger, so a new value given under the same version is not
// applied (Terraform cannot tell it changed). A value the cluster lost is
// taken from the configuration.
func keepWriteOnly(ctx context.Context, c instanceCluster, prior, plan *instanceModel, s *mastodon.Spec) error {
	if prior == nil {
		return nil
	}
	same := func(a, b types.Int64) bool { return !a.IsNull() && a.Equal(b) }
	pick := func(i int) bool {
		if i < 0 {
			_, was := extraSecretEnvWO(prior)
			_, now := extraSecretEnvWO(plan)
			return same(was, now)
		}
		was, now := instanceCredentials[i].in(prior), instanceCredentials[i].in(plan)
		return was != nil && now != nil && same(*was.version, *now.version)
	}
	live := map[string]*unstructured.Unstructured{}
	names := []string{s.SecretName()}
	for i, c := range instanceCredentials {
		if c.in(plan) != nil && pick(i) {
			name, _ := c.live(s)
			names = append(names, name)
		}
	}
	for _, name := range names {
		if live["Secret/"+s.Namespace+"/"+name] != nil {
			continue
		}
		u, err := c.Get(ctx, "Secret", s.Namespace, name)
		if err != nil {
			return err
		}
		if u != nil {
			live["Secret/"+s.Namespace+"/"+name] = u
		}
	}
	fillWriteOnly(plan, s, live, pick, true)
	return nil
}

// clearFromCluster fills, on import, the clear attributes of the secret
// inputs that were not given write-only, from the cluster. A value given
// write-only never reaches state, not even through an import.
func clearFromCluster(m *instanceModel, s *mastodon.Spec, live map[string]*unstructured.Unstructured) {
	for _, c := range instanceCredentials {
		v := c.in(m)
		if v == nil || !v.version.IsNull() || v.referenced() {
			continue
		}
		secret, key := c.live(s)
		if u := live["Secret/"+s.Namespace+"/"+secret]; u != nil {
			if value := kube.SecretData(u)[key]; value != "" {
				*v.clear = types.StringValue(value)
			}
		}
	}
	if m.Settings != nil && !m.Settings.ExtraSecretEnv.IsNull() {
		data := map[string]string{}
		if u := live["Secret/"+s.Namespace+"/"+s.SecretName()]; u != nil {
			data = kube.SecretData(u)
		}
		values := map[string]attr.Value{}
		for k := range m.Settings.ExtraSecretEnv.Elements() {
			values[k] = types.StringValue(data[k])
		}
		m.Settings.ExtraSecretEnv = types.MapValueMust(types.StringType, values)
	}
}
