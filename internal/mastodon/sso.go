package mastodon

import (
	"crypto/tls"
	"fmt"
	"net/url"
	"path"
	"regexp"
	"strconv"
	"strings"
)

// SSO is single sign-on: the OmniAuth providers Mastodon knows (OpenID
// Connect, SAML, CAS: config/initializers/3_omniauth.rb, each switched on
// by its *_ENABLED variable read in config/omniauth.yml) and LDAP, which
// checks the password form's email and password against a directory
// (config/initializers/devise.rb, app/models/concerns/user/ldap_authenticable.rb).
type SSO struct {
	OIDC *OIDC
	SAML *SAML
	CAS  *CAS
	LDAP *LDAP
	// OmniAuthOnly (OMNIAUTH_ONLY) hides the password form and closes
	// sign-ups: accounts come from the OmniAuth providers only.
	OmniAuthOnly bool
	// OneClickLogin (ONE_CLICK_SSO_LOGIN) sends the web app's sign-in
	// button straight to the provider; Mastodon honours it only with
	// OMNIAUTH_ONLY and exactly one OmniAuth provider.
	OneClickLogin bool
	// AccountSettingsURL (SSO_ACCOUNT_SETTINGS) and SignUpURL
	// (SSO_ACCOUNT_SIGN_UP) point users at the provider's pages.
	AccountSettingsURL, SignUpURL string
	// UnsafeReattach (ALLOW_UNSAFE_AUTH_PROVIDER_REATTACH) attaches a
	// provider's identity to the existing account of its verified email.
	UnsafeReattach bool
}

// OIDC is an OpenID Connect provider (OIDC_*). Nil booleans are left to
// omniauth_openid_connect's defaults.
type OIDC struct {
	DisplayName      string
	Issuer           string
	Discovery        *bool // default true (Mastodon's is false, which needs the four endpoints)
	ClientID         string
	ClientSecret     string
	ClientSecretRef  *SecretRef `json:",omitempty"`
	ClientAuthMethod string
	Scope            []string // default openid, profile, email
	ResponseType     string
	ResponseMode     string
	Display          string
	Prompt           string
	UsePKCE          *bool
	SendNonce        *bool
	SendScopeToToken *bool
	LogoutRedirect   string // OIDC_IDP_LOGOUT_REDIRECT_URI
	UIDField         string
	HTTPScheme       string
	Host             string
	Port             int32
	AuthEndpoint     string
	TokenEndpoint    string
	UserInfoEndpoint string
	JWKSURI          string
	EndSession       string
	AssumeVerified   bool // OIDC_SECURITY_ASSUME_EMAIL_IS_VERIFIED
}

// SAML is a SAML identity provider (SAML_*). The SP certificate and key are
// PEM values in the variables themselves, not paths.
type SAML struct {
	DisplayName          string
	IdPSSOTargetURL      string
	IdPCert              string
	IdPCertFingerprint   string
	NameIdentifierFormat string
	Issuer               string
	Certificate          string
	PrivateKey           string
	PrivateKeyRef        *SecretRef `json:",omitempty"`
	WantSigned           bool
	WantEncrypted        bool
	AssumeVerified       bool
	// Attributes are SAML_ATTRIBUTES_STATEMENTS_<KEY> by key (uid, email,
	// full_name, first_name, last_name, verified, verified_email).
	Attributes   map[string]string
	UIDAttribute string
	ClockDrift   int32 // seconds; 0 for the library's default
}

// SAMLAttributeStatements are the keys of SAML.Attributes.
var SAMLAttributeStatements = []string{"uid", "email", "full_name", "first_name", "last_name", "verified", "verified_email"}

// CAS is a CAS server (CAS_*).
type CAS struct {
	DisplayName    string
	URL            string
	Host           string
	Port           int32
	SSL            *bool
	ValidateURL    string
	CallbackURL    string
	LogoutURL      string
	LoginURL       string
	UIDField       string
	CAPath         string // a directory in web's Pods (mounted with web.pod.volumes)
	NoVerify       bool   // CAS_DISABLE_SSL_VERIFICATION
	AssumeVerified bool
	// Keys are CAS_<KEY>_KEY by key (uid, name, email, nickname,
	// first_name, last_name, location, image, phone).
	Keys map[string]string
}

// CASKeys are the keys of CAS.Keys.
var CASKeys = []string{"uid", "name", "email", "nickname", "first_name", "last_name", "location", "image", "phone"}

