package provider

import (
	"context"
	"fmt"
	"maps"
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
	c := newTestCluster(t)
	ns := c.namespace(t, "acc-sso")
	ctx := context.Background()
	if _, err := c.cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "someone-elses"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
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
	config := func(sso string) string {
		if sso == "" {
			return lifecycleConfig(ns, "v4.6.5", "")
		}
		return lifecycleConfig(ns, "v4.6.5", "  sso = {\n"+sso+"  }\n")
	}

	var first snapshot
	var adminPassword string
	generations := map[string]int64{}
	record := func() {
		deps, err := c.cs.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range deps.Items {
			generations["Deployment/"+d.Name] = d.Generation
		}
		sts, err := c.cs.AppsV1().StatefulSets(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range sts.Items {
			generations["StatefulSet/"+s.Name] = s.Generation
		}
	}
	// rolled: web, streaming and Sidekiq rolled (or not), the embedded
	// database and Redis never.
	rolled := func(want bool) resource.TestCheckFunc {
		return func(*terraform.State) error {
			deps, err := c.cs.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				return err
			}
			if len(deps.Items) < 3 {
				return fmt.Errorf("%d Deployments", len(deps.Items))
			}
			for _, d := range deps.Items {
				if got := d.Generation != generations["Deployment/"+d.Name]; got != want {
					return fmt.Errorf("Deployment %s: rolled = %v, want %v", d.Name, got, want)
				}
			}
			sts, err := c.cs.AppsV1().StatefulSets(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				return err
			}
			for _, s := range sts.Items {
				if s.Generation != generations["StatefulSet/"+s.Name] {
					return fmt.Errorf("StatefulSet %s changed", s.Name)
				}
			}
			return nil
		}
	}
	// same: the account's objects, someone else's, the data volumes, the
	// generated secrets and the admin's password are those of the first step.
	same := func(s *terraform.State) error {
		snap, err := c.snapshot(ns, s)
		if err != nil {
			return err
		}
		password := s.RootModule().Resources["mastodon_admin_user.owner"].Primary.Attributes["password"]
		if first.accountUIDs == nil {
			first, adminPassword = snap, password
			return nil
		}
		if !maps.Equal(snap.accountUIDs, first.accountUIDs) || !maps.Equal(snap.secrets, first.secrets) ||
			!maps.Equal(snap.volumes, first.volumes) || snap.foreignUID != first.foreignUID || password != adminPassword {
			return fmt.Errorf("the account's objects, someone else's, the volumes, the generated secrets or the admin's password changed")
		}
		return nil
	}
	// env checks the single sign-on variables: exactly plain in the
	// ConfigMap and secret in the Secret.
	env := func(plain, secret map[string]string) resource.TestCheckFunc {
		return func(*terraform.State) error {
			cm, err := c.cs.CoreV1().ConfigMaps(ns).Get(ctx, "social-env", metav1.GetOptions{})
			if err != nil {
				return err
			}
			sec, err := c.cs.CoreV1().Secrets(ns).Get(ctx, "social-secrets", metav1.GetOptions{})
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
				return fmt.Errorf("Secret: %d single sign-on keys %v, want %d", len(gotSecret), slicesOfKeys(gotSecret), len(secret))
			}
			return nil
		}
	}
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
	adminUntouched := resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
		plancheck.ExpectResourceAction("mastodon_instance.test", plancheck.ResourceActionUpdate),
		plancheck.ExpectResourceAction("mastodon_admin_user.owner", plancheck.ResourceActionNoop),
	}}
	step := func(sso string, plain, secret map[string]string) resource.TestStep {
		return resource.TestStep{PreConfig: record, Config: config(sso), ConfigPlanChecks: adminUntouched,
			Check: resource.ComposeAggregateTestCheckFunc(same, rolled(true), env(plain, secret))}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{Config: config(""), Check: resource.ComposeAggregateTestCheckFunc(same, env(map[string]string{}, map[string]string{}))},
			step(oidc, oidcEnv, map[string]string{"OIDC_CLIENT_SECRET": "oidc-secret"}),
			step(oidcChanged, oidcChangedEnv, map[string]string{"OIDC_CLIENT_SECRET": "oidc-secret-2"}),
			step(oidcChanged+ldap, union(oidcChangedEnv, ldapEnv), map[string]string{"OIDC_CLIENT_SECRET": "oidc-secret-2", "LDAP_PASSWORD": "ldap-secret"}),
			{ResourceName: "mastodon_instance.test", ImportState: true, ImportStateId: ns + "/social", ImportStateVerify: true,
				ImportStateVerifyIgnore: []string{"sso.ldap.password_wo_version"}},
			step(saml, samlEnv, map[string]string{"SAML_PRIVATE_KEY": key}),
			step(cas, casEnv, map[string]string{}),
			step("", map[string]string{}, map[string]string{}),
		},
	})
}

func slicesOfKeys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
