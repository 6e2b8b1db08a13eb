package mastodon

// HCaptcha is hCaptcha for the sign-up form: Mastodon reads its keys from
// config/captcha.yml (HCAPTCHA_SITE_KEY, HCAPTCHA_SECRET_KEY). The keys
// only make the CAPTCHA possible: an admin switches it on in Mastodon
// (Administration > Server settings > Registrations).
type HCaptcha struct {
	SiteKey      string
	SecretKey    string
	SecretKeyRef *SecretRef `json:",omitempty"` // gives the secret key instead (see SecretRef)
}

// Variables of hCaptcha.
const (
	EnvHCaptchaSiteKey   = "HCAPTCHA_SITE_KEY"
	EnvHCaptchaSecretKey = "HCAPTCHA_SECRET_KEY"
)

// hcaptchaFeature sets hCaptcha's keys (Spec.HCaptcha).
type hcaptchaFeature struct{ noFeature }

func (hcaptchaFeature) env(s *Spec, plain, secret map[string]string) {
	h := s.HCaptcha
	if h == nil {
		return
	}
	plain[EnvHCaptchaSiteKey] = h.SiteKey
	secret[EnvHCaptchaSecretKey] = h.SecretKey
}

func (hcaptchaFeature) validate(s *Spec, e *fieldErrors) {
	s.refuseExtraNames(map[string]string{EnvHCaptchaSiteKey: "hcaptcha.site_key", EnvHCaptchaSecretKey: "hcaptcha.secret_key"}, e)
	h := s.HCaptcha
	if h == nil {
		return
	}
	if h.SecretKey == "" && h.SecretKeyRef == nil {
		e.add("hcaptcha.secret_key", "must be set (or hcaptcha.secret_key_wo, or hcaptcha.secret_key_secret_ref)")
		e.related("hcaptcha.secret_key_wo", "hcaptcha.secret_key_secret_ref")
	}
}
