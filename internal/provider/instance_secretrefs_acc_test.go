package provider

import (
	"context"
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

// Credentials by reference to a Secret someone else manages: a missing
// Secret is refused at plan, naming the attribute, and creates nothing;
// the SMTP password and an extra variable then reach every Rails container
// by secretKeyRef (the account Job's included) and never the instance's
// Secret; a change of the Secret's data rolls the Deployments at the next
// apply and changes neither the generated secrets nor the admin user; a
// clear value takes the reference's place.
func TestAccInstance_secretRefs(t *testing.T) {
	c := newTestCluster(t)
	ns := c.namespace(t, "acc-refs")
	ctx := context.Background()
	config := func(smtpPassword string) string {
		return instanceConfig(ns, fmt.Sprintf(`  create_namespace = false
  smtp = {
    server = "smtp.example"
    login  = "mastodon"
%s
  }
  settings = {
    email_domain_allowlist = ["social.example"]
    extra_secret_env_refs = { EXTRA_TOKEN = { name = "mail", key = "token" } }
  }`, smtpPassword)) + `
resource "mastodon_admin_user" "owner" {
  instance = mastodon_instance.test.id
  username = "alice"
  email    = "alice@example.org"
}
`
	}
	byRef := config(`    password_secret_ref = { name = "mail", key = "password" }`)
	mail := func(password string) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "mail", Namespace: ns},
			StringData: map[string]string{"password": password, "token": "the-token"}}
	}
	var checksum, secretKeyBase, adminPassword string
	deployment := func(name string) (map[string]string, string, error) {
		d, err := c.cs.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, "", err
		}
		refs := map[string]string{}
		for _, e := range d.Spec.Template.Spec.Containers[0].Env {
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				refs[e.Name] = e.ValueFrom.SecretKeyRef.Name + "/" + e.ValueFrom.SecretKeyRef.Key
			}
		}
		return refs, d.Spec.Template.Annotations[mastodon.AnnotationChecksum], nil
	}
	// checkRefs checks the Deployments' and the last account Job's
	// references, the instance's Secret, and whether web's checksum changed.
	checkRefs := func(smtpRef bool, rolled bool) resource.TestCheckFunc {
		return func(s *terraform.State) error {
			want := map[string]string{"EXTRA_TOKEN": "mail/token"}
			if smtpRef {
				want[mastodon.EnvSMTPPassword] = "mail/password"
			}
			ds, err := c.cs.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/instance=social"})
			if err != nil || len(ds.Items) < 3 {
				return fmt.Errorf("the instance's Deployments: %d (%w)", len(ds.Items), err)
			}
			for _, d := range ds.Items {
				name := d.Name
				refs, sum, err := deployment(name)
				if err != nil {
					return err
				}
				if len(refs) != len(want) || refs["EXTRA_TOKEN"] != want["EXTRA_TOKEN"] || refs[mastodon.EnvSMTPPassword] != want[mastodon.EnvSMTPPassword] {
					return fmt.Errorf("%s reads %v by reference, want %v", name, refs, want)
				}
				if name == "social-web" {
					if checksum != "" && (sum != checksum) != rolled {
						return fmt.Errorf("web's checksum %s, was %s: rolled %v, want %v", sum, checksum, sum != checksum, rolled)
					}
					checksum = sum
				}
			}
			jobs, err := c.accountJobs(ns)
			if err != nil || len(jobs) == 0 {
				return fmt.Errorf("no account Job (%w)", err)
			}
			if got := env(jobs[len(jobs)-1])["EXTRA_TOKEN"]; got != "secret:mail/token" {
				return fmt.Errorf("the account Job reads EXTRA_TOKEN from %q", got)
			}
			sec, err := c.cs.CoreV1().Secrets(ns).Get(ctx, "social-secrets", metav1.GetOptions{})
			if err != nil {
				return err
			}
			if _, held := sec.Data["EXTRA_TOKEN"]; held {
				return fmt.Errorf("the instance's Secret holds EXTRA_TOKEN")
			}
			if v, held := sec.Data[mastodon.EnvSMTPPassword]; held == smtpRef || (!smtpRef && string(v) != "clear-password") {
				return fmt.Errorf("the instance's Secret holds SMTP_PASSWORD %v (%d bytes), want %v", held, len(v), !smtpRef)
			}
			attrs := s.RootModule().Resources["mastodon_instance.test"].Primary.Attributes
			admin := s.RootModule().Resources["mastodon_admin_user.owner"].Primary.Attributes
			if secretKeyBase != "" && (attrs["secrets.secret_key_base"] != secretKeyBase || admin["password"] != adminPassword) {
				return fmt.Errorf("the generated secrets or the admin's password changed")
			}
			secretKeyBase, adminPassword = attrs["secrets.secret_key_base"], admin["password"]
			return nil
		}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{Config: byRef, ExpectError: refusedAt(`smtp.password_secret_ref: Secret ` + ns + `/mail does not exist`)},
			{
				PreConfig: func() {
					c.noInstanceSecret(t, ns)()
					if _, err := c.cs.CoreV1().Secrets(ns).Create(ctx, mail("first-password"), metav1.CreateOptions{}); err != nil {
						t.Fatal(err)
					}
				},
				Config: byRef,
				Check:  checkRefs(true, false),
			},
			{Config: byRef, ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}}},
			{ResourceName: "mastodon_instance.test", ImportState: true, ImportStateId: ns + "/social", ImportStateVerify: true},
			{
				// The Secret's data changes: the refresh sees drift, the
				// apply rolls the Deployments, nothing else changes.
				PreConfig: func() {
					if _, err := c.cs.CoreV1().Secrets(ns).Update(ctx, mail("second-password"), metav1.UpdateOptions{}); err != nil {
						t.Fatal(err)
					}
				},
				Config: byRef,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("mastodon_instance.test", plancheck.ResourceActionUpdate),
					plancheck.ExpectResourceAction("mastodon_admin_user.owner", plancheck.ResourceActionNoop),
				}},
				Check: checkRefs(true, true),
			},
			{Config: byRef, ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}}},
			{Config: config(`    password = "clear-password"`), Check: checkRefs(false, true)},
		},
	})
}
