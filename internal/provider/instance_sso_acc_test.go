package provider

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Single sign-on switched on, changed, moved from protocol to protocol and
// off, with an account present throughout: each protocol's variables
// appear in and leave the ConfigMap (its credential in the Secret only),
// web, streaming and Sidekiq roll at every change and the embedded
// database and Redis never, and neither the generated secrets, the
// account's objects nor the admin's password change.
func TestAccInstance_sso(t *testing.T) {
	w := newSSOWalk(t, "acc-sso")
	cert, key := testCertificatePEM(t)
	const (
		oidc = `    oidc = {
      issuer        = "https://id.example.org/realms/social"
      client_id     = "mastodon"
      client_secret = "oidc-secret"
      use_pkce      = true
    }
`
		oidcChanged = `    oidc = {
      display_name  = "Example ID"
      issuer        = "https://id.example.org/realms/social"
      client_id     = "mastodon"
      client_secret = "oidc-secret-2"
      scope         = ["openid", "email"]
      uid_field     = "preferred_username"
    }
`
		ldap = `    ldap = {
      host                = "ldap.example.org"
      base                = "ou=people,dc=example,dc=org"
      bind_dn             = "cn=mastodon,dc=example,dc=org"
      password_wo         = "ldap-secret"
      password_wo_version = 1
      uid_conversion      = {}
    }
`
		cas = `    cas = {
      url     = "https://cas.example.org/cas"
      ca_path = "/etc/cas-ca"
      keys    = { email = "mail" }
    }
`
	)
	saml := fmt.Sprintf(`    omniauth_only   = true
    one_click_login = true
    saml = {
      idp_sso_target_url        = "https://saml.example.org/sso"
      idp_cert                  = %[1]s
      certificate               = %[1]s
      private_key               = %[2]s
      want_assertions_encrypted = true
      attribute_statements      = { uid = "urn:oid:0.9.2342.19200300.100.1.1" }
    }
`, hclString(cert), hclString(key))

	oidcEnv := map[string]string{"OIDC_ENABLED": "true", "OIDC_ISSUER": "https://id.example.org/realms/social", "OIDC_CLIENT_ID": "mastodon",
		"OIDC_DISCOVERY": "true", "OIDC_SCOPE": "openid,profile,email", "OIDC_USE_PKCE": "true",
		"OIDC_REDIRECT_URI": "https://social.example/auth/auth/openid_connect/callback"}
	oidcChangedEnv := map[string]string{"OIDC_ENABLED": "true", "OIDC_ISSUER": "https://id.example.org/realms/social", "OIDC_CLIENT_ID": "mastodon",
		"OIDC_DISCOVERY": "true", "OIDC_SCOPE": "openid,email", "OIDC_DISPLAY_NAME": "Example ID", "OIDC_UID_FIELD": "preferred_username",
		"OIDC_REDIRECT_URI": "https://social.example/auth/auth/openid_connect/callback"}
	ldapEnv := map[string]string{"LDAP_ENABLED": "true", "LDAP_HOST": "ldap.example.org", "LDAP_PORT": "636", "LDAP_METHOD": "simple_tls",
		"LDAP_BASE": "ou=people,dc=example,dc=org", "LDAP_BIND_DN": "cn=mastodon,dc=example,dc=org", "LDAP_UID_CONVERSION_ENABLED": "true"}
	samlEnv := map[string]string{"OMNIAUTH_ONLY": "true", "ONE_CLICK_SSO_LOGIN": "true", "SAML_ENABLED": "true",
		"SAML_IDP_SSO_TARGET_URL": "https://saml.example.org/sso", "SAML_IDP_CERT": cert, "SAML_CERT": cert, "SAML_SECURITY_WANT_ASSERTION_ENCRYPTED": "true",
		"SAML_ATTRIBUTES_STATEMENTS_UID": "urn:oid:0.9.2342.19200300.100.1.1", "SAML_ACS_URL": "https://social.example/auth/auth/saml/callback"}
	casEnv := map[string]string{"CAS_ENABLED": "true", "CAS_URL": "https://cas.example.org/cas", "CAS_CA_PATH": "/etc/cas-ca", "CAS_EMAIL_KEY": "mail"}
	union := func(ms ...map[string]string) map[string]string {
		out := map[string]string{}
		for _, m := range ms {
			maps.Copy(out, m)
		}
		return out
	}
	step := w.step
	// OpenID Connect and omniauth_only from another resource: unknown at
	// plan, checked and applied when known.
	fromAnotherResource := step(`    omniauth_only = terraform_data.idp.output.only
    oidc          = terraform_data.idp.output.oidc
`, map[string]string{"OMNIAUTH_ONLY": "true", "OIDC_ENABLED": "true", "OIDC_ISSUER": "https://id.example.org/realms/social",
		"OIDC_CLIENT_ID": "mastodon", "OIDC_DISCOVERY": "true", "OIDC_SCOPE": "openid", "OIDC_REDIRECT_URI": "https://social.example/auth/auth/openid_connect/callback"},
		map[string]string{"OIDC_CLIENT_SECRET": "from-elsewhere"})
	fromAnotherResource.Config += `
resource "terraform_data" "idp" {
  input = {
    only = true
    oidc = { issuer = "https://id.example.org/realms/social", client_id = "mastodon", client_secret = "from-elsewhere", scope = ["openid"] }
  }
}
`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			w.start(),
			step(oidc, oidcEnv, map[string]string{"OIDC_CLIENT_SECRET": "oidc-secret"}),
			step(oidcChanged, oidcChangedEnv, map[string]string{"OIDC_CLIENT_SECRET": "oidc-secret-2"}),
			step(oidcChanged+ldap, union(oidcChangedEnv, ldapEnv), map[string]string{"OIDC_CLIENT_SECRET": "oidc-secret-2", "LDAP_PASSWORD": "ldap-secret"}),
			{ResourceName: "mastodon_instance.test", ImportState: true, ImportStateId: w.ns + "/social", ImportStateVerify: true,
				ImportStateVerifyIgnore: []string{"sso.ldap.password_wo_version"}},
			step(saml, samlEnv, map[string]string{"SAML_PRIVATE_KEY": key}),
			step(cas, casEnv, map[string]string{}),
			fromAnotherResource,
			step("", nil, nil),
		},
	})
}

