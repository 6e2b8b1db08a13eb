package provider

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// sso's rules between attributes hold back while a value they read is
// unknown (`var.on ? {...} : null` from another resource), and hold once
// it is known.
func TestValidateConfigSSOUnknown(t *testing.T) {
	ctx := context.Background()
	r := &instanceResource{}
	var sr resource.SchemaResponse
	r.Schema(ctx, resource.SchemaRequest{}, &sr)
	root := sr.Schema.Type().TerraformType(ctx).(tftypes.Object)
	ssoType := root.AttributeTypes["sso"].(tftypes.Object)
	str := func(s string) tftypes.Value { return tftypes.NewValue(tftypes.String, s) }
	boolean := func(b bool) tftypes.Value { return tftypes.NewValue(tftypes.Bool, b) }
	unknown := func(name string) tftypes.Value {
		return tftypes.NewValue(ssoType.AttributeTypes[name], tftypes.UnknownValue)
	}
	oidc := withNulls(ssoType.AttributeTypes["oidc"].(tftypes.Object), map[string]tftypes.Value{"issuer": str("https://id.example.org"), "client_id": str("c")})
	cas := withNulls(ssoType.AttributeTypes["cas"].(tftypes.Object), map[string]tftypes.Value{"host": str("cas.example.org")})
	validate := func(sso map[string]tftypes.Value) string {
		all := map[string]tftypes.Value{"name": str("social"), "namespace": str("mastodon"), "local_domain": str("social.example"),
			"sso": withNulls(ssoType, sso)}
		resp := &resource.ValidateConfigResponse{}
		r.ValidateConfig(ctx, resource.ValidateConfigRequest{Config: tfsdk.Config{Schema: sr.Schema, Raw: withNulls(root, all)}}, resp)
		var errs []string
		for _, d := range resp.Diagnostics.Errors() {
			errs = append(errs, d.Detail())
		}
		return strings.Join(errs, "; ")
	}
	for _, tc := range []struct {
		name string
		sso  map[string]tftypes.Value
		want string // "" for no error
	}{
		{"the only protocol unknown", map[string]tftypes.Value{"oidc": unknown("oidc")}, ""},
		{"no protocol", map[string]tftypes.Value{}, "needs at least one of"},
		{"a second provider unknown", map[string]tftypes.Value{"oidc": oidc, "cas": unknown("cas"), "omniauth_only": boolean(true), "one_click_login": boolean(true)}, ""},
		{"a second provider known", map[string]tftypes.Value{"oidc": oidc, "cas": cas, "omniauth_only": boolean(true), "one_click_login": boolean(true)}, "needs exactly one of"},
		{"omniauth_only unknown", map[string]tftypes.Value{"oidc": oidc, "omniauth_only": unknown("omniauth_only"), "one_click_login": boolean(true)}, ""},
		{"omniauth_only false", map[string]tftypes.Value{"oidc": oidc, "omniauth_only": boolean(false), "one_click_login": boolean(true)}, "needs sso.omniauth_only"},
		{"omniauth_only, providers unknown", map[string]tftypes.Value{"oidc": unknown("oidc"), "omniauth_only": boolean(true)}, ""},
	} {
		if got := validate(tc.sso); tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