// LDAP is a directory the password form checks (LDAP_*).
type LDAP struct {
	Host         string
	Port         int32  // default 636 with simple_tls, else 389
	Method       string // simple_tls (default), start_tls or plain
	NoVerify     bool   // LDAP_TLS_NO_VERIFY
	Base         string
	BindDN       string
	Password     string
	PasswordRef  *SecretRef `json:",omitempty"`
	UID          string
	Mail         string
	SearchFilter string
	// UIDConversion, when set, replaces in usernames the characters of
	// Search (default ".,- ") by Replace (default "_").
	UIDConversion *LDAPUIDConversion
}

// LDAPUIDConversion is LDAP_UID_CONVERSION_*.
type LDAPUIDConversion struct{ Search, Replace string }

// LDAPMethods are LDAP_METHOD's values: Mastodon encrypts with simple_tls
// or start_tls and not at all with anything else.
var LDAPMethods = []string{"simple_tls", "start_tls", "plain"}

// Secret keys of single sign-on.
const (
	EnvOIDCClientSecret = "OIDC_CLIENT_SECRET"
	EnvSAMLPrivateKey   = "SAML_PRIVATE_KEY"
	EnvLDAPPassword     = "LDAP_PASSWORD"
)

// CallbackPath is the path OmniAuth's provider returns to: Devise's routes
// are under /auth (config/routes.rb: devise_for :users, path: 'auth'),
// and OmniAuth's under the routes' /auth.
func CallbackPath(provider string) string { return "/auth/auth/" + provider + "/callback" }

// ssoRef is a credential of single sign-on given by reference.
type ssoRef struct {
	env, path string
	ref       *SecretRef
}

// ssoRefs are single sign-on's credentials given by reference (nil refs
// included: the callers skip them).
func (s *Spec) ssoRefs() []ssoRef {
	o := s.SSO
	if o == nil {
		return nil
	}
	var out []ssoRef
	if c := o.OIDC; c != nil {
		out = append(out, ssoRef{EnvOIDCClientSecret, "sso.oidc.client_secret_secret_ref", c.ClientSecretRef})
	}
	if m := o.SAML; m != nil {
		out = append(out, ssoRef{EnvSAMLPrivateKey, "sso.saml.private_key_secret_ref", m.PrivateKeyRef})
	}
	if l := o.LDAP; l != nil {
		out = append(out, ssoRef{EnvLDAPPassword, "sso.ldap.password_secret_ref", l.PasswordRef})
	}
	return out
}

// ssoFeature renders single sign-on (Spec.SSO).
type ssoFeature struct{ noFeature }

func (ssoFeature) defaults(s *Spec) {
	o := s.SSO
	if o == nil {
		return
	}
	if c := o.OIDC; c != nil {
		if c.Discovery == nil {
			on := true
			c.Discovery = &on
		}
		if len(c.Scope) == 0 {
			c.Scope = []string{"openid", "profile", "email"}
		}
	}
	if l := o.LDAP; l != nil {
		setDefault(&l.Method, "simple_tls")
		if l.Port == 0 {
			l.Port = 389
			if l.Method == "simple_tls" {
				l.Port = 636
			}
		}
	}
}

// setBool renders a boolean set by the user, leaving nil to Mastodon.
func setBool(env map[string]string, name string, v *bool) {
	if v != nil {
		env[name] = strconv.FormatBool(*v)
	}
}

// onlyTrue renders a boolean Mastodon reads as == 'true'.
func onlyTrue(env map[string]string, name string, v bool) {
	if v {
		env[name] = "true"
	}
}

func number(p int32) string {
	if p == 0 {
		return ""
	}
	return strconv.Itoa(int(p))
}