// LDAP with its password read from a Secret someone else manages: on (the
// password by reference, not in the instance's Secret), the Secret's data
// changed (the Pods roll), changed (start_tls: port 389, a search filter,
// the UID conversion), off.
func TestAccInstance_ssoLDAP(t *testing.T) {
	w := newSSOWalk(t, "acc-sso-ldap")
	directory := func(password string) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "directory", Namespace: w.ns}, StringData: map[string]string{"password": password}}
	}
	if _, err := w.c.cs.CoreV1().Secrets(w.ns).Create(context.Background(), directory("first"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	const (
		on = `    ldap = {
      host                = "ldap.example.org"
      base                = "ou=people,dc=example,dc=org"
      bind_dn             = "cn=mastodon,dc=example,dc=org"
      password_secret_ref = { name = "directory", key = "password" }
    }
`
		changed = `    ldap = {
      host           = "ldap.example.org"
      method         = "start_tls"
      tls_no_verify  = true
      base           = "ou=people,dc=example,dc=org"
      bind_dn        = "cn=mastodon,dc=example,dc=org"
      password       = "clear-password"
      uid            = "uid"
      search_filter  = "(&(objectClass=person)(%<mail>s=%<email>s))"
      uid_conversion = { search = ".-", replace = "_" }
    }
`
	)
	onEnv := map[string]string{"LDAP_ENABLED": "true", "LDAP_HOST": "ldap.example.org", "LDAP_PORT": "636", "LDAP_METHOD": "simple_tls",
		"LDAP_BASE": "ou=people,dc=example,dc=org", "LDAP_BIND_DN": "cn=mastodon,dc=example,dc=org"}
	changedEnv := map[string]string{"LDAP_ENABLED": "true", "LDAP_HOST": "ldap.example.org", "LDAP_PORT": "389", "LDAP_METHOD": "start_tls",
		"LDAP_TLS_NO_VERIFY": "true", "LDAP_BASE": "ou=people,dc=example,dc=org", "LDAP_BIND_DN": "cn=mastodon,dc=example,dc=org", "LDAP_UID": "uid",
		"LDAP_SEARCH_FILTER": "(&(objectClass=person)(%<mail>s=%<email>s))", "LDAP_UID_CONVERSION_ENABLED": "true",
		"LDAP_UID_CONVERSION_SEARCH": ".-", "LDAP_UID_CONVERSION_REPLACE": "_"}
	byRef := w.step(on, onEnv, nil)
	byRef.Check = resource.ComposeAggregateTestCheckFunc(byRef.Check, w.refs(map[string]string{"LDAP_PASSWORD": "directory/password"}))
	rotated := w.step(on, onEnv, nil)
	rotated.PreConfig = func() {
		w.record()
		if _, err := w.c.cs.CoreV1().Secrets(w.ns).Update(context.Background(), directory("second"), metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	inClear := w.step(changed, changedEnv, map[string]string{"LDAP_PASSWORD": "clear-password"})
	inClear.Check = resource.ComposeAggregateTestCheckFunc(inClear.Check, w.refs(map[string]string{}))
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps:                    []resource.TestStep{w.start(), byRef, rotated, inClear, w.step("", nil, nil)},
	})
}

// SAML on with the provider's fingerprint; changed to its certificate,
// with the service provider's certificate and key (write-only) and
// encrypted assertions; off.
func TestAccInstance_ssoSAML(t *testing.T) {
	w := newSSOWalk(t, "acc-sso-saml")
	cert, key := testCertificatePEM(t)
	on := `    saml = {
      display_name         = "Example SAML"
      idp_sso_target_url   = "https://saml.example.org/sso"
      idp_cert_fingerprint = "AB:CD:EF"
      uid_attribute        = "uid"
    }
`
	changed := fmt.Sprintf(`    saml = {
      idp_sso_target_url        = "https://saml.example.org/sso"
      idp_cert                  = %[1]s
      issuer                    = "https://social.example"
      certificate               = %[1]s
      private_key_wo            = %[2]s
      private_key_wo_version    = 1
      want_assertions_signed    = true
      want_assertions_encrypted = true
      allowed_clock_drift       = 5
      attribute_statements      = { email = "mail" }
    }
`, hclString(cert), hclString(key))
	acs := "https://social.example/auth/auth/saml/callback"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			w.start(),
			w.step(on, map[string]string{"SAML_ENABLED": "true", "SAML_DISPLAY_NAME": "Example SAML", "SAML_IDP_SSO_TARGET_URL": "https://saml.example.org/sso",
				"SAML_IDP_CERT_FINGERPRINT": "AB:CD:EF", "SAML_UID_ATTRIBUTE": "uid", "SAML_ACS_URL": acs}, nil),
			w.step(changed, map[string]string{"SAML_ENABLED": "true", "SAML_IDP_SSO_TARGET_URL": "https://saml.example.org/sso", "SAML_IDP_CERT": cert,
				"SAML_ISSUER": "https://social.example", "SAML_CERT": cert, "SAML_SECURITY_WANT_ASSERTION_SIGNED": "true",
				"SAML_SECURITY_WANT_ASSERTION_ENCRYPTED": "true", "SAML_ALLOWED_CLOCK_DRIFT": "5", "SAML_ATTRIBUTES_STATEMENTS_EMAIL": "mail",
				"SAML_ACS_URL": acs}, map[string]string{"SAML_PRIVATE_KEY": key}),
			w.step("", nil, nil),
		},
	})
}

