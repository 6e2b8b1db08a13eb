package provider

import (
	"context"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tootform/terraform-provider-mastodon/internal/kube"
	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

// secretInput is a secret the user gives the instance, in its clear form
// (Sensitive, kept in state) or its write-only form (never in state) with
// the version that says when a new write-only value is to be applied.
type secretInput struct {
	path path.Path // the clear attribute
	// fields are the model's three attributes, nil when the block is absent.
	fields func(m *instanceModel) (clear, wo *types.String, version *types.Int64)
	// set puts the value into the spec.
	set func(s *mastodon.Spec, v string)
	// live names the Secret and key that hold the value in the cluster.
	live func(s *mastodon.Spec) (secret, key string)
}

// secretInputs are every secret input of the instance but
// settings.extra_secret_env (a map, see extraSecretEnvWO).
var secretInputs = []secretInput{
	{
		path: path.Root("database").AtName("password"),
		fields: func(m *instanceModel) (*types.String, *types.String, *types.Int64) {
			if m.Database == nil {
				return nil, nil, nil
			}
			return &m.Database.Password, &m.Database.PasswordWO, &m.Database.PasswordWOVersion
		},
		set:  func(s *mastodon.Spec, v string) { s.Database.Password = v },
		live: func(s *mastodon.Spec) (string, string) { return s.SecretName(), mastodon.EnvDBPassword },
	},
	{
		path: path.Root("database").AtName("cloud_sql").AtName("credentials_json"),
		fields: func(m *instanceModel) (*types.String, *types.String, *types.Int64) {
			if m.Database == nil || m.Database.CloudSQL == nil {
				return nil, nil, nil
			}
			c := m.Database.CloudSQL
			return &c.CredentialsJSON, &c.CredentialsJSONWO, &c.CredentialsJSONWOVersion
		},
		set:  func(s *mastodon.Spec, v string) { s.Database.CloudSQL.CredentialsJSON = v },
		live: func(s *mastodon.Spec) (string, string) { return s.CloudSQLSecretName(), mastodon.CloudSQLKeyFile },
	},
	{
		path: path.Root("redis").AtName("password"),
		fields: func(m *instanceModel) (*types.String, *types.String, *types.Int64) {
			if m.Redis == nil {
				return nil, nil, nil
			}
			return &m.Redis.Password, &m.Redis.PasswordWO, &m.Redis.PasswordWOVersion
		},
		set:  func(s *mastodon.Spec, v string) { s.Redis.Password = v },
		live: func(s *mastodon.Spec) (string, string) { return s.SecretName(), mastodon.EnvRedisPassword },
	},
	{
		path: path.Root("smtp").AtName("password"),
		fields: func(m *instanceModel) (*types.String, *types.String, *types.Int64) {
			if m.SMTP == nil {
				return nil, nil, nil
			}
			return &m.SMTP.Password, &m.SMTP.PasswordWO, &m.SMTP.PasswordWOVersion
		},
		set:  func(s *mastodon.Spec, v string) { s.SMTP.Password = v },
		live: func(s *mastodon.Spec) (string, string) { return s.SecretName(), mastodon.EnvSMTPPassword },
	},
	{
		path: path.Root("media_bucket").AtName("secret_access_key"),
		fields: func(m *instanceModel) (*types.String, *types.String, *types.Int64) {
			if m.MediaBucket == nil {
				return nil, nil, nil
			}
			b := m.MediaBucket
			return &b.SecretAccessKey, &b.SecretAccessKeyWO, &b.SecretAccessKeyWOVersion
		},
		set:  func(s *mastodon.Spec, v string) { s.MediaBucket.SecretAccessKey = v },
		live: func(s *mastodon.Spec) (string, string) { return s.SecretName(), mastodon.EnvS3SecretKey },
	},
	{
		path: path.Root("ingress").AtName("private_key_pem"),
		fields: func(m *instanceModel) (*types.String, *types.String, *types.Int64) {
			if m.Ingress == nil {
				return nil, nil, nil
			}
			return &m.Ingress.PrivateKeyPEM, &m.Ingress.PrivateKeyWO, &m.Ingress.PrivateKeyWOV
		},
		set:  func(s *mastodon.Spec, v string) { s.Ingress.PrivateKeyPEM = v },
		live: func(s *mastodon.Spec) (string, string) { return s.TLSSecretName(), corev1.TLSPrivateKeyKey },
	},
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

// validateWriteOnly checks the pairs of a configuration: a clear value or a
// write-only one, never both, and a write-only value always with its
// version (without it Terraform could not tell when to apply a new one).
// A pair with an unknown value (see splitUnknown) is not judged.
func validateWriteOnly(m *instanceModel, unknown map[string]bool, diags *diag.Diagnostics) {
	check := func(p path.Path, clearSet, woSet, versionSet bool) {
		wo, version := woPath(p, "_wo"), woPath(p, "_wo_version")
		if unknown[p.String()] || unknown[wo.String()] || unknown[version.String()] || unknown[p.ParentPath().String()] {
			return
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
	for _, in := range secretInputs {
		clear, wo, version := in.fields(m)
		if clear == nil {
			continue
		}
		check(in.path, !clear.IsNull(), !wo.IsNull(), !version.IsNull())
	}
	env, version := extraSecretEnvWO(m)
	check(path.Root("settings").AtName("extra_secret_env"), false, !env.IsNull(), !version.IsNull())
}

// withWriteOnly puts the write-only values of a configuration into the spec.
func withWriteOnly(ctx context.Context, config *instanceModel, s *mastodon.Spec) diag.Diagnostics {
	for _, in := range secretInputs {
		if _, wo, _ := in.fields(config); wo != nil && !wo.IsNull() && !wo.IsUnknown() {
			in.set(s, wo.ValueString())
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
// secretInputs; -1 is settings.extra_secret_env_wo). With keepGiven, a value
// the cluster does not hold leaves the spec's as it is.
func fillWriteOnly(m *instanceModel, s *mastodon.Spec, live map[string]*unstructured.Unstructured, pick func(int) bool, keepGiven bool) (filled bool) {
	data := func(secret string) map[string]string {
		if u := live["Secret/"+s.Namespace+"/"+secret]; u != nil {
			return kube.SecretData(u)
		}
		return map[string]string{}
	}
	for i, in := range secretInputs {
		if _, _, version := in.fields(m); version != nil && !version.IsNull() && pick(i) {
			secret, key := in.live(s)
			if v, ok := data(secret)[key]; ok || !keepGiven {
				in.set(s, v)
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
		_, _, was := secretInputs[i].fields(prior)
		_, _, now := secretInputs[i].fields(plan)
		return was != nil && now != nil && same(*was, *now)
	}
	live := map[string]*unstructured.Unstructured{}
	names := []string{s.SecretName()}
	for i, in := range secretInputs {
		if _, _, v := in.fields(plan); v != nil && pick(i) {
			name, _ := in.live(s)
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
	for _, in := range secretInputs {
		clear, _, version := in.fields(m)
		if clear == nil || !version.IsNull() {
			continue
		}
		secret, key := in.live(s)
		if u := live["Secret/"+s.Namespace+"/"+secret]; u != nil {
			if v := kube.SecretData(u)[key]; v != "" {
				*clear = types.StringValue(v)
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