func (ssoFeature) env(s *Spec, plain, secret map[string]string) {
	o := s.SSO
	if o == nil {
		return
	}
	onlyTrue(plain, "OMNIAUTH_ONLY", o.OmniAuthOnly)
	onlyTrue(plain, "ONE_CLICK_SSO_LOGIN", o.OneClickLogin)
	onlyTrue(plain, "ALLOW_UNSAFE_AUTH_PROVIDER_REATTACH", o.UnsafeReattach)
	setNonEmpty(plain, map[string]string{"SSO_ACCOUNT_SETTINGS": o.AccountSettingsURL, "SSO_ACCOUNT_SIGN_UP": o.SignUpURL})
	if c := o.OIDC; c != nil {
		plain["OIDC_ENABLED"] = "true"
		plain["OIDC_REDIRECT_URI"] = s.URL() + CallbackPath("openid_connect")
		plain["OIDC_SCOPE"] = strings.Join(c.Scope, ",")
		setNonEmpty(plain, map[string]string{"OIDC_DISPLAY_NAME": c.DisplayName, "OIDC_ISSUER": c.Issuer, "OIDC_CLIENT_ID": c.ClientID,
			"OIDC_CLIENT_AUTH_METHOD": c.ClientAuthMethod, "OIDC_RESPONSE_TYPE": c.ResponseType, "OIDC_RESPONSE_MODE": c.ResponseMode,
			"OIDC_DISPLAY": c.Display, "OIDC_PROMPT": c.Prompt, "OIDC_IDP_LOGOUT_REDIRECT_URI": c.LogoutRedirect, "OIDC_UID_FIELD": c.UIDField,
			"OIDC_HTTP_SCHEME": c.HTTPScheme, "OIDC_HOST": c.Host, "OIDC_PORT": number(c.Port), "OIDC_AUTH_ENDPOINT": c.AuthEndpoint,
			"OIDC_TOKEN_ENDPOINT": c.TokenEndpoint, "OIDC_USER_INFO_ENDPOINT": c.UserInfoEndpoint, "OIDC_JWKS_URI": c.JWKSURI,
			"OIDC_END_SESSION_ENDPOINT": c.EndSession})
		setBool(plain, "OIDC_DISCOVERY", c.Discovery)
		setBool(plain, "OIDC_USE_PKCE", c.UsePKCE)
		setBool(plain, "OIDC_SEND_NONCE", c.SendNonce)
		setBool(plain, "OIDC_SEND_SCOPE_TO_TOKEN_ENDPOINT", c.SendScopeToToken)
		onlyTrue(plain, "OIDC_SECURITY_ASSUME_EMAIL_IS_VERIFIED", c.AssumeVerified)
		if c.ClientSecret != "" {
			secret[EnvOIDCClientSecret] = c.ClientSecret
		}
	}
	if m := o.SAML; m != nil {
		plain["SAML_ENABLED"] = "true"
		plain["SAML_ACS_URL"] = s.URL() + CallbackPath("saml")
		setNonEmpty(plain, map[string]string{"SAML_DISPLAY_NAME": m.DisplayName, "SAML_IDP_SSO_TARGET_URL": m.IdPSSOTargetURL,
			"SAML_IDP_CERT": m.IdPCert, "SAML_IDP_CERT_FINGERPRINT": m.IdPCertFingerprint, "SAML_NAME_IDENTIFIER_FORMAT": m.NameIdentifierFormat,
			"SAML_ISSUER": m.Issuer, "SAML_CERT": m.Certificate, "SAML_UID_ATTRIBUTE": m.UIDAttribute, "SAML_ALLOWED_CLOCK_DRIFT": number(m.ClockDrift)})
		onlyTrue(plain, "SAML_SECURITY_WANT_ASSERTION_SIGNED", m.WantSigned)
		onlyTrue(plain, "SAML_SECURITY_WANT_ASSERTION_ENCRYPTED", m.WantEncrypted)
		onlyTrue(plain, "SAML_SECURITY_ASSUME_EMAIL_IS_VERIFIED", m.AssumeVerified)
		for k, v := range m.Attributes {
			if v != "" {
				plain["SAML_ATTRIBUTES_STATEMENTS_"+strings.ToUpper(k)] = v
			}
		}
		if m.PrivateKey != "" {
			secret[EnvSAMLPrivateKey] = m.PrivateKey
		}
	}
	if c := o.CAS; c != nil {
		plain["CAS_ENABLED"] = "true"
		setNonEmpty(plain, map[string]string{"CAS_DISPLAY_NAME": c.DisplayName, "CAS_URL": c.URL, "CAS_HOST": c.Host, "CAS_PORT": number(c.Port),
			"CAS_VALIDATE_URL": c.ValidateURL, "CAS_CALLBACK_URL": c.CallbackURL, "CAS_LOGOUT_URL": c.LogoutURL, "CAS_LOGIN_URL": c.LoginURL,
			"CAS_UID_FIELD": c.UIDField, "CAS_CA_PATH": c.CAPath})
		setBool(plain, "CAS_SSL", c.SSL)
		onlyTrue(plain, "CAS_DISABLE_SSL_VERIFICATION", c.NoVerify)
		onlyTrue(plain, "CAS_SECURITY_ASSUME_EMAIL_IS_VERIFIED", c.AssumeVerified)
		for k, v := range c.Keys {
			if v != "" {
				plain["CAS_"+strings.ToUpper(k)+"_KEY"] = v
			}
		}
	}
	if l := o.LDAP; l != nil {
		plain["LDAP_ENABLED"] = "true"
		setNonEmpty(plain, map[string]string{"LDAP_HOST": l.Host, "LDAP_PORT": number(l.Port), "LDAP_METHOD": l.Method, "LDAP_BASE": l.Base,
			"LDAP_BIND_DN": l.BindDN, "LDAP_UID": l.UID, "LDAP_MAIL": l.Mail, "LDAP_SEARCH_FILTER": l.SearchFilter})
		onlyTrue(plain, "LDAP_TLS_NO_VERIFY", l.NoVerify)
		if u := l.UIDConversion; u != nil {
			plain["LDAP_UID_CONVERSION_ENABLED"] = "true"
			setNonEmpty(plain, map[string]string{"LDAP_UID_CONVERSION_SEARCH": u.Search, "LDAP_UID_CONVERSION_REPLACE": u.Replace})
		}
		if l.Password != "" {
			secret[EnvLDAPPassword] = l.Password
		}
	}
}