// CAS on with a host; changed to a URL with its CA directory mounted from
// a Secret into web through web.pod.volumes; off (the volume stays, as
// configured).
func TestAccInstance_ssoCAS(t *testing.T) {
	w := newSSOWalk(t, "acc-sso-cas")
	const (
		on = `    cas = {
      host = "cas.example.org"
      port = 8443
      ssl  = true
    }
`
		changed = `    cas = {
      display_name             = "Example CAS"
      url                      = "https://cas.example.org/cas"
      ca_path                  = "/etc/cas-ca"
      assume_email_is_verified = true
      keys                     = { uid = "uid", email = "mail" }
    }
`
		volume = `  web = { pod = { volumes = [{ name = "cas-ca", mount_path = "/etc/cas-ca", secret = "cas-ca", read_only = true }] } }
`
	)
	mounted := func(want bool) resource.TestCheckFunc {
		return func(*terraform.State) error {
			d, err := w.c.cs.AppsV1().Deployments(w.ns).Get(context.Background(), "social-web", metav1.GetOptions{})
			if err != nil {
				return err
			}
			got := slices.ContainsFunc(d.Spec.Template.Spec.Containers[0].VolumeMounts, func(m corev1.VolumeMount) bool { return m.MountPath == "/etc/cas-ca" })
			if got != want {
				return fmt.Errorf("/etc/cas-ca mounted %v, want %v", got, want)
			}
			return nil
		}
	}
	withVolume := w.step(changed, map[string]string{"CAS_ENABLED": "true", "CAS_DISPLAY_NAME": "Example CAS", "CAS_URL": "https://cas.example.org/cas",
		"CAS_CA_PATH": "/etc/cas-ca", "CAS_SECURITY_ASSUME_EMAIL_IS_VERIFIED": "true", "CAS_UID_KEY": "uid", "CAS_EMAIL_KEY": "mail"}, nil, volume)
	withVolume.Check = resource.ComposeAggregateTestCheckFunc(withVolume.Check, mounted(true))
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			w.start(),
			w.step(on, map[string]string{"CAS_ENABLED": "true", "CAS_HOST": "cas.example.org", "CAS_PORT": "8443", "CAS_SSL": "true"}, nil),
			withVolume,
			w.step("", nil, nil, volume),
		},
	})
}

