package provider

import (
	"context"
	"strconv"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

// spec turns the Terraform model into the instance spec, with defaults:
// its core blocks here, then the features (instanceFeatures).
func (m *instanceModel) spec(ctx context.Context) (*mastodon.Spec, diag.Diagnostics) {
	var diags diag.Diagnostics
	s := &mastodon.Spec{}
	s.Name, s.Namespace = m.Name.ValueString(), m.Namespace.ValueString()
	s.LocalDomain, s.WebDomain, s.Version = m.LocalDomain.ValueString(), m.WebDomain.ValueString(), m.Version.ValueString()
	if i := m.Image; i != nil {
		s.Repository = i.Repository.ValueString()
		s.StreamingRepo = i.StreamingRepository.ValueString()
		s.PullPolicy = i.PullPolicy.ValueString()
		diags.Append(i.PullSecrets.ElementsAs(ctx, &s.PullSecrets, false)...)
	}
	if w := m.Web; w != nil {
		s.WebResources = w.Resources.resources()
		s.WebConcurrency = int32Or(w.Concurrency, 0)
		s.MaxThreads = int32Or(w.MaxThreads, 0)
	}
	if st := m.Streaming; st != nil {
		s.StreamResources = st.Resources.resources()
	}
	for i, p := range m.Sidekiq {
		s.Sidekiq = append(s.Sidekiq, p.process(ctx, path.Root("sidekiq").AtListIndex(i), &diags))
	}
	if e := m.EmbeddedDatabase; e != nil {
		s.Embedded = mastodon.EmbeddedDatabase{StorageSize: e.StorageSize.ValueString(), StorageClass: e.StorageClass.ValueString(),
			Resources: e.Resources.resources()}
	}
	if e := m.EmbeddedRedis; e != nil {
		s.EmbeddedRedis = mastodon.EmbeddedRedis{StorageSize: e.StorageSize.ValueString(), StorageClass: e.StorageClass.ValueString(), Resources: e.Resources.resources()}
	}
	if md := m.Media; md != nil {
		s.Media = mastodon.Media{StorageSize: md.StorageSize.ValueString(), StorageClass: md.StorageClass.ValueString(), AccessMode: md.AccessMode.ValueString(),
			ExistingClaim: md.ExistingClaim.ValueString()}
	}
	if st := m.Settings; st != nil {
		s.Settings = mastodon.Settings{
			SingleUserMode: st.SingleUserMode.ValueBool(), AuthorizedFetch: st.AuthorizedFetch.ValueBool(),
			LimitedFederationMode: st.LimitedFederationMode.ValueBool(), DefaultLocale: st.DefaultLocale.ValueString(),
			TrustedProxyIP: st.TrustedProxyIP.ValueString(), TimeZone: st.TimeZone.ValueString(),
		}
		diags.Append(st.ExtraEnv.ElementsAs(ctx, &s.Settings.ExtraEnv, false)...)
		diags.Append(st.ExtraSecretEnv.ElementsAs(ctx, &s.Settings.ExtraSecretEnv, false)...)
		if st.ExtraSecretEnvRefs != nil {
			s.Settings.ExtraSecretEnvRefs = map[string]*mastodon.SecretRef{}
			for k, v := range st.ExtraSecretEnvRefs {
				s.Settings.ExtraSecretEnvRefs[k] = secretRef(&v)
			}
		}
	}
	instanceFeatures.spec(ctx, m, s, &diags)
	s.Defaults()
	return s, diags
}

// process is a Sidekiq process but its number of Pods (see scalingSpec).
func (p *sidekiqModel) process(ctx context.Context, at path.Path, diags *diag.Diagnostics) mastodon.SidekiqProcess {
	proc := mastodon.SidekiqProcess{Name: p.Name.ValueString(), Concurrency: int32Or(p.Concurrency, 0), Resources: p.Resources.resources()}
	var queues []string
	diags.Append(p.Queues.ElementsAs(ctx, &queues, false)...)
	for _, q := range queues {
		queue, err := mastodon.ParseQueue(q)
		if err != nil {
			diags.AddAttributeError(at.AtName("queues"), "Invalid queue weight", err.Error())
		}
		proc.Queues = append(proc.Queues, queue)
	}
	return proc
}

func int32Or(v types.Int64, d int32) int32 {
	if v.IsNull() || v.IsUnknown() {
		return d
	}
	return int32(v.ValueInt64())
}

func (r *resourcesModel) resources() mastodon.Resources {
	if r == nil {
		return mastodon.Resources{}
	}
	return mastodon.Resources{CPURequest: r.CPURequest.ValueString(), MemoryRequest: r.MemoryRequest.ValueString(),
		CPULimit: r.CPULimit.ValueString(), MemoryLimit: r.MemoryLimit.ValueString()}
}

// attributePath turns a spec error path such as "sidekiq[1].queues" into
// an attribute path.
func attributePath(p string) path.Path {
	out := path.Empty()
	for _, part := range strings.Split(p, ".") {
		name, idx, hasIdx := strings.Cut(part, "[")
		out = out.AtName(name)
		if hasIdx {
			if i, err := strconv.Atoi(strings.TrimSuffix(idx, "]")); err == nil {
				out = out.AtListIndex(i)
			}
		}
	}
	return out
}

// generatedSecrets is the one list of the generated secrets: their
// attribute in `secrets`, their environment variable, their description.
var generatedSecrets = []struct{ attr, env, desc string }{
	{"secret_key_base", "SECRET_KEY_BASE", "`SECRET_KEY_BASE`."},
	{"vapid_private_key", "VAPID_PRIVATE_KEY", "`VAPID_PRIVATE_KEY`."},
	{"active_record_encryption_deterministic_key", "ACTIVE_RECORD_ENCRYPTION_DETERMINISTIC_KEY", "`ACTIVE_RECORD_ENCRYPTION_DETERMINISTIC_KEY`."},
	{"active_record_encryption_key_derivation_salt", "ACTIVE_RECORD_ENCRYPTION_KEY_DERIVATION_SALT", "`ACTIVE_RECORD_ENCRYPTION_KEY_DERIVATION_SALT`."},
	{"active_record_encryption_primary_key", "ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY", "`ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY`."},
	{"otp_secret", "OTP_SECRET", "`OTP_SECRET`, only for instances that had one."},
	{"embedded_database_password", mastodon.EnvDBPassword, "Password of the embedded PostgreSQL."},
	{"embedded_redis_password", mastodon.EnvRedisPassword, "Password of the embedded Redis."},
}

func secretsAttrTypes() map[string]attr.Type {
	out := map[string]attr.Type{}
	for _, g := range generatedSecrets {
		out[g.attr] = types.StringType
	}
	return out
}

func nullable(s string) types.String {
	if s == "" {
		return types.StringNull()
	}
	return types.StringValue(s)
}

func secretsObject(s mastodon.Secrets) types.Object {
	values := map[string]attr.Value{}
	for _, g := range generatedSecrets {
		values[g.attr] = nullable(*s.Field(g.env))
	}
	return types.ObjectValueMust(secretsAttrTypes(), values)
}

func secretsFromObject(o types.Object, vapidPublic string) mastodon.Secrets {
	s := mastodon.Secrets{VapidPublicKey: vapidPublic}
	if o.IsNull() || o.IsUnknown() {
		return s
	}
	attrs := o.Attributes()
	for _, g := range generatedSecrets {
		if v, ok := attrs[g.attr].(types.String); ok {
			*s.Field(g.env) = v.ValueString()
		}
	}
	return s
}
