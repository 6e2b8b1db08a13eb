package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

// hcaptchaModel is the instance's hCaptcha keys.
type hcaptchaModel struct {
	SiteKey            types.String    `tfsdk:"site_key"`
	SecretKey          types.String    `tfsdk:"secret_key"`
	SecretKeyWO        types.String    `tfsdk:"secret_key_wo"`
	SecretKeyWOVersion types.Int64     `tfsdk:"secret_key_wo_version"`
	SecretKeyRef       *secretRefModel `tfsdk:"secret_key_secret_ref"`
}

var hcaptchaSecretKey = credential{block: "hcaptcha", name: "secret_key", what: "Secret key",
	doc: "Secret key (`HCAPTCHA_SECRET_KEY`, in the instance's Secret only). Conflicts with `secret_key_wo`.",
	key: mastodon.EnvHCaptchaSecretKey, set: func(s *mastodon.Spec, v string) { s.HCaptcha.SecretKey = v },
	setRef: func(s *mastodon.Spec, r *mastodon.SecretRef) { s.HCaptcha.SecretKeyRef = r }}

func hcaptchaAttributes(in nested) map[string]schema.Attribute {
	return map[string]schema.Attribute{"hcaptcha": optionalBlock(in, "hcaptcha",
		"hCaptcha on the sign-up form (`config/captcha.yml`). The keys only make it possible: an admin switches the CAPTCHA on in Mastodon "+
			"(Administration > Server settings > Registrations). `settings.extra_env` and the other free-form maps may not set `HCAPTCHA_SITE_KEY` "+
			"or `HCAPTCHA_SECRET_KEY`, with or without this block.",
		map[string]schema.Attribute{
			"site_key": schema.StringAttribute{Required: true, Description: "Site key (`HCAPTCHA_SITE_KEY`, public: it is in the sign-up page)."},
		})}
}

func hcaptchaSpec(_ context.Context, m *instanceModel, s *mastodon.Spec, _ *diag.Diagnostics) {
	if h := m.HCaptcha; h != nil {
		s.HCaptcha = &mastodon.HCaptcha{SiteKey: h.SiteKey.ValueString()}
	}
}