// ssoWalk walks an instance with an account through single sign-on
// configurations, checking at each step what changed and what did not.
type ssoWalk struct {
	c             *testCluster
	ns            string
	first         snapshot
	adminPassword string
	generations   map[string]int64
}

// newSSOWalk makes the walk's namespace, with an object of someone else's in it.
func newSSOWalk(t *testing.T, ns string) *ssoWalk {
	c := newTestCluster(t)
	w := &ssoWalk{c: c, ns: c.namespace(t, ns), generations: map[string]int64{}}
	if _, err := c.cs.CoreV1().ConfigMaps(w.ns).Create(context.Background(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "someone-elses"}},
		metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return w
}

// config is the instance with sso's attributes (none: no sso) and more
// attributes of the instance, and its admin user.
func (w *ssoWalk) config(sso string, more ...string) string {
	extra := strings.Join(more, "")
	if sso != "" {
		extra += "  sso = {\n" + sso + "  }\n"
	}
	return lifecycleConfig(w.ns, "v4.6.5", extra)
}

// start creates the instance without sso.
func (w *ssoWalk) start() resource.TestStep {
	return resource.TestStep{Config: w.config(""), Check: resource.ComposeAggregateTestCheckFunc(w.same, w.env(nil, nil))}
}

// step applies sso: only the instance changes, web, streaming and Sidekiq
// roll, and the variables are plain and secret.
func (w *ssoWalk) step(sso string, plain, secret map[string]string, more ...string) resource.TestStep {
	return resource.TestStep{PreConfig: w.record, Config: w.config(sso, more...),
		ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
			plancheck.ExpectResourceAction("mastodon_instance.test", plancheck.ResourceActionUpdate),
			plancheck.ExpectResourceAction("mastodon_admin_user.owner", plancheck.ResourceActionNoop),
		}},
		Check: resource.ComposeAggregateTestCheckFunc(w.same, w.rolled(true), w.env(plain, secret))}
}

// record notes the generations of the Deployments and StatefulSets.
func (w *ssoWalk) record() {
	ctx := context.Background()
	deps, err := w.c.cs.AppsV1().Deployments(w.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		panic(err)
	}
	for _, d := range deps.Items {
		w.generations["Deployment/"+d.Name] = d.Generation
	}
	sts, err := w.c.cs.AppsV1().StatefulSets(w.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		panic(err)
	}
	for _, s := range sts.Items {
		w.generations["StatefulSet/"+s.Name] = s.Generation
	}
}

