package mastodon

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
)

// ssoSpec is an instance with a separate web domain and sso.
func ssoSpec(o *SSO) *Spec {
	s := &Spec{Name: "social", Namespace: "mastodon", LocalDomain: "social.example", WebDomain: "www.social.example",
		WebReplicas: 1, StreamReplicas: 1, SSO: o}
	s.Defaults()
	return s
}

// everySSO has every protocol on, each with its optional settings.
func everySSO(t *testing.T) *SSO {
	cert, key := fixedCertificate(t)
	no, yes := false, true
	return &SSO{
		AccountSettingsURL: "https://id.example.org/account", SignUpURL: "https://id.example.org/register", UnsafeReattach: true,
		OIDC: &OIDC{DisplayName: "Example ID", Issuer: "https://id.example.org/realms/social", ClientID: "mastodon", ClientSecret: "oidc-secret",
			UsePKCE: &yes, SendNonce: &no, UIDField: "preferred_username", EndSession: "https://id.example.org/logout", AssumeVerified: true},
		SAML: &SAML{DisplayName: "Example SAML", IdPSSOTargetURL: "https://saml.example.org/sso", IdPCert: cert, Issuer: "https://www.social.example",
			Certificate: cert, PrivateKey: key, WantSigned: true, WantEncrypted: true,
			Attributes: map[string]string{"uid": "urn:oid:0.9.2342.19200300.100.1.1", "email": "urn:oid:0.9.2342.19200300.100.1.3"}, ClockDrift: 5},
		CAS: &CAS{DisplayName: "Example CAS", URL: "https://cas.example.org/cas", SSL: &yes, CAPath: "/etc/cas-ca",
			Keys: map[string]string{"uid": "uid", "email": "mail"}},
		LDAP: &LDAP{Host: "ldap.example.org", Base: "ou=people,dc=example,dc=org", BindDN: "cn=mastodon,dc=example,dc=org", Password: "ldap-secret",
			UID: "uid", SearchFilter: "(&(objectClass=person)(%<mail>s=%<email>s))", UIDConversion: &LDAPUIDConversion{}},
	}
}

// Every protocol on: the ConfigMap and the Secret.
func TestRenderSSO(t *testing.T) {
	s := ssoSpec(everySSO(t))
	if errs := s.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	var env []Object
	for _, o := range s.Render(fixedSecrets, "") {
		if o.Name == s.ConfigMapName() || o.Name == s.SecretName() {
			env = append(env, o)
		}
	}
	golden(t, "sso.yaml", renderYAML(t, env))
}

// Credentials by reference reach the containers by secretKeyRef and leave
// the instance's Secret.
func TestSSOSecretRefs(t *testing.T) {
	o := everySSO(t)
	o.OIDC.ClientSecret, o.OIDC.ClientSecretRef = "", &SecretRef{Name: "idp", Key: "oidc"}
	o.SAML.PrivateKey, o.SAML.PrivateKeyRef = "", &SecretRef{Name: "idp", Key: "saml-key"}
	o.LDAP.Password, o.LDAP.PasswordRef = "", &SecretRef{Name: "idp", Key: "ldap"}
	s := ssoSpec(o)
	if errs := s.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	var paths []string
	for _, r := range s.SecretRefs() {
		paths = append(paths, r.Path)
	}
	if got := strings.Join(paths, " "); got != "sso.oidc.client_secret_secret_ref sso.saml.private_key_secret_ref sso.ldap.password_secret_ref" {
		t.Errorf("SecretRefs: %s", got)
	}
	_, secret := s.Environment(fixedSecrets)
	web := find[appsv1.Deployment](t, s.Render(fixedSecrets, ""), "Deployment", s.WebName())
	refs := map[string]string{}
	for _, e := range web.Spec.Template.Spec.Containers[0].Env {
		if e.ValueFrom != nil {
			refs[e.Name] = e.ValueFrom.SecretKeyRef.Name + "/" + e.ValueFrom.SecretKeyRef.Key
		}
	}
	for env, want := range map[string]string{EnvOIDCClientSecret: "idp/oidc", EnvSAMLPrivateKey: "idp/saml-key", EnvLDAPPassword: "idp/ldap"} {
		if _, held := secret[env]; held || refs[env] != want {
			t.Errorf("%s: in the Secret %v, by reference from %q, want %q", env, held, refs[env], want)
		}
	}
}

