package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

// redisModel is an external Redis.
type redisModel struct {
	Host     types.String `tfsdk:"host"`
	Port     types.Int64  `tfsdk:"port"`
	User     types.String `tfsdk:"user"`
	Password types.String `tfsdk:"password"`
	writeOnlyPassword
}

var redisPassword = credential{block: "redis", name: "password", what: "Password",
	doc: "Password. It reaches Pods through a Secret only.",
	key: mastodon.EnvRedisPassword, set: func(s *mastodon.Spec, v string) { s.Redis.Password = v },
	setRef: func(s *mastodon.Spec, r *mastodon.SecretRef) { s.Redis.PasswordRef = r }}

func redisAttributes(in nested) map[string]schema.Attribute {
	return map[string]schema.Attribute{"redis": optionalBlock(in, "redis",
		"An external Redis (6.2 or newer). Without it, an embedded Redis runs in the namespace.",
		map[string]schema.Attribute{
			"host": schema.StringAttribute{Required: true, Description: "Host name or address."},
			"port": checkPort.on(optInt("Port, default 6379.")),
			"user": optString("ACL user name."),
		})}
}

func redisSpec(_ context.Context, m *instanceModel, s *mastodon.Spec, _ *diag.Diagnostics) {
	if r := m.Redis; r != nil {
		s.Redis = &mastodon.Redis{Host: r.Host.ValueString(), Port: int32Or(r.Port, 0), User: r.User.ValueString()}
	}
}