// rolled: web, streaming and Sidekiq rolled (or not) since record, the
// embedded database and Redis never.
func (w *ssoWalk) rolled(want bool) resource.TestCheckFunc {
	return func(*terraform.State) error {
		ctx := context.Background()
		deps, err := w.c.cs.AppsV1().Deployments(w.ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		if len(deps.Items) < 3 {
			return fmt.Errorf("%d Deployments", len(deps.Items))
		}
		for _, d := range deps.Items {
			if got := d.Generation != w.generations["Deployment/"+d.Name]; got != want {
				return fmt.Errorf("Deployment %s: rolled = %v, want %v", d.Name, got, want)
			}
		}
		sts, err := w.c.cs.AppsV1().StatefulSets(w.ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		for _, s := range sts.Items {
			if s.Generation != w.generations["StatefulSet/"+s.Name] {
				return fmt.Errorf("StatefulSet %s changed", s.Name)
			}
		}
		return nil
	}
}

// same: the account's objects, someone else's, the data volumes, the
// generated secrets and the admin's password are those of the first step.
func (w *ssoWalk) same(s *terraform.State) error {
	snap, err := w.c.snapshot(w.ns, s)
	if err != nil {
		return err
	}
	password := s.RootModule().Resources["mastodon_admin_user.owner"].Primary.Attributes["password"]
	if w.first.accountUIDs == nil {
		w.first, w.adminPassword = snap, password
		return nil
	}
	if !maps.Equal(snap.accountUIDs, w.first.accountUIDs) || !maps.Equal(snap.secrets, w.first.secrets) ||
		!maps.Equal(snap.volumes, w.first.volumes) || snap.foreignUID != w.first.foreignUID || password != w.adminPassword {
		return fmt.Errorf("the account's objects, someone else's, the volumes, the generated secrets or the admin's password changed")
	}
	return nil
}

// env checks the single sign-on variables: exactly plain in the
// ConfigMap and secret in the Secret.
func (w *ssoWalk) env(plain, secret map[string]string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		ctx := context.Background()
		cm, err := w.c.cs.CoreV1().ConfigMaps(w.ns).Get(ctx, "social-env", metav1.GetOptions{})
		if err != nil {
			return err
		}
		sec, err := w.c.cs.CoreV1().Secrets(w.ns).Get(ctx, "social-secrets", metav1.GetOptions{})
		if err != nil {
			return err
		}
		ours := func(k string) bool {
			for _, p := range []string{"OIDC_", "SAML_", "CAS_", "LDAP_", "OMNIAUTH_ONLY", "ONE_CLICK_SSO_LOGIN"} {
				if strings.HasPrefix(k, p) {
					return true
				}
			}
			return false
		}
		gotPlain, gotSecret := map[string]string{}, map[string]string{}
		for k, v := range cm.Data {
			if ours(k) {
				gotPlain[k] = v
			}
		}
		for k, v := range sec.Data {
			if ours(k) {
				gotSecret[k] = string(v)
			}
		}
		if !maps.Equal(gotPlain, plain) {
			return fmt.Errorf("ConfigMap: %v\nwant %v", gotPlain, plain)
		}
		if !maps.Equal(gotSecret, secret) {
			return fmt.Errorf("Secret: %v, want %v", slices.Sorted(maps.Keys(gotSecret)), slices.Sorted(maps.Keys(secret)))
		}
		return nil
	}
}

// refs checks the variables web reads by reference: name -> "secret/key".
func (w *ssoWalk) refs(want map[string]string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		d, err := w.c.cs.AppsV1().Deployments(w.ns).Get(context.Background(), "social-web", metav1.GetOptions{})
		if err != nil {
			return err
		}
		got := map[string]string{}
		for _, e := range d.Spec.Template.Spec.Containers[0].Env {
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				got[e.Name] = e.ValueFrom.SecretKeyRef.Name + "/" + e.ValueFrom.SecretKeyRef.Key
			}
		}
		if !maps.Equal(got, want) {
			return fmt.Errorf("web reads %v by reference, want %v", got, want)
		}
		return nil
	}
}