// What sso refuses, each naming its attribute; and what it does not.
func TestSSOValidate(t *testing.T) {
	oidc := func() *OIDC { return &OIDC{Issuer: "https://id.example.org", ClientID: "c"} }
	ldap := func() *LDAP { return &LDAP{Host: "ldap", Base: "dc=example", BindDN: "cn=m", Password: "p"} }
	saml := func() *SAML {
		return &SAML{IdPSSOTargetURL: "https://saml.example.org/sso", IdPCertFingerprint: "AB:CD"}
	}
	cert, key := fixedCertificate(t)
	off := false
	for _, tc := range []struct {
		name string
		sso  *SSO
		want string // path: message part; "" for none
	}{
		{"empty", &SSO{}, "sso: needs at least one of"},
		{"oidc", &SSO{OIDC: oidc()}, ""},
		{"omniauth only, ldap only", &SSO{LDAP: ldap(), OmniAuthOnly: true}, "sso.omniauth_only: hides the password form"},
		{"one click without omniauth only", &SSO{OIDC: oidc(), OneClickLogin: true}, "sso.one_click_login: needs sso.omniauth_only"},
		{"one click, two providers", &SSO{OIDC: oidc(), SAML: saml(), OmniAuthOnly: true, OneClickLogin: true},
			"sso.one_click_login: needs exactly one of sso.oidc, sso.saml and sso.cas, not sso.oidc and sso.saml"},
		{"one click, one provider and ldap", &SSO{OIDC: oidc(), LDAP: ldap(), OmniAuthOnly: true, OneClickLogin: true}, ""},
		{"no discovery", &SSO{OIDC: &OIDC{Issuer: "https://id.example.org", ClientID: "c", Discovery: &off, AuthEndpoint: "/auth"}},
			"sso.oidc.token_endpoint: must be set when sso.oidc.discovery is false"},
		{"saml without the idp's certificate", &SSO{SAML: &SAML{IdPSSOTargetURL: "https://saml.example.org/sso"}}, "sso.saml.idp_cert: or sso.saml.idp_cert_fingerprint must be set"},
		{"saml, certificate without key", &SSO{SAML: &SAML{IdPSSOTargetURL: "https://x.example/sso", IdPCert: cert, Certificate: cert}},
			"sso.saml.certificate: and sso.saml.private_key must be given together"},
		{"saml, encrypted without key", &SSO{SAML: &SAML{IdPSSOTargetURL: "https://x.example/sso", IdPCert: cert, WantEncrypted: true}},
			"sso.saml.want_assertions_encrypted: needs sso.saml.certificate"},
		{"saml, key by reference", &SSO{SAML: &SAML{IdPSSOTargetURL: "https://x.example/sso", IdPCert: cert, Certificate: cert,
			PrivateKeyRef: &SecretRef{Name: "a", Key: "b"}, WantEncrypted: true}}, ""},
		{"saml, key and certificate apart", &SSO{SAML: &SAML{IdPSSOTargetURL: "https://x.example/sso", IdPCert: cert, Certificate: cert, PrivateKey: strings.Replace(key, "A", "B", 3)}},
			"sso.saml.certificate: and sso.saml.private_key do not parse"},
		{"cas without server", &SSO{CAS: &CAS{SSL: &off}}, "sso.cas.url: or sso.cas.host must be set"},
		{"ldap without password", &SSO{LDAP: &LDAP{Host: "ldap", Base: "dc=example", BindDN: "cn=m"}}, "sso.ldap.password: must be set"},
		{"extra env", &SSO{OIDC: oidc()}, `settings.extra_env: "OIDC_SCOPE" is set by sso`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := ssoSpec(tc.sso)
			if tc.name == "extra env" {
				s.Settings.ExtraEnv = map[string]string{"OIDC_SCOPE": "openid"}
			}
			var got []string
			for _, e := range s.Validate() {
				got = append(got, e.Path+": "+e.Message)
			}
			if tc.want == "" && len(got) > 0 || tc.want != "" && (len(got) == 0 || !strings.HasPrefix(got[0], tc.want)) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	// Without sso, the variables are free-form settings.
	s := ssoSpec(nil)
	s.Settings.ExtraEnv = map[string]string{"OIDC_ENABLED": "true"}
	if errs := s.Validate(); len(errs) > 0 {
		t.Errorf("without sso: %v", errs)
	}
	// LDAP beside an OmniAuth provider under omniauth_only is a warning.
	if w := ssoSpec(&SSO{OIDC: oidc(), LDAP: ldap(), OmniAuthOnly: true}).Warnings(); len(w) != 1 || w[0].Path != "sso.ldap" {
		t.Errorf("warnings %v", w)
	}
}

func TestCheckLDAPSearchFilter(t *testing.T) {
	for v, ok := range map[string]bool{
		"": true, "(|(%<uid>s=%<email>s)(%<mail>s=%<email>s))": true, "(|(%{uid}=%{email})(%{mail}=%{email}))": true,
		"(&(objectClass=person)(uid=%<email>s)(cn=100%%))": true, "(uid=%<username>s)": false, "(uid=%s)": false, "(cn=100%)": false,
	} {
		if err := CheckLDAPSearchFilter(v); (err == nil) != ok {
			t.Errorf("%q: %v", v, err)
		}
	}
}
