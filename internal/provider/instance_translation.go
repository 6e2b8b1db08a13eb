package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

// translationModel is the instance's translation service.
type translationModel struct {
	DeepL          *deeplModel          `tfsdk:"deepl"`
	LibreTranslate *libreTranslateModel `tfsdk:"libre_translate"`
}

type deeplModel struct {
	APIKey          types.String    `tfsdk:"api_key"`
	APIKeyWO        types.String    `tfsdk:"api_key_wo"`
	APIKeyWOVersion types.Int64     `tfsdk:"api_key_wo_version"`
	APIKeyRef       *secretRefModel `tfsdk:"api_key_secret_ref"`
	Plan            types.String    `tfsdk:"plan"`
}

type libreTranslateModel struct {
	Endpoint        types.String    `tfsdk:"endpoint"`
	APIKey          types.String    `tfsdk:"api_key"`
	APIKeyWO        types.String    `tfsdk:"api_key_wo"`
	APIKeyWOVersion types.Int64     `tfsdk:"api_key_wo_version"`
	APIKeyRef       *secretRefModel `tfsdk:"api_key_secret_ref"`
}

var (
	deepLAPIKey = credential{block: "translation.deepl", name: "api_key", what: "API key",
		doc: "API key (`DEEPL_API_KEY`, in the instance's Secret only). Conflicts with `api_key_wo`.",
		key: mastodon.EnvDeepLAPIKey, set: func(s *mastodon.Spec, v string) { s.Translation.DeepL.APIKey = v },
		setRef: func(s *mastodon.Spec, r *mastodon.SecretRef) { s.Translation.DeepL.APIKeyRef = r }}
	libreTranslateAPIKey = credential{block: "translation.libre_translate", name: "api_key", what: "API key",
		doc: "API key, if the server wants one (`LIBRE_TRANSLATE_API_KEY`, in the instance's Secret only). Conflicts with `api_key_wo`.",
		key: mastodon.EnvLibreTranslateAPIKey, set: func(s *mastodon.Spec, v string) { s.Translation.LibreTranslate.APIKey = v },
		setRef: func(s *mastodon.Spec, r *mastodon.SecretRef) { s.Translation.LibreTranslate.APIKeyRef = r }}
)

func translationAttributes(in nested) map[string]schema.Attribute {
	return map[string]schema.Attribute{"translation": optionalBlock(in, "translation",
		"Translation of posts, through DeepL or LibreTranslate: exactly one of `deepl` and `libre_translate`.",
		map[string]schema.Attribute{
			"deepl": optionalBlock(in, "translation.deepl", "DeepL's API.", map[string]schema.Attribute{
				"plan": checkDeepLPlan.on(optString("`DEEPL_PLAN`: `free` (default, api-free.deepl.com) or `pro` (api.deepl.com).")),
			}),
			"libre_translate": optionalBlock(in, "translation.libre_translate", "A LibreTranslate server.", map[string]schema.Attribute{
				"endpoint": checkEndpoint.on(schema.StringAttribute{Required: true, Description: "Its URL (`LIBRE_TRANSLATE_ENDPOINT`), such as `http://libretranslate.translate:5000`."}),
			}),
		})}
}

func translationSpec(_ context.Context, m *instanceModel, s *mastodon.Spec, _ *diag.Diagnostics) {
	t := m.Translation
	if t == nil {
		return
	}
	s.Translation = &mastodon.Translation{}
	if d := t.DeepL; d != nil {
		s.Translation.DeepL = &mastodon.DeepL{Plan: d.Plan.ValueString()}
	}
	if l := t.LibreTranslate; l != nil {
		s.Translation.LibreTranslate = &mastodon.LibreTranslate{Endpoint: l.Endpoint.ValueString()}
	}
}

// The checks of translation's attributes.
var (
	checkDeepLPlan = stringCheck{described: "free or pro", check: mastodon.CheckDeepLPlan}
	checkEndpoint  = stringCheck{described: "an http or https URL", check: mastodon.CheckLibreTranslateEndpoint}
)
