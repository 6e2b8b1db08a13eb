package mastodon

import (
	"fmt"
	"net/url"
	"strings"
)

// Translation is the service that translates posts: DeepL or
// LibreTranslate, exactly one (app/lib/translation_service.rb takes DeepL
// when DEEPL_API_KEY is set, else LibreTranslate when
// LIBRE_TRANSLATE_ENDPOINT is).
type Translation struct {
	DeepL          *DeepL
	LibreTranslate *LibreTranslate
}

// DeepL is DeepL's API.
type DeepL struct {
	APIKey    string
	APIKeyRef *SecretRef `json:",omitempty"` // gives the key instead (see SecretRef)
	// Plan is free (default) or pro: the free plan has its own endpoint
	// (app/lib/translation_service/deepl.rb).
	Plan string
}

// LibreTranslate is a LibreTranslate server.
type LibreTranslate struct {
	Endpoint  string
	APIKey    string
	APIKeyRef *SecretRef `json:",omitempty"` // gives the key instead (see SecretRef)
}

// Secret keys of the translation services.
const (
	EnvDeepLAPIKey          = "DEEPL_API_KEY"
	EnvLibreTranslateAPIKey = "LIBRE_TRANSLATE_API_KEY"
)

// DeepLPlans are DEEPL_PLAN's values.
var DeepLPlans = []string{"free", "pro"}

// translationFeature sets the translation service (Spec.Translation).
type translationFeature struct{ noFeature }

func (translationFeature) defaults(s *Spec) {
	if t := s.Translation; t != nil && t.DeepL != nil && t.DeepL.Plan == "" {
		t.DeepL.Plan = "free"
	}
}

func (translationFeature) env(s *Spec, plain, secret map[string]string) {
	t := s.Translation
	if t == nil {
		return
	}
	if d := t.DeepL; d != nil {
		secret[EnvDeepLAPIKey] = d.APIKey
		plain["DEEPL_PLAN"] = d.Plan
	}
	if l := t.LibreTranslate; l != nil {
		plain["LIBRE_TRANSLATE_ENDPOINT"] = l.Endpoint
		if l.APIKey != "" {
			secret[EnvLibreTranslateAPIKey] = l.APIKey
		}
	}
}

func (translationFeature) validate(s *Spec, e *fieldErrors) {
	t := s.Translation
	if t == nil {
		return
	}
	add := e.add
	s.refuseExtra("translation", func(k string) bool {
		return strings.HasPrefix(k, "DEEPL_") || strings.HasPrefix(k, "LIBRE_TRANSLATE_")
	}, e)
	switch {
	case t.DeepL == nil && t.LibreTranslate == nil:
		add("translation", "needs translation.deepl or translation.libre_translate")
		e.related("translation.deepl", "translation.libre_translate")
	case t.DeepL != nil && t.LibreTranslate != nil:
		add("translation.deepl", "conflicts with translation.libre_translate: Mastodon uses one translation service (DeepL when both are set)")
		e.related("translation.libre_translate")
	}
	if d := t.DeepL; d != nil {
		if d.APIKey == "" && d.APIKeyRef == nil {
			add("translation.deepl.api_key", "must be set (or translation.deepl.api_key_wo, or translation.deepl.api_key_secret_ref)")
			e.related("translation.deepl.api_key_wo", "translation.deepl.api_key_secret_ref")
		}
	}
}

// CheckDeepLPlan checks translation.deepl.plan.
func CheckDeepLPlan(v string) error {
	if v != "" && !oneOf(v, DeepLPlans) {
		return fmt.Errorf("must be free or pro, not %q", v)
	}
	return nil
}

// CheckLibreTranslateEndpoint checks translation.libre_translate.endpoint.
func CheckLibreTranslateEndpoint(v string) error {
	if u, err := url.Parse(v); err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("%q must be a URL such as https://translate.example.org", v)
	}
	return nil
}
