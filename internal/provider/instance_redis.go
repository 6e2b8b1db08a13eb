package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

// redisModel is an external Redis: the main one (redis), the cache's or
// Sidekiq's (instance_redissplit.go).
type redisModel struct {
	Host     types.String `tfsdk:"host"`
	Port     types.Int64  `tfsdk:"port"`
	User     types.String `tfsdk:"user"`
	Password types.String `tfsdk:"password"`
	writeOnlyPassword
	DB       types.Int64    `tfsdk:"db"`
	TLS      types.Bool     `tfsdk:"tls"`
	Sentinel *sentinelModel `tfsdk:"sentinel"`
}

// sentinelModel is a role's Redis Sentinel.
type sentinelModel struct {
	Master   types.String `tfsdk:"master"`
	Hosts    types.List   `tfsdk:"hosts"`
	Port     types.Int64  `tfsdk:"port"`
	Username types.String `tfsdk:"username"`
	Password types.String `tfsdk:"password"`
	writeOnlyPassword
}

var (
	redisPassword = credential{block: "redis", name: "password", what: "Password",
		doc: "Password. It reaches Pods through a Secret only.",
		key: mastodon.EnvRedisPassword, set: func(s *mastodon.Spec, v string) { s.Redis.Password = v },
		setRef: func(s *mastodon.Spec, r *mastodon.SecretRef) { s.Redis.PasswordRef = r }}
	redisSentinelPassword = sentinelPassword("redis", mastodon.EnvRedisSentinelPassword, func(s *mastodon.Spec) *mastodon.Redis { return s.Redis })
)

// sentinelPassword is the password of the Sentinels of the role of block,
// whose Redis is of the spec.
func sentinelPassword(block, key string, of func(*mastodon.Spec) *mastodon.Redis) credential {
	return credential{block: block + ".sentinel", name: "password", what: "Password of the Sentinels",
		doc: "Password of the Sentinels (`" + key + "`, in the instance's Secret only), if it is not the server's.",
		key: key, set: func(s *mastodon.Spec, v string) { of(s).Sentinel.Password = v },
		setRef: func(s *mastodon.Spec, r *mastodon.SecretRef) { of(s).Sentinel.PasswordRef = r }}
}

func redisAttributes(in nested) map[string]schema.Attribute {
	return map[string]schema.Attribute{"redis": optionalBlock(in, "redis",
		"An external Redis (6.2 or newer). Without it, an embedded Redis runs in the namespace.",
		externalRedisAttributes(in, "redis", "REDIS_"))}
}

// externalRedisAttributes are the attributes of the external Redis of
// block, whose variables start with prefix.
func externalRedisAttributes(in nested, block, prefix string) map[string]schema.Attribute {
	return map[string]schema.Attribute{
		"host": optString("Host name or address (`" + prefix + "HOST`). Give it or `sentinel`."),
		"sentinel": optionalBlock(in, block+".sentinel", "Find the server through Redis Sentinel (`"+prefix+"SENTINEL_MASTER`, `"+prefix+"SENTINELS`, ...) "+
			"instead of `host` and `port`; `user`, the password and `db` still apply to the server. Conflicts with `host` and `tls`.",
			map[string]schema.Attribute{
				"master": schema.StringAttribute{Required: true, Description: "The name the Sentinels know the server by (`" + prefix + "SENTINEL_MASTER`)."},
				"hosts": schema.ListAttribute{Required: true, ElementType: types.StringType, Validators: checkSentinelHosts,
					Description: "The Sentinels, `host` or `host:port` (`" + prefix + "SENTINELS`). Mastodon splits each at `:`, so no IPv6 address."},
				"port":     checkPort.on(optInt("Port of the Sentinels given without one (`" + prefix + "SENTINEL_PORT`), default 26379.")),
				"username": optString("User name at the Sentinels (`" + prefix + "SENTINEL_USERNAME`), default `user`."),
			}),
		"port": checkPort.on(optInt("Port (`" + prefix + "PORT`), default 6379.")),
		"user": optString("ACL user name (`" + prefix + "USER`)."),
		"db":   checkRedisDB.on(optInt("Database number (`" + prefix + "DB`), default 0.")),
		"tls": optBool("Connect with TLS: the provider then renders `" + prefix + "URL` (`rediss://`, with the user and password, in the instance's Secret) " +
			"instead of the host, port and user, as Mastodon only takes TLS through a URL. The server's certificate must be one the images trust. " +
			"Conflicts with `password_secret_ref`, whose value the provider never sees."),
	}
}

func redisSpec(_ context.Context, m *instanceModel, s *mastodon.Spec, _ *diag.Diagnostics) {
	s.Redis = m.Redis.spec()
}

// spec is the external Redis a block gives, nil for none. Its password is
// put by the credential table.
func (r *redisModel) spec() *mastodon.Redis {
	if r == nil {
		return nil
	}
	out := &mastodon.Redis{Host: r.Host.ValueString(), Port: int32Or(r.Port, 0), User: r.User.ValueString(),
		DB: int32Or(r.DB, 0), TLS: r.TLS.ValueBool()}
	if x := r.Sentinel; x != nil {
		out.Sentinel = &mastodon.Sentinel{Master: x.Master.ValueString(), Hosts: knownListStrings(x.Hosts), Port: int32Or(x.Port, 0),
			Username: x.Username.ValueString()}
	}
	return out
}

// knownListStrings are the known elements of a list of strings: an element
// another provider has not made yet is left out of the spec, as an unknown
// attribute is.
func knownListStrings(l types.List) []string {
	var out []string
	for _, e := range l.Elements() {
		if s, ok := e.(types.String); ok && !s.IsNull() && !s.IsUnknown() {
			out = append(out, s.ValueString())
		}
	}
	return out
}

var (
	checkRedisDB       = int64Check{described: "not negative", check: mastodon.CheckRedisDB}
	checkSentinelHosts = []validator.List{listvalidator.ValueStringsAre(stringCheck{described: "host or host:port", check: mastodon.CheckSentinelHost})}
)
