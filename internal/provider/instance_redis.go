package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
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
	DB  types.Int64 `tfsdk:"db"`
	TLS types.Bool  `tfsdk:"tls"`
}

var redisPassword = credential{block: "redis", name: "password", what: "Password",
	doc: "Password. It reaches Pods through a Secret only.",
	key: mastodon.EnvRedisPassword, set: func(s *mastodon.Spec, v string) { s.Redis.Password = v },
	setRef: func(s *mastodon.Spec, r *mastodon.SecretRef) { s.Redis.PasswordRef = r }}

func redisAttributes(in nested) map[string]schema.Attribute {
	return map[string]schema.Attribute{"redis": optionalBlock(in, "redis",
		"An external Redis (6.2 or newer). Without it, an embedded Redis runs in the namespace.",
		externalRedisAttributes("REDIS_"))}
}

// externalRedisAttributes are the attributes of an external Redis whose
// variables start with prefix.
func externalRedisAttributes(prefix string) map[string]schema.Attribute {
	return map[string]schema.Attribute{
		"host": schema.StringAttribute{Required: true, Description: "Host name or address (`" + prefix + "HOST`)."},
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
	return &mastodon.Redis{Host: r.Host.ValueString(), Port: int32Or(r.Port, 0), User: r.User.ValueString(),
		DB: int32Or(r.DB, 0), TLS: r.TLS.ValueBool()}
}

var checkRedisDB = int64Check{described: "not negative", check: mastodon.CheckRedisDB}
