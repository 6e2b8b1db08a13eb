package provider

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

// spec turns the Terraform model into the instance spec, with defaults.
func (m *instanceModel) spec(ctx context.Context) (*mastodon.Spec, diag.Diagnostics) {
	var diags diag.Diagnostics
	s := &mastodon.Spec{
		Name:           m.Name.ValueString(),
		Namespace:      m.Namespace.ValueString(),
		LocalDomain:    m.LocalDomain.ValueString(),
		WebDomain:      m.WebDomain.ValueString(),
		Version:        m.Version.ValueString(),
		WebReplicas:    1,
		StreamReplicas: 1,
	}
	if i := m.Image; i != nil {
		s.Repository = i.Repository.ValueString()
		s.StreamingRepo = i.StreamingRepository.ValueString()
		s.PullPolicy = i.PullPolicy.ValueString()
		diags.Append(i.PullSecrets.ElementsAs(ctx, &s.PullSecrets, false)...)
	}
	if w := m.Web; w != nil {
		s.WebAutoscaling = w.Autoscaling.autoscaling()
		s.WebReplicas = replicas(w.Replicas, w.ExternalScaling, s.WebAutoscaling, path.Root("web"), &diags)
		s.WebResources = w.Resources.resources()
		s.WebConcurrency = int32Or(w.Concurrency, 0)
		s.MaxThreads = int32Or(w.MaxThreads, 0)
	}
	if st := m.Streaming; st != nil {
		s.StreamAutoscaling = st.Autoscaling.autoscaling()
		s.StreamReplicas = replicas(st.Replicas, st.ExternalScaling, s.StreamAutoscaling, path.Root("streaming"), &diags)
		s.StreamResources = st.Resources.resources()
	}
	for i, p := range m.Sidekiq {
		proc := mastodon.SidekiqProcess{
			Name:        p.Name.ValueString(),
			Concurrency: int32Or(p.Concurrency, 0),
			Replicas:    replicas(p.Replicas, p.ExternalScaling, p.Autoscaling.autoscaling(), path.Root("sidekiq").AtListIndex(i), &diags),
			Resources:   p.Resources.resources(),
			Autoscaling: p.Autoscaling.autoscaling(),
		}
		var queues []string
		diags.Append(p.Queues.ElementsAs(ctx, &queues, false)...)
		for _, q := range queues {
			name, weight, found := strings.Cut(q, ",")
			queue := mastodon.Queue{Name: strings.TrimSpace(name)}
			if found {
				w, err := strconv.Atoi(strings.TrimSpace(weight))
				if err != nil || w < 1 {
					diags.AddAttributeError(path.Root("sidekiq").AtListIndex(i).AtName("queues"), "Invalid queue weight",
						fmt.Sprintf("%q: the weight after the comma must be a positive integer, as in default,8", q))
				}
				queue.Weight = w
			}
			proc.Queues = append(proc.Queues, queue)
		}
		s.Sidekiq = append(s.Sidekiq, proc)
	}
	if d := m.Database; d != nil {
		s.Database = &mastodon.Database{
			Host: d.Host.ValueString(), Port: int32Or(d.Port, 0), Name: d.Name.ValueString(), User: d.User.ValueString(),
			Password: d.Password.ValueString(), SSLMode: d.SSLMode.ValueString(), Pool: int32Or(d.Pool, 0),
			MaxConnections:   int32Or(d.MaxConns, 0),
			CACertificatePEM: d.CACert.ValueString(),
		}
		if c := d.CloudSQL; c != nil {
			s.Database.CloudSQL = &mastodon.CloudSQL{
				InstanceConnectionName: c.InstanceConnectionName.ValueString(), PrivateIP: c.PrivateIP.ValueBool(),
				AutoIAMAuthn: c.AutoIAMAuthn.ValueBool(), ProxyImage: c.ProxyImage.ValueString(),
				ProxyResources: c.ProxyResources.resources(), CredentialsJSON: c.CredentialsJSON.ValueString(),
				WorkloadIdentityServiceAccount: c.WorkloadIdentityServiceAccount.ValueString(),
			}
		}
	}
	if e := m.EmbeddedDatabase; e != nil {
		s.Embedded = mastodon.EmbeddedDatabase{StorageSize: e.StorageSize.ValueString(), StorageClass: e.StorageClass.ValueString(),
			Resources: e.Resources.resources()}
	}
	if e := m.EmbeddedRedis; e != nil {
		s.EmbeddedRedis = mastodon.EmbeddedRedis{StorageSize: e.StorageSize.ValueString(), StorageClass: e.StorageClass.ValueString()}
	}
	if r := m.Redis; r != nil {
		s.Redis = &mastodon.Redis{Host: r.Host.ValueString(), Port: int32Or(r.Port, 0), User: r.User.ValueString(), Password: r.Password.ValueString()}
	}
	if x := m.SMTP; x != nil {
		s.SMTP = &mastodon.SMTP{
			Server: x.Server.ValueString(), Port: int32Or(x.Port, 0), Login: x.Login.ValueString(), Password: x.Password.ValueString(),
			FromAddress: x.FromAddress.ValueString(), Domain: x.Domain.ValueString(), AuthMethod: x.AuthMethod.ValueString(),
			EnableStartTLS: x.EnableStartTLS.ValueString(), OpenSSLVerifyMode: x.OpenSSLVerifyMode.ValueString(),
			TLS: x.TLS.ValueBool(), SSL: x.SSL.ValueBool(), DeliveryMethod: x.DeliveryMethod.ValueString(),
		}
	}
	if b := m.MediaBucket; b != nil {
		s.MediaBucket = &mastodon.MediaBucket{
			Bucket: b.Bucket.ValueString(), Endpoint: b.Endpoint.ValueString(), Region: b.Region.ValueString(),
			AliasHost: b.AliasHost.ValueString(), Permission: b.Permission.ValueString(), PathStyle: b.PathStyle.ValueBool(),
			AccessKeyID: b.AccessKeyID.ValueString(), SecretAccessKey: b.SecretAccessKey.ValueString(),
		}
	}
	if md := m.Media; md != nil {
		s.Media = mastodon.Media{StorageSize: md.StorageSize.ValueString(), StorageClass: md.StorageClass.ValueString(), AccessMode: md.AccessMode.ValueString()}
	}
	if in := m.Ingress; in != nil {
		s.Ingress = &mastodon.Ingress{ClassName: in.ClassName.ValueString(), CertificatePEM: in.CertificatePEM.ValueString(),
			PrivateKeyPEM: in.PrivateKeyPEM.ValueString(), TLSSecretName: in.TLSSecretName.ValueString(), GKEStreamingTimeout: int32Or(in.GKETimeout, 0)}
		diags.Append(in.Annotations.ElementsAs(ctx, &s.Ingress.Annotations, false)...)
	}
	if st := m.Settings; st != nil {
		s.Settings = mastodon.Settings{
			SingleUserMode: st.SingleUserMode.ValueBool(), AuthorizedFetch: st.AuthorizedFetch.ValueBool(),
			LimitedFederationMode: st.LimitedFederationMode.ValueBool(), DefaultLocale: st.DefaultLocale.ValueString(),
			TrustedProxyIP: st.TrustedProxyIP.ValueString(),
		}
		diags.Append(st.ExtraEnv.ElementsAs(ctx, &s.Settings.ExtraEnv, false)...)
		diags.Append(st.ExtraSecretEnv.ElementsAs(ctx, &s.Settings.ExtraSecretEnv, false)...)
	}
	s.Search, s.Translation = m.Opensearch.search(), m.Translation.translation()
	m.Maintenance.spec(s)
	s.Backup = m.Backup.spec()
	s.Metrics = m.Metrics.metrics(ctx, &diags)
	s.Defaults()
	return s, diags
}

// replicas is a component's number of Pods (default 1), or
// mastodon.ScaledElsewhere when another controller sets it: its autoscaler,
// or one of the user's (external_scaling).
func replicas(n types.Int64, external types.Bool, autoscaling *mastodon.Autoscaling, block path.Path, diags *diag.Diagnostics) int32 {
	if autoscaling != nil {
		for _, other := range []struct {
			name string
			set  bool
		}{{"replicas", !n.IsNull()}, {"external_scaling", external.ValueBool()}} {
			if other.set {
				diags.AddAttributeError(block.AtName("autoscaling"), "Conflicting settings",
					block.String()+".autoscaling conflicts with "+block.String()+"."+other.name+": its HorizontalPodAutoscaler sets the number of Pods; remove "+
						block.String()+"."+other.name+".")
			}
		}
		return mastodon.ScaledElsewhere
	}
	if !external.ValueBool() {
		return int32Or(n, 1)
	}
	if !n.IsNull() {
		diags.AddAttributeError(block.AtName("external_scaling"), "Conflicting settings",
			block.String()+".external_scaling leaves the number of Pods to another controller: remove "+block.String()+".replicas.")
	}
	return mastodon.ScaledElsewhere
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