// ssoEnv says whether a variable is single sign-on's (refuseExtra).
func ssoEnv(k string) bool {
	for _, p := range []string{"OIDC_", "SAML_", "CAS_", "LDAP_", "SSO_ACCOUNT_"} {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return oneOf(k, []string{"OMNIAUTH_ONLY", "ONE_CLICK_SSO_LOGIN", "ALLOW_UNSAFE_AUTH_PROVIDER_REATTACH"})
}

func (ssoFeature) validate(s *Spec, e *fieldErrors) {
	o := s.SSO
	if o == nil {
		return
	}
	add := e.add
	s.refuseExtra("sso", ssoEnv, e)
	protocols := []string{"sso.oidc", "sso.saml", "sso.cas", "sso.ldap"}
	var omniauth []string
	for i, on := range []bool{o.OIDC != nil, o.SAML != nil, o.CAS != nil} {
		if on {
			omniauth = append(omniauth, protocols[i])
		}
	}
	switch {
	case len(omniauth) == 0 && o.LDAP == nil:
		add("sso", "needs at least one of sso.oidc, sso.saml, sso.cas and sso.ldap")
		e.related(protocols...)
	case o.OmniAuthOnly && len(omniauth) == 0:
		// app/views/auth/sessions/new.html.haml: the password form (which
		// LDAP uses) is hidden, and no provider's button is shown.
		add("sso.omniauth_only", "hides the password form, which LDAP signs in through: with none of sso.oidc, sso.saml and sso.cas nobody could sign in")
		e.related(protocols...)
	}
	if o.OneClickLogin {
		// Mastodon ignores ONE_CLICK_SSO_LOGIN unless OMNIAUTH_ONLY is on
		// and there is exactly one OmniAuth provider
		// (app/controllers/concerns/web_app_controller_concern.rb,
		// app/serializers/initial_state_serializer.rb).
		switch {
		case !o.OmniAuthOnly:
			add("sso.one_click_login", "needs sso.omniauth_only: Mastodon ignores one-click login otherwise")
			e.related("sso.omniauth_only")
		case len(omniauth) > 1:
			add("sso.one_click_login", "needs exactly one of sso.oidc, sso.saml and sso.cas, not %s: Mastodon ignores one-click login otherwise", strings.Join(omniauth, " and "))
			e.related(protocols...)
		}
	}
	if c := o.OIDC; c != nil && c.Discovery != nil && !*c.Discovery {
		for _, ep := range []struct{ attr, v string }{{"authorization_endpoint", c.AuthEndpoint}, {"token_endpoint", c.TokenEndpoint},
			{"userinfo_endpoint", c.UserInfoEndpoint}, {"jwks_uri", c.JWKSURI}} {
			if ep.v == "" {
				add("sso.oidc."+ep.attr, "must be set when sso.oidc.discovery is false: the provider's endpoints are not discovered")
				e.related("sso.oidc.discovery")
			}
		}
	}
	if m := o.SAML; m != nil {
		switch {
		case m.IdPCert == "" && m.IdPCertFingerprint == "":
			// ruby-saml refuses every response it cannot check the signature of.
			add("sso.saml.idp_cert", "or sso.saml.idp_cert_fingerprint must be set: Mastodon checks the identity provider's signature with one of them")
			e.related("sso.saml.idp_cert_fingerprint")
		case m.IdPCert != "" && m.IdPCertFingerprint != "":
			add("sso.saml.idp_cert", "conflicts with sso.saml.idp_cert_fingerprint: give one of them")
			e.related("sso.saml.idp_cert_fingerprint")
		}
		hasKey := m.PrivateKey != "" || m.PrivateKeyRef != nil
		switch {
		case (m.Certificate != "") != hasKey:
			add("sso.saml.certificate", "and sso.saml.private_key must be given together")
			e.related("sso.saml.private_key", "sso.saml.private_key_wo", "sso.saml.private_key_secret_ref")
		case m.Certificate != "" && m.PrivateKey != "":
			if _, err := tls.X509KeyPair([]byte(m.Certificate), []byte(m.PrivateKey)); err != nil {
				add("sso.saml.certificate", "and sso.saml.private_key do not parse as a matching PEM certificate and key: %v", err)
				e.related("sso.saml.private_key", "sso.saml.private_key_wo")
			}
		}
		if m.WantEncrypted && !hasKey {
			add("sso.saml.want_assertions_encrypted", "needs sso.saml.certificate and sso.saml.private_key: encrypted assertions are decrypted with the key")
			e.related("sso.saml.certificate", "sso.saml.private_key", "sso.saml.private_key_wo", "sso.saml.private_key_secret_ref")
		}
	}
	if c := o.CAS; c != nil && c.URL == "" && c.Host == "" {
		add("sso.cas.url", "or sso.cas.host must be set")
		e.related("sso.cas.host")
	}
	if l := o.LDAP; l != nil && l.Password == "" && l.PasswordRef == nil {
		// config/initializers/devise.rb: ENV.fetch('LDAP_PASSWORD') fails the boot without it.
		add("sso.ldap.password", "must be set (or sso.ldap.password_wo, or sso.ldap.password_secret_ref): Mastodon does not start without LDAP_PASSWORD")
		e.related("sso.ldap.password_wo", "sso.ldap.password_secret_ref")
	}
}

func (ssoFeature) warnings(s *Spec) []FieldError {
	if o := s.SSO; o != nil && o.LDAP != nil && o.OmniAuthOnly && (o.OIDC != nil || o.SAML != nil || o.CAS != nil) {
		return []FieldError{{Path: "sso.ldap", Message: "is not used on the web: sso.omniauth_only hides the password form that LDAP signs in through"}}
	}
	return nil
}

// CheckHTTPURL checks an http or https URL.
func CheckHTTPURL(v string) error {
	if u, err := url.Parse(v); v != "" && (err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https")) {
		return fmt.Errorf("%q must be an http or https URL", v)
	}
	return nil
}

// CheckOIDCScope checks one of sso.oidc.scope's elements: Mastodon joins
// them with commas and splits OIDC_SCOPE on them.
func CheckOIDCScope(v string) error {
	if v == "" || strings.ContainsAny(v, ", \t\n") {
		return fmt.Errorf("%q is not a scope (one word, no comma)", v)
	}
	return nil
}

// CheckLDAPMethod checks sso.ldap.method.
func CheckLDAPMethod(v string) error { return checkOneOf(v, LDAPMethods) }

// ldapReference is a reference of Ruby's format with a hash: %<name>
// followed by a conversion, or %{name}; %% is a percent sign.
var ldapReference = regexp.MustCompile(`%(%|\{(\w+)\}|<(\w+)>[-+ 0#]*[0-9]*(\.[0-9]+)?[a-zA-Z])`)

// CheckLDAPSearchFilter checks sso.ldap.search_filter: Mastodon passes it
// to Ruby's format with uid, mail and email (user/ldap_authenticable.rb),
// which raises on any other reference and on a lone %.
func CheckLDAPSearchFilter(v string) error {
	var unknown []string
	rest := ldapReference.ReplaceAllStringFunc(v, func(ref string) string {
		m := ldapReference.FindStringSubmatch(ref)
		if name := m[2] + m[3]; name != "" && !oneOf(name, []string{"uid", "mail", "email"}) {
			unknown = append(unknown, name)
		}
		return ""
	})
	if len(unknown) > 0 {
		return fmt.Errorf("refers to %q: only %%<uid>s, %%<mail>s and %%<email>s (or %%{uid}, %%{mail}, %%{email}) are given", unknown[0])
	}
	if strings.Contains(rest, "%") {
		return fmt.Errorf("has a %% that is not a reference: write %%%% for a percent sign, %%<email>s for the address typed in")
	}
	return nil
}

// CheckAbsolutePath checks a path in the Pods.
func CheckAbsolutePath(v string) error {
	if v != "" && (!path.IsAbs(v) || path.Clean(v) != v) {
		return fmt.Errorf("%q must be a clean absolute path", v)
	}
	return nil
}
