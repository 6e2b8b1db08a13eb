package provider

import (
	"context"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/mapvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

// ssoModel is single sign-on.
type ssoModel struct {
	OIDC               *oidcModel   `tfsdk:"oidc"`
	SAML               *samlModel   `tfsdk:"saml"`
	CAS                *casModel    `tfsdk:"cas"`
	LDAP               *ldapModel   `tfsdk:"ldap"`
	OmniAuthOnly       types.Bool   `tfsdk:"omniauth_only"`
	OneClickLogin      types.Bool   `tfsdk:"one_click_login"`
	AccountSettingsURL types.String `tfsdk:"account_settings_url"`
	SignUpURL          types.String `tfsdk:"sign_up_url"`
	UnsafeReattach     types.Bool   `tfsdk:"allow_unsafe_provider_reattach"`
}

type oidcModel struct {
	DisplayName           types.String    `tfsdk:"display_name"`
	Issuer                types.String    `tfsdk:"issuer"`
	Discovery             types.Bool      `tfsdk:"discovery"`
	ClientID              types.String    `tfsdk:"client_id"`
	ClientSecret          types.String    `tfsdk:"client_secret"`
	ClientSecretWO        types.String    `tfsdk:"client_secret_wo"`
	ClientSecretWOVersion types.Int64     `tfsdk:"client_secret_wo_version"`
	ClientSecretRef       *secretRefModel `tfsdk:"client_secret_secret_ref"`
	ClientAuthMethod      types.String    `tfsdk:"client_auth_method"`
	Scope                 types.List      `tfsdk:"scope"`
	ResponseType          types.String    `tfsdk:"response_type"`
	ResponseMode          types.String    `tfsdk:"response_mode"`
	Display               types.String    `tfsdk:"display"`
	Prompt                types.String    `tfsdk:"prompt"`
	UsePKCE               types.Bool      `tfsdk:"use_pkce"`
	SendNonce             types.Bool      `tfsdk:"send_nonce"`
	SendScopeToToken      types.Bool      `tfsdk:"send_scope_to_token_endpoint"`
	LogoutRedirect        types.String    `tfsdk:"idp_logout_redirect_uri"`
	UIDField              types.String    `tfsdk:"uid_field"`
	HTTPScheme            types.String    `tfsdk:"http_scheme"`
	Host                  types.String    `tfsdk:"host"`
	Port                  types.Int64     `tfsdk:"port"`
	AuthEndpoint          types.String    `tfsdk:"authorization_endpoint"`
	TokenEndpoint         types.String    `tfsdk:"token_endpoint"`
	UserInfoEndpoint      types.String    `tfsdk:"userinfo_endpoint"`
	JWKSURI               types.String    `tfsdk:"jwks_uri"`
	EndSession            types.String    `tfsdk:"end_session_endpoint"`
	AssumeEmailVerified   types.Bool      `tfsdk:"assume_email_is_verified"`
}

type samlModel struct {
	DisplayName          types.String    `tfsdk:"display_name"`
	IdPSSOTargetURL      types.String    `tfsdk:"idp_sso_target_url"`
	IdPCert              types.String    `tfsdk:"idp_cert"`
	IdPCertFingerprint   types.String    `tfsdk:"idp_cert_fingerprint"`
	NameIdentifierFormat types.String    `tfsdk:"name_identifier_format"`
	Issuer               types.String    `tfsdk:"issuer"`
	Certificate          types.String    `tfsdk:"certificate"`
	PrivateKey           types.String    `tfsdk:"private_key"`
	PrivateKeyWO         types.String    `tfsdk:"private_key_wo"`
	PrivateKeyWOVersion  types.Int64     `tfsdk:"private_key_wo_version"`
	PrivateKeyRef        *secretRefModel `tfsdk:"private_key_secret_ref"`
	WantSigned           types.Bool      `tfsdk:"want_assertions_signed"`
	WantEncrypted        types.Bool      `tfsdk:"want_assertions_encrypted"`
	AssumeEmailVerified  types.Bool      `tfsdk:"assume_email_is_verified"`
	Attributes           types.Map       `tfsdk:"attribute_statements"`
	UIDAttribute         types.String    `tfsdk:"uid_attribute"`
	ClockDrift           types.Int64     `tfsdk:"allowed_clock_drift"`
}

type casModel struct {
	DisplayName            types.String `tfsdk:"display_name"`
	URL                    types.String `tfsdk:"url"`
	Host                   types.String `tfsdk:"host"`
	Port                   types.Int64  `tfsdk:"port"`
	SSL                    types.Bool   `tfsdk:"ssl"`
	ValidateURL            types.String `tfsdk:"validate_url"`
	CallbackURL            types.String `tfsdk:"callback_url"`
	LogoutURL              types.String `tfsdk:"logout_url"`
	LoginURL               types.String `tfsdk:"login_url"`
	UIDField               types.String `tfsdk:"uid_field"`
	CAPath                 types.String `tfsdk:"ca_path"`
	DisableSSLVerification types.Bool   `tfsdk:"disable_ssl_verification"`
	AssumeEmailVerified    types.Bool   `tfsdk:"assume_email_is_verified"`
	Keys                   types.Map    `tfsdk:"keys"`
}

type ldapModel struct {
	Host          types.String            `tfsdk:"host"`
	Port          types.Int64             `tfsdk:"port"`
	Method        types.String            `tfsdk:"method"`
	TLSNoVerify   types.Bool              `tfsdk:"tls_no_verify"`
	Base          types.String            `tfsdk:"base"`
	BindDN        types.String            `tfsdk:"bind_dn"`
	Password      types.String            `tfsdk:"password"`
	UID           types.String            `tfsdk:"uid"`
	Mail          types.String            `tfsdk:"mail"`
	SearchFilter  types.String            `tfsdk:"search_filter"`
	UIDConversion *ldapUIDConversionModel `tfsdk:"uid_conversion"`
	writeOnlyPassword
}

type ldapUIDConversionModel struct {
	Search  types.String `tfsdk:"search"`
	Replace types.String `tfsdk:"replace"`
}

var (
	oidcClientSecret = credential{block: "sso.oidc", name: "client_secret", what: "Client secret",
		doc: "The client's secret (`OIDC_CLIENT_SECRET`, in the instance's Secret only). Conflicts with `client_secret_wo`.",
		key: mastodon.EnvOIDCClientSecret, set: func(s *mastodon.Spec, v string) { s.SSO.OIDC.ClientSecret = v },
		setRef: func(s *mastodon.Spec, r *mastodon.SecretRef) { s.SSO.OIDC.ClientSecretRef = r }}
	samlPrivateKey = credential{block: "sso.saml", name: "private_key", what: "Private key (PEM)",
		doc: "The service provider's private key, PEM, with `certificate` (`SAML_PRIVATE_KEY`, in the instance's Secret only): signs requests " +
			"and decrypts encrypted assertions. Conflicts with `private_key_wo`.",
		key: mastodon.EnvSAMLPrivateKey, set: func(s *mastodon.Spec, v string) { s.SSO.SAML.PrivateKey = v },
		setRef: func(s *mastodon.Spec, r *mastodon.SecretRef) { s.SSO.SAML.PrivateKeyRef = r }}
	ldapPassword = credential{block: "sso.ldap", name: "password", what: "Bind password",
		doc: "The bind DN's password (`LDAP_PASSWORD`, in the instance's Secret only); one of `password`, `password_wo` and `password_secret_ref` is required. " +
			"Conflicts with `password_wo`.",
		key: mastodon.EnvLDAPPassword, set: func(s *mastodon.Spec, v string) { s.SSO.LDAP.Password = v },
		setRef: func(s *mastodon.Spec, r *mastodon.SecretRef) { s.SSO.LDAP.PasswordRef = r }}
)

// The checks of sso's attributes.
var (
	checkHTTPURL      = stringCheck{described: "an http or https URL", check: mastodon.CheckHTTPURL}
	checkOIDCScope    = stringCheck{described: "a scope", check: mastodon.CheckOIDCScope}
	checkLDAPMethod   = stringCheck{described: "simple_tls, start_tls or plain", check: mastodon.CheckLDAPMethod}
	checkLDAPFilter   = stringCheck{described: "a search filter with %<uid>s, %<mail>s and %<email>s", check: mastodon.CheckLDAPSearchFilter}
	checkAbsolutePath = stringCheck{described: "an absolute path", check: mastodon.CheckAbsolutePath}
	checkPEM          = stringCheck{described: "a PEM certificate", check: mastodon.CheckCertificatePEM}
)

func ssoAttributes(in nested) map[string]schema.Attribute {
	url := func(d string) schema.StringAttribute { return checkHTTPURL.on(optString(d)) }
	keysOf := func(keys []string, d string) schema.MapAttribute {
		return schema.MapAttribute{Optional: true, ElementType: types.StringType, Description: d,
			Validators: []validator.Map{mapvalidator.KeysAre(stringvalidator.OneOf(keys...))}}
	}
	return map[string]schema.Attribute{"sso": optionalBlock(in, "sso",
		"Single sign-on: OpenID Connect (`oidc`), SAML (`saml`) and CAS (`cas`), which add a button to the sign-in page (OmniAuth), and LDAP (`ldap`), "+
			"which checks the sign-in form's email and password against a directory; at least one of them. Changing any of it rolls web, streaming and Sidekiq. "+
			"The provider redirects back to `https://<web_domain>/auth/auth/<openid_connect|saml|cas>/callback`.",
		map[string]schema.Attribute{
			"omniauth_only": optBool("`OMNIAUTH_ONLY`: hide the password form and close sign-ups, so that accounts come from `oidc`, `saml` or `cas` only " +
				"(one of them is required: LDAP signs in through the hidden form). A `mastodon_admin_user`'s password then has no form to be typed into: " +
				"its account signs in through the provider once linked to it (see `allow_unsafe_provider_reattach`)."),
			"one_click_login": optBool("`ONE_CLICK_SSO_LOGIN`: the sign-in button goes straight to the provider. Mastodon honours it only with `omniauth_only` " +
				"and exactly one of `oidc`, `saml` and `cas`, so anything else is refused."),
			"account_settings_url": url("`SSO_ACCOUNT_SETTINGS`: where users change their account (shown instead of the password settings with `omniauth_only`)."),
			"sign_up_url":          url("`SSO_ACCOUNT_SIGN_UP`: where the sign-up button leads."),
			"allow_unsafe_provider_reattach": optBool("`ALLOW_UNSAFE_AUTH_PROVIDER_REATTACH`: a provider's identity whose email is verified signs in to the existing account " +
				"of that email. Any provider that verifies emails carelessly then puts every account at risk."),
			"oidc": optionalBlock(in, "sso.oidc", "An OpenID Connect provider (`OIDC_ENABLED`). `OIDC_REDIRECT_URI` is "+
				"`https://<web_domain>/auth/auth/openid_connect/callback`: register it at the provider.", map[string]schema.Attribute{
				"display_name": optString("`OIDC_DISPLAY_NAME`: the button's label."),
				"issuer":       checkHTTPURL.on(schema.StringAttribute{Required: true, Description: "`OIDC_ISSUER`: the issuer's URL."}),
				"discovery": optBool("`OIDC_DISCOVERY`: read the endpoints from the issuer's `/.well-known/openid-configuration` (default `true`; with `false`, " +
					"`authorization_endpoint`, `token_endpoint`, `userinfo_endpoint` and `jwks_uri` are required)."),
				"client_id":          schema.StringAttribute{Required: true, Description: "`OIDC_CLIENT_ID`: the client's identifier."},
				"client_auth_method": optString("`OIDC_CLIENT_AUTH_METHOD`: how the client authenticates at the token endpoint (the library's default `basic`)."),
				"scope": schema.ListAttribute{Optional: true, ElementType: types.StringType,
					Validators:  []validator.List{listvalidator.SizeAtLeast(1), listvalidator.ValueStringsAre(checkOIDCScope)},
					Description: "`OIDC_SCOPE`: the scopes asked for (default `[\"openid\", \"profile\", \"email\"]`)."},
				"response_type":                optString("`OIDC_RESPONSE_TYPE` (the library's default `code`)."),
				"response_mode":                optString("`OIDC_RESPONSE_MODE`."),
				"display":                      optString("`OIDC_DISPLAY`."),
				"prompt":                       optString("`OIDC_PROMPT`."),
				"use_pkce":                     optBool("`OIDC_USE_PKCE`: Proof Key for Code Exchange (the library's default `false`)."),
				"send_nonce":                   optBool("`OIDC_SEND_NONCE` (the library's default `true`)."),
				"send_scope_to_token_endpoint": optBool("`OIDC_SEND_SCOPE_TO_TOKEN_ENDPOINT` (the library's default `true`)."),
				"idp_logout_redirect_uri":      url("`OIDC_IDP_LOGOUT_REDIRECT_URI`: where the provider sends users after signing out."),
				"uid_field":                    optString("`OIDC_UID_FIELD`: the claim that identifies a user (the library's default `sub`), such as `preferred_username`."),
				"http_scheme":                  optString("`OIDC_HTTP_SCHEME`: the scheme of the provider's endpoints when they are not URLs (the library's default `https`)."),
				"host":                         optString("`OIDC_HOST`: the provider's host, when its endpoints are paths."),
				"port":                         checkPort.on(optInt("`OIDC_PORT`: the provider's port, when its endpoints are paths.")),
				"authorization_endpoint":       optString("`OIDC_AUTH_ENDPOINT`."),
				"token_endpoint":               optString("`OIDC_TOKEN_ENDPOINT`."),
				"userinfo_endpoint":            optString("`OIDC_USER_INFO_ENDPOINT`."),
				"jwks_uri":                     optString("`OIDC_JWKS_URI`."),
				"end_session_endpoint":         optString("`OIDC_END_SESSION_ENDPOINT`: with `omniauth_only`, signing out of Mastodon signs out of the provider there."),
				"assume_email_is_verified":     optBool("`OIDC_SECURITY_ASSUME_EMAIL_IS_VERIFIED`: take the provider's emails as verified."),
			}),
			"saml": optionalBlock(in, "sso.saml", "A SAML identity provider (`SAML_ENABLED`). `SAML_ACS_URL` is "+
				"`https://<web_domain>/auth/auth/saml/callback`: register it at the provider.", map[string]schema.Attribute{
				"display_name":       optString("`SAML_DISPLAY_NAME`: the button's label."),
				"idp_sso_target_url": checkHTTPURL.on(schema.StringAttribute{Required: true, Description: "`SAML_IDP_SSO_TARGET_URL`: the provider's sign-in URL."}),
				"idp_cert":           checkPEM.on(optString("`SAML_IDP_CERT`: the provider's signing certificate, PEM. Give it or `idp_cert_fingerprint`.")),
				"idp_cert_fingerprint": optString("`SAML_IDP_CERT_FINGERPRINT`: the fingerprint of the provider's signing certificate " +
					"(SHA-1 unless the library is told otherwise), such as `AB:CD:...`. Give it or `idp_cert`."),
				"name_identifier_format":    optString("`SAML_NAME_IDENTIFIER_FORMAT`, such as `urn:oasis:names:tc:SAML:2.0:nameid-format:persistent`."),
				"issuer":                    optString("`SAML_ISSUER`: the instance's entity ID at the provider."),
				"certificate":               checkPEM.on(optString("`SAML_CERT`: the service provider's certificate, PEM, with `private_key`.")),
				"want_assertions_signed":    optBool("`SAML_SECURITY_WANT_ASSERTION_SIGNED`: refuse unsigned assertions."),
				"want_assertions_encrypted": optBool("`SAML_SECURITY_WANT_ASSERTION_ENCRYPTED`: refuse unencrypted assertions (needs `certificate` and `private_key`)."),
				"assume_email_is_verified":  optBool("`SAML_SECURITY_ASSUME_EMAIL_IS_VERIFIED`: take the provider's emails as verified."),
				"attribute_statements": keysOf(mastodon.SAMLAttributeStatements, "The attributes that carry each value: `SAML_ATTRIBUTES_STATEMENTS_<KEY>` "+
					"for the keys "+strings.Join(mastodon.SAMLAttributeStatements, ", ")+", such as `{ uid = \"urn:oid:0.9.2342.19200300.100.1.1\" }`."),
				"uid_attribute":       optString("`SAML_UID_ATTRIBUTE`: the attribute that identifies a user (default the name identifier)."),
				"allowed_clock_drift": checkNotNeg.on(optInt("`SAML_ALLOWED_CLOCK_DRIFT`: seconds of clock difference with the provider tolerated.")),
			}),
			"cas": optionalBlock(in, "sso.cas", "A CAS server (`CAS_ENABLED`); `url` or `host` is required.", map[string]schema.Attribute{
				"display_name": optString("`CAS_DISPLAY_NAME`: the button's label."),
				"url":          url("`CAS_URL`: the server's URL, such as `https://sso.example.org/cas`."),
				"host":         optString("`CAS_HOST`: the server's host, instead of `url`."),
				"port":         checkPort.on(optInt("`CAS_PORT`.")),
				"ssl":          optBool("`CAS_SSL`: reach the server over TLS."),
				"validate_url": optString("`CAS_VALIDATE_URL`: the ticket validation path (the library's default `/serviceValidate`)."),
				"callback_url": optString("`CAS_CALLBACK_URL`."),
				"logout_url":   optString("`CAS_LOGOUT_URL`."),
				"login_url":    optString("`CAS_LOGIN_URL` (the library's default `/login`)."),
				"uid_field":    optString("`CAS_UID_FIELD`."),
				"ca_path": checkAbsolutePath.on(optString("`CAS_CA_PATH`: a directory, in the Pods, of CA certificates in OpenSSL's hashed layout (`c_rehash`) that " +
					"the server's certificate is checked against. Mount it in web, which validates the tickets, with `web.pod.volumes` (a Secret or ConfigMap volume).")),
				"disable_ssl_verification": optBool("`CAS_DISABLE_SSL_VERIFICATION`: do not check the server's certificate."),
				"assume_email_is_verified": optBool("`CAS_SECURITY_ASSUME_EMAIL_IS_VERIFIED`: take the server's emails as verified."),
				"keys": keysOf(mastodon.CASKeys, "The attributes that carry each value: `CAS_<KEY>_KEY` for the keys "+strings.Join(mastodon.CASKeys, ", ")+
					" (Mastodon's defaults: uid `user`, first_name `firstname`, last_name `lastname`, the others their key)."),
			}),
			"ldap": optionalBlock(in, "sso.ldap", "An LDAP directory the password form checks (`LDAP_ENABLED`): an unknown email and password that bind "+
				"in the directory create the account.", map[string]schema.Attribute{
				"host":          schema.StringAttribute{Required: true, Description: "`LDAP_HOST`."},
				"port":          checkPort.on(optInt("`LDAP_PORT`: default 636 with `method` `simple_tls`, else 389 (Mastodon's own default is 389 whatever the method).")),
				"method":        checkLDAPMethod.on(optString("`LDAP_METHOD`: `simple_tls` (default, TLS from the start), `start_tls` or `plain` (no encryption).")),
				"tls_no_verify": optBool("`LDAP_TLS_NO_VERIFY`: do not check the server's certificate."),
				"base":          schema.StringAttribute{Required: true, Description: "`LDAP_BASE`: the search base, such as `ou=people,dc=example,dc=org`."},
				"bind_dn":       schema.StringAttribute{Required: true, Description: "`LDAP_BIND_DN`: the DN searched as."},
				"uid":           optString("`LDAP_UID`: the attribute that becomes the username (Mastodon's default `cn`)."),
				"mail":          optString("`LDAP_MAIL`: the email attribute (Mastodon's default `mail`)."),
				"search_filter": checkLDAPFilter.on(optString("`LDAP_SEARCH_FILTER`, a Ruby format with `%<uid>s`, `%<mail>s` and `%<email>s` " +
					"(Mastodon's default `(|(%<uid>s=%<email>s)(%<mail>s=%<email>s))`).")),
				"uid_conversion": schema.SingleNestedAttribute{Optional: true,
					Description: "`LDAP_UID_CONVERSION_ENABLED`: replace characters that usernames cannot hold.",
					Attributes: map[string]schema.Attribute{
						"search":  optString("`LDAP_UID_CONVERSION_SEARCH`: the characters replaced (Mastodon's default `.,- `)."),
						"replace": optString("`LDAP_UID_CONVERSION_REPLACE`: what replaces each (Mastodon's default `_`)."),
					}},
			}),
		})}
}

// boolPtr is a boolean that may be left to Mastodon: nil when null or not known yet.
func boolPtr(v types.Bool) *bool {
	if v.IsNull() || v.IsUnknown() {
		return nil
	}
	b := v.ValueBool()
	return &b
}

func ssoSpec(ctx context.Context, m *instanceModel, s *mastodon.Spec, diags *diag.Diagnostics) {
	o := m.SSO
	if o == nil {
		return
	}
	s.SSO = &mastodon.SSO{OmniAuthOnly: o.OmniAuthOnly.ValueBool(), OneClickLogin: o.OneClickLogin.ValueBool(),
		AccountSettingsURL: o.AccountSettingsURL.ValueString(), SignUpURL: o.SignUpURL.ValueString(), UnsafeReattach: o.UnsafeReattach.ValueBool()}
	if c := o.OIDC; c != nil {
		out := &mastodon.OIDC{DisplayName: c.DisplayName.ValueString(), Issuer: c.Issuer.ValueString(), Discovery: boolPtr(c.Discovery),
			ClientID: c.ClientID.ValueString(), ClientAuthMethod: c.ClientAuthMethod.ValueString(), ResponseType: c.ResponseType.ValueString(),
			ResponseMode: c.ResponseMode.ValueString(), Display: c.Display.ValueString(), Prompt: c.Prompt.ValueString(), UsePKCE: boolPtr(c.UsePKCE),
			SendNonce: boolPtr(c.SendNonce), SendScopeToToken: boolPtr(c.SendScopeToToken), LogoutRedirect: c.LogoutRedirect.ValueString(),
			UIDField: c.UIDField.ValueString(), HTTPScheme: c.HTTPScheme.ValueString(), Host: c.Host.ValueString(), Port: int32Or(c.Port, 0),
			AuthEndpoint: c.AuthEndpoint.ValueString(), TokenEndpoint: c.TokenEndpoint.ValueString(), UserInfoEndpoint: c.UserInfoEndpoint.ValueString(),
			JWKSURI: c.JWKSURI.ValueString(), EndSession: c.EndSession.ValueString(), AssumeVerified: c.AssumeEmailVerified.ValueBool()}
		if !c.Scope.IsNull() && !c.Scope.IsUnknown() {
			diags.Append(c.Scope.ElementsAs(ctx, &out.Scope, false)...)
		}
		s.SSO.OIDC = out
	}
	if c := o.SAML; c != nil {
		out := &mastodon.SAML{DisplayName: c.DisplayName.ValueString(), IdPSSOTargetURL: c.IdPSSOTargetURL.ValueString(), IdPCert: c.IdPCert.ValueString(),
			IdPCertFingerprint: c.IdPCertFingerprint.ValueString(), NameIdentifierFormat: c.NameIdentifierFormat.ValueString(), Issuer: c.Issuer.ValueString(),
			Certificate: c.Certificate.ValueString(), WantSigned: c.WantSigned.ValueBool(), WantEncrypted: c.WantEncrypted.ValueBool(),
			AssumeVerified: c.AssumeEmailVerified.ValueBool(), UIDAttribute: c.UIDAttribute.ValueString(), ClockDrift: int32Or(c.ClockDrift, 0)}
		if !c.Attributes.IsNull() && !c.Attributes.IsUnknown() {
			diags.Append(c.Attributes.ElementsAs(ctx, &out.Attributes, false)...)
		}
		s.SSO.SAML = out
	}
	if c := o.CAS; c != nil {
		out := &mastodon.CAS{DisplayName: c.DisplayName.ValueString(), URL: c.URL.ValueString(), Host: c.Host.ValueString(), Port: int32Or(c.Port, 0),
			SSL: boolPtr(c.SSL), ValidateURL: c.ValidateURL.ValueString(), CallbackURL: c.CallbackURL.ValueString(), LogoutURL: c.LogoutURL.ValueString(),
			LoginURL: c.LoginURL.ValueString(), UIDField: c.UIDField.ValueString(), CAPath: c.CAPath.ValueString(),
			NoVerify: c.DisableSSLVerification.ValueBool(), AssumeVerified: c.AssumeEmailVerified.ValueBool()}
		if !c.Keys.IsNull() && !c.Keys.IsUnknown() {
			diags.Append(c.Keys.ElementsAs(ctx, &out.Keys, false)...)
		}
		s.SSO.CAS = out
	}
	if c := o.LDAP; c != nil {
		s.SSO.LDAP = &mastodon.LDAP{Host: c.Host.ValueString(), Port: int32Or(c.Port, 0), Method: c.Method.ValueString(), NoVerify: c.TLSNoVerify.ValueBool(),
			Base: c.Base.ValueString(), BindDN: c.BindDN.ValueString(), UID: c.UID.ValueString(), Mail: c.Mail.ValueString(),
			SearchFilter: c.SearchFilter.ValueString()}
		if u := c.UIDConversion; u != nil {
			s.SSO.LDAP.UIDConversion = &mastodon.LDAPUIDConversion{Search: u.Search.ValueString(), Replace: u.Replace.ValueString()}
		}
	}
}
