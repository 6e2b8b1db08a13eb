package provider

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

// wrapped matches parts in order, anything between them, each part's
// spaces matching any line break of Terraform's output.
func wrapped(parts ...string) *regexp.Regexp {
	for i, p := range parts {
		parts[i] = strings.ReplaceAll(regexp.QuoteMeta(p), " ", `\s+`)
	}
	return regexp.MustCompile(`(?s)` + strings.Join(parts, ".*"))
}

// ownedObjects is what a state owns in the cluster, as a second state must
// leave it: each object's UID, and the resourceVersion of those nobody but
// the provider writes (a change means the object was written), with the
// claims on them.
type ownedObjects map[string]string

func (c *testCluster) ownedObjects(t *testing.T, ns string) ownedObjects {
	t.Helper()
	ctx := context.Background()
	out := ownedObjects{}
	cms, err := c.cs.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{LabelSelector: mastodon.LabelInstance + "=social"})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range cms.Items {
		out["ConfigMap "+o.Name] = string(o.UID) + " rv=" + o.ResourceVersion + " claim=" + mastodon.Claim(o.Annotations)
	}
	secrets, err := c.cs.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{LabelSelector: mastodon.LabelInstance + "=social"})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range secrets.Items {
		out["Secret "+o.Name] = string(o.UID) + " rv=" + o.ResourceVersion + " claim=" + mastodon.Claim(o.Annotations)
	}
	deps, err := c.cs.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{LabelSelector: mastodon.LabelInstance + "=social"})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range deps.Items {
		out["Deployment "+o.Name] = string(o.UID) + " generation=" + fmt.Sprint(o.Generation)
	}
	jobs, err := c.accountJobs(ns)
	if err != nil {
		t.Fatal(err)
	}
	out["account Jobs"] = fmt.Sprint(len(jobs))
	return out
}

// claimed are the objects that carry a claim.
var claimed = []string{"ConfigMap social-env", "Secret social-secrets", "Secret social-account-alice"}

// requireClaims checks that the objects that carry a claim do.
func (before ownedObjects) requireClaims() error {
	for _, k := range claimed {
		if claimOf(before[k]) == "" {
			return fmt.Errorf("%s carries no claim: %q", k, before[k])
		}
	}
	return nil
}

// same reports how now differs from before.
func (before ownedObjects) same(now ownedObjects) error {
	var diffs []string
	for k := range maps.Keys(before) {
		if now[k] != before[k] {
			diffs = append(diffs, fmt.Sprintf("%s: %q -> %q", k, before[k], now[k]))
		}
	}
	for k := range maps.Keys(now) {
		if _, ok := before[k]; !ok {
			diffs = append(diffs, k+" appeared")
		}
	}
	if len(diffs) > 0 {
		return fmt.Errorf("the first state's objects changed:\n%s", strings.Join(diffs, "\n"))
	}
	return nil
}

// stateValues are the generated secrets and the password the first state
// holds.
func stateValues(s *terraform.State) string {
	i := s.RootModule().Resources["mastodon_instance.test"].Primary.Attributes
	a := s.RootModule().Resources["mastodon_admin_user.owner"].Primary.Attributes
	return i["secrets.secret_key_base"] + "/" + i["secrets.active_record_primary_key"] + "/" + a["password"]
}

// clusterKnownAtApply is a provider configuration that Terraform learns
// only at apply (timestamp() is unknown while planning): the plan cannot
// look at the cluster.
func (c *testCluster) clusterKnownAtApply(t *testing.T) string {
	cred := c.credentials(t)
	if cred.cert == "" || cred.key == "" {
		t.Skip("the kubeconfig has no client certificate to hand to the provider")
	}
	return fmt.Sprintf(`
provider "mastodon" {
  kubernetes = {
    host                   = "%s${substr(timestamp(), 0, 0)}"
    cluster_ca_certificate = %s
    client_certificate     = %s
    client_key             = %s
  }
}
`, cred.host, hclString(cred.ca), hclString(cred.cert), hclString(cred.key))
}

// accountOnly is an admin user of instance ns/social, in a configuration
// without the instance.
func accountOnly(ns string) string {
	return fmt.Sprintf(`
resource "mastodon_admin_user" "owner" {
  instance = "%s/social"
  username = "alice"
  email    = "alice@example.org"
}
`, ns)
}

// The same configuration applied from a second, fresh state: the instance
// and the account are refused, at plan where the cluster is known and by
// the create otherwise, naming the import; the first state's objects,
// secrets and password are untouched and its next plan is empty. Once the
// first state lets go (terraform state rm, here a removed block), the
// second imports both, adopting their claims, without any change.
func TestAccOwner_secondStateRefused(t *testing.T) {
	c := newTestCluster(t)
	ns := "acc-owner-" + randomSuffix()
	t.Cleanup(func() { _ = c.cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	config := adminConfig(ns, `  email = "alice@example.org"`)
	instanceRefused := wrapped("The instance already exists", "mastodon_instance "+ns+"/social already exists", "ConfigMap social-env", "Deployment social-web",
		"Nothing was changed", "terraform import mastodon_instance.<address> "+ns+"/social", `id = "`+ns+`/social"`)
	accountRefused := wrapped("The account already exists", "The account alice of mastodon_instance "+ns+"/social already exists",
		"Secret social-account-alice", "terraform import mastodon_admin_user.<address> "+ns+"/social/alice")
	var before ownedObjects
	var values string
	secondState := func() {
		resource.Test(t, resource.TestCase{
			ProtoV6ProviderFactories: testAccProviders,
			Steps: []resource.TestStep{
				// At plan time, where the cluster is known.
				{Config: instanceConfig(ns, ""), PlanOnly: true, ExpectError: instanceRefused},
				{Config: accountOnly(ns), PlanOnly: true, ExpectError: accountRefused},
				// A plan that could not look (the cluster known only at
				// apply) is refused all the same: Terraform plans again at
				// apply, where the cluster is known.
				{Config: c.clusterKnownAtApply(t) + instanceConfig(ns, ""), ExpectError: instanceRefused},
				{Config: c.clusterKnownAtApply(t) + accountOnly(ns), ExpectError: accountRefused},
			},
		})
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{
				Config: config,
				Check: func(s *terraform.State) error {
					before, values = c.ownedObjects(t, ns), stateValues(s)
					return before.requireClaims()
				},
			},
			{
				PreConfig:        secondState,
				Config:           config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				Check: func(s *terraform.State) error {
					if stateValues(s) != values {
						return fmt.Errorf("the first state's secrets or password changed")
					}
					return before.same(c.ownedObjects(t, ns))
				},
			},
			{
				// The first state lets go of both, leaving them in the cluster.
				Config: `
removed {
  from = mastodon_admin_user.owner
  lifecycle {
    destroy = false
  }
}

removed {
  from = mastodon_instance.test
  lifecycle {
    destroy = false
  }
}
`,
				Check: func(*terraform.State) error { return before.same(c.ownedObjects(t, ns)) },
			},
		},
	})
	// A second state imports both: nothing changes, no Job runs.
	imports := fmt.Sprintf(`
import {
  to = mastodon_instance.test
  id = "%[1]s/social"
}

import {
  to = mastodon_admin_user.owner
  id = "%[1]s/social/alice"
}
`, ns)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{
				Config: config + imports,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("mastodon_instance.test", plancheck.ResourceActionNoop),
					plancheck.ExpectResourceAction("mastodon_admin_user.owner", plancheck.ResourceActionNoop),
				}},
				Check: func(s *terraform.State) error {
					if stateValues(s) != values {
						return fmt.Errorf("the import holds other secrets or another password than the first state did")
					}
					return before.same(c.ownedObjects(t, ns))
				},
			},
			{
				// Its next plan is empty: the claims it adopted are the
				// objects' own.
				Config:           config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			{
				// An update writes the claim it adopted: the objects' own.
				Config: strings.Replace(adminConfig(ns, `  email = "alice@example.org"
  role  = "Admin"`), "deletion_protection = false", "deletion_protection = false\n  web = { replicas = 2 }", 1),
				Check: func(*terraform.State) error {
					now := c.ownedObjects(t, ns)
					for _, k := range claimed {
						if claimOf(now[k]) != claimOf(before[k]) {
							return fmt.Errorf("%s: claim %q after the import's update, want the adopted %q", k, claimOf(now[k]), claimOf(before[k]))
						}
					}
					return nil
				},
			},
		},
	})
}

// Objects no create claimed (an earlier release's, or the objects of
// another state's failed create) are not refused by the plan, which cannot
// tell them from its own failed create's (a tainted create is planned with
// no private data): the create refuses them, before changing anything. The
// first state, which holds the claim, accepts them, and its next update
// claims them again.
func TestAccOwner_unclaimedRefusedByCreate(t *testing.T) {
	c := newTestCluster(t)
	ns := "acc-unclaimed-" + randomSuffix()
	t.Cleanup(func() { _ = c.cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	config := adminConfig(ns, `  email = "alice@example.org"`)
	var claims, before ownedObjects
	unclaim := func() {
		ctx := context.Background()
		patch := []byte(`{"metadata":{"annotations":{"mastodon.tootform.dev/claim":null}}}`)
		if _, err := c.cs.CoreV1().ConfigMaps(ns).Patch(ctx, "social-env", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"social-secrets", "social-account-alice"} {
			if _, err := c.cs.CoreV1().Secrets(ns).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{
				Config: config,
				Check: func(*terraform.State) error {
					claims = c.ownedObjects(t, ns)
					return claims.requireClaims()
				},
			},
			{
				PreConfig: func() {
					unclaim()
					before = c.ownedObjects(t, ns)
					resource.Test(t, resource.TestCase{
						ProtoV6ProviderFactories: testAccProviders,
						Steps: []resource.TestStep{
							{Config: instanceConfig(ns, ""), ExpectError: wrapped("The instance already exists", "mastodon_instance "+ns+"/social already exists",
								"ConfigMap social-env", "terraform import mastodon_instance.<address> "+ns+"/social")},
							{Config: accountOnly(ns), ExpectError: wrapped("The account already exists", "Secret social-account-alice",
								"terraform import mastodon_admin_user.<address> "+ns+"/social/alice")},
						},
					})
				},
				Config:           config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				Check:            func(*terraform.State) error { return before.same(c.ownedObjects(t, ns)) },
			},
			{
				// The next update writes the first state's claims again.
				Config: strings.Replace(adminConfig(ns, `  email = "alice@example.org"
  role  = "Admin"`), "deletion_protection = false", "deletion_protection = false\n  web = { replicas = 2 }", 1),
				Check: func(*terraform.State) error {
					now := c.ownedObjects(t, ns)
					for _, k := range claimed {
						if claimOf(now[k]) != claimOf(claims[k]) {
							return fmt.Errorf("%s: claim %q after the update, want the first state's %q", k, claimOf(now[k]), claimOf(claims[k]))
						}
					}
					return nil
				},
			},
		},
	})
}

func claimOf(owned string) string {
	_, claim, _ := strings.Cut(owned, "claim=")
	return claim
}

// A state that finds its instance created again by another state (the
// objects deleted behind its back, then created by another state) reports
// it at refresh, naming both claims, and plans nothing that would fight.
func TestAccOwner_createdAgainElsewhere(t *testing.T) {
	c := newTestCluster(t)
	ns := "acc-again-" + randomSuffix()
	t.Cleanup(func() { _ = c.cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	var first string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{
				Config: instanceConfig(ns, ""),
				Check: func(*terraform.State) error {
					cm, err := c.cs.CoreV1().ConfigMaps(ns).Get(context.Background(), "social-env", metav1.GetOptions{})
					if err != nil {
						return err
					}
					first = mastodon.Claim(cm.Annotations)
					return nil
				},
			},
			{
				// Another state's create wrote its claim on the objects.
				PreConfig: func() {
					ctx := context.Background()
					for _, name := range []string{"social-env"} {
						cm, err := c.cs.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
						if err != nil {
							t.Fatal(err)
						}
						cm.Annotations[mastodon.AnnotationClaim] = "0123456789abcdef"
						if _, err := c.cs.CoreV1().ConfigMaps(ns).Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
							t.Fatal(err)
						}
					}
				},
				Config: instanceConfig(ns, `  web = { replicas = 2 }`),
				ExpectError: wrapped("Created again by another Terraform state", "claim 0123456789abcdef", "this state holds claim",
					"terraform state rm mastodon_instance.<address>", "terraform import mastodon_instance.<address> "+ns+"/social"),
			},
			{
				// Nothing was changed; the claim back, the plan is the
				// configuration's again (the destroy at the end checks
				// the claim too).
				PreConfig: func() {
					ctx := context.Background()
					d, err := c.cs.AppsV1().Deployments(ns).Get(ctx, "social-web", metav1.GetOptions{})
					if err != nil {
						t.Fatal(err)
					}
					if *d.Spec.Replicas != 1 {
						t.Fatalf("the refused apply changed web's replicas to %d", *d.Spec.Replicas)
					}
					cm, err := c.cs.CoreV1().ConfigMaps(ns).Get(ctx, "social-env", metav1.GetOptions{})
					if err != nil {
						t.Fatal(err)
					}
					cm.Annotations[mastodon.AnnotationClaim] = first
					if _, err := c.cs.CoreV1().ConfigMaps(ns).Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
						t.Fatal(err)
					}
				},
				Config:           instanceConfig(ns, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
		},
	})
}

// A create after a destroy that kept the data (the default) reopens it:
// the volumes and the generated secrets are the same, and the objects carry
// the new create's claim.
func TestAccOwner_createAfterDestroyReusesKeptData(t *testing.T) {
	c := newTestCluster(t)
	ns := "acc-recreate-" + randomSuffix()
	t.Cleanup(func() { _ = c.cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	var secretKeyBase, volume, claim string
	kept := func() (string, string, error) {
		ctx := context.Background()
		pvc, err := c.cs.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "data-social-postgresql-0", metav1.GetOptions{})
		if err != nil {
			return "", "", err
		}
		sec, err := c.cs.CoreV1().Secrets(ns).Get(ctx, "social-secrets", metav1.GetOptions{})
		if err != nil {
			return "", "", err
		}
		return string(pvc.UID), mastodon.Claim(sec.Annotations), nil
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{
				Config: instanceConfig(ns, ""),
				Check: func(s *terraform.State) error {
					secretKeyBase = s.RootModule().Resources["mastodon_instance.test"].Primary.Attributes["secrets.secret_key_base"]
					var err error
					volume, claim, err = kept()
					return err
				},
			},
			{
				// Destroyed: the volume and the generated secrets stay.
				Config: `# nothing`,
				Check: func(*terraform.State) error {
					v, _, err := kept()
					if err != nil || v != volume {
						return fmt.Errorf("the destroy did not keep the volume and the Secret (%w)", err)
					}
					return nil
				},
			},
			{
				Config: instanceConfig(ns, ""),
				Check: func(s *terraform.State) error {
					if got := s.RootModule().Resources["mastodon_instance.test"].Primary.Attributes["secrets.secret_key_base"]; got != secretKeyBase {
						return fmt.Errorf("the create after the destroy generated new secrets")
					}
					v, now, err := kept()
					if err != nil {
						return err
					}
					if v != volume {
						return fmt.Errorf("the database volume was not reopened: %s, was %s", v, volume)
					}
					if now == claim || now == "" {
						return fmt.Errorf("the new create's claim is %q, the first create's %q: want a new one", now, claim)
					}
					return nil
				},
			},
		},
	})
}

// A create that finds an account Mastodon holds (made by hand during a
// manual setup) changes nothing and says to import it; it leaves nothing,
// so the apply that follows, once the account is gone, creates it. The
// simulated nodes run no script: a kwok Stage ends the create Job's Pod
// with the script's exit code for "exists".
func TestAccOwner_accountExistsInMastodon(t *testing.T) {
	c := newTestCluster(t)
	ns := "acc-exists-" + randomSuffix()
	t.Cleanup(func() { _ = c.cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	config := adminConfig(ns, `  email = "alice@example.org"`)
	var heal func()
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{Config: instanceConfig(ns, `  settings = { email_domain_allowlist = ["social.example"] }`)},
			{
				PreConfig: func() {
					heal = c.stagePods(t, "exists-"+ns, ns, mastodon.ComponentAccount, podStatus("Failed", fmt.Sprintf(`    terminated:
      exitCode: %d
      reason: Error
      startedAt: {{ $now | Quote }}
      finishedAt: {{ $now | Quote }}`, mastodon.ExitAccountExists)))
				},
				Config: config,
				ExpectError: wrapped("The account already exists", "The account alice of mastodon_instance "+ns+"/social already exists",
					"Mastodon holds it", "changed nothing", "terraform import mastodon_admin_user.<address> "+ns+"/social/alice"),
			},
			{
				// Nothing left behind; the cause gone, the next apply creates it.
				PreConfig: func() {
					ctx := context.Background()
					if _, err := c.cs.CoreV1().Secrets(ns).Get(ctx, "social-account-alice", metav1.GetOptions{}); err == nil {
						t.Fatal("the refused create left the account's Secret")
					}
					if jobs, err := c.accountJobs(ns); err != nil || len(jobs) != 0 {
						t.Fatalf("the refused create left %d account Jobs (%v)", len(jobs), err)
					}
					heal()
				},
				Config: config,
				Check:  c.checkLastJob(ns, 1, `Account.find_local(ENV.fetch("ACCOUNT_USERNAME"))&.user`, map[string]string{"ACCOUNT_USERNAME": "alice"}),
			},
		},
	})
}

// An account made by hand is taken over by import, and its password is
// never reset unless the configuration asks for a new one: the apply after
// the import records it with no password (the Job keeps the account's),
// and only rotate_password generates one.
func TestAccOwner_importAccountMadeByHand(t *testing.T) {
	c := newTestCluster(t)
	ns := "acc-byhand-" + randomSuffix()
	t.Cleanup(func() { _ = c.cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	instance := instanceConfig(ns, `  settings = { email_domain_allowlist = ["social.example"] }`)
	account := func(extra string) string {
		return instance + fmt.Sprintf(`
import {
  to = mastodon_admin_user.owner
  id = "%s/social/bob"
}

resource "mastodon_admin_user" "owner" {
  instance = mastodon_instance.test.id
  username = "bob"
  email    = "bob@example.org"
%s
}
`, ns, extra)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{Config: instance},
			{
				Config: account(""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("mastodon_admin_user.owner", plancheck.ResourceActionUpdate),
				}},
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckNoResourceAttr("mastodon_admin_user.owner", "password"),
					c.checkLastJob(ns, 1, "bin/tootctl accounts modify", map[string]string{"ACCOUNT_USERNAME": "bob", "ACCOUNT_PASSWORD": "secret:social-account-bob/password"}),
					c.checkAccountSecret(ns, "bob", "", "kept"),
				),
			},
			{
				Config:           account(""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			{
				// Asked for: a generated password, set by the next Job.
				Config: account(`  rotate_password = "1"`),
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestMatchResourceAttr("mastodon_admin_user.owner", "password", regexp.MustCompile(`^[A-Za-z0-9]{32}$`)),
					c.checkLastJob(ns, 2, "change_password!", map[string]string{"ACCOUNT_USERNAME": "bob"}),
				),
			},
		},
	})
}

// checkAccountSecret checks the password an account's Secret records, and
// how it is managed.
func (c *testCluster) checkAccountSecret(ns, username, password, managed string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		sec, err := c.cs.CoreV1().Secrets(ns).Get(context.Background(), "social-account-"+username, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if got := string(sec.Data[mastodon.KeyPassword]); got != password {
			return fmt.Errorf("the account's Secret records password %q, want %q", got, password)
		}
		if got := string(sec.Data["password_managed"]); got != managed {
			return fmt.Errorf("password_managed %q, want %q", got, managed)
		}
		return nil
	}
}

// setClaimOn writes claim on a Secret or ConfigMap of namespace ns.
func (c *testCluster) setClaimOn(t *testing.T, ns, kind, name, claim string) {
	t.Helper()
	patch := fmt.Appendf(nil, `{"metadata":{"annotations":{%q:%q}}}`, mastodon.AnnotationClaim, claim)
	var err error
	if kind == "ConfigMap" {
		_, err = c.cs.CoreV1().ConfigMaps(ns).Patch(context.Background(), name, types.MergePatchType, patch, metav1.PatchOptions{})
	} else {
		_, err = c.cs.CoreV1().Secrets(ns).Patch(context.Background(), name, types.MergePatchType, patch, metav1.PatchOptions{})
	}
	if err != nil {
		t.Fatal(err)
	}
}

// An apply whose plan skipped the refresh (-refresh=false) never takes
// over what another state created again: the update reads the live claim
// before it changes anything, and refuses another state's, as a destroy
// does. The instance's objects keep their spec and claim; the account
// keeps its password, and no account Job runs.
func TestAccOwner_updateWithoutRefreshRefused(t *testing.T) {
	c := newTestCluster(t)
	ns := "acc-norefresh-" + randomSuffix()
	t.Cleanup(func() { _ = c.cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	const other = "0123456789abcdef"
	config := adminConfig(ns, `  email = "alice@example.org"`)
	var before ownedObjects
	var password string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		AdditionalCLIOptions:     &resource.AdditionalCLIOptions{Plan: resource.PlanOptions{NoRefresh: true}},
		Steps: []resource.TestStep{
			{
				Config: config,
				Check: func(s *terraform.State) error {
					before = c.ownedObjects(t, ns)
					password = s.RootModule().Resources["mastodon_admin_user.owner"].Primary.Attributes["password"]
					return before.requireClaims()
				},
			},
			{
				// Another state created the instance again; this plan did
				// not look.
				PreConfig: func() {
					c.setClaimOn(t, ns, "ConfigMap", "social-env", other)
					c.setClaimOn(t, ns, "Secret", "social-secrets", other)
				},
				Config: strings.Replace(config, "deletion_protection = false", "deletion_protection = false\n  web = { replicas = 2 }", 1),
				ExpectError: wrapped("Created again by another Terraform state", "mastodon_instance ("+ns+"/social)", "claim "+other,
					"this state holds claim", "The update changed nothing"),
			},
			{
				// The instance unchanged, the other claim kept; the
				// account created again by another state, and this plan
				// would rotate its password.
				PreConfig: func() {
					now := c.ownedObjects(t, ns)
					if now["Deployment social-web"] != before["Deployment social-web"] {
						t.Fatalf("the refused update changed the web Deployment: %q -> %q", before["Deployment social-web"], now["Deployment social-web"])
					}
					for _, k := range []string{"ConfigMap social-env", "Secret social-secrets"} {
						if claimOf(now[k]) != other {
							t.Fatalf("%s: claim %q after the refused update, want the other state's", k, claimOf(now[k]))
						}
					}
					c.setClaimOn(t, ns, "ConfigMap", "social-env", claimOf(before["ConfigMap social-env"]))
					c.setClaimOn(t, ns, "Secret", "social-secrets", claimOf(before["Secret social-secrets"]))
					c.setClaimOn(t, ns, "Secret", "social-account-alice", other)
				},
				Config: adminConfig(ns, `  email = "alice@example.org"
  rotate_password = "1"`),
				ExpectError: wrapped("Created again by another Terraform state", "mastodon_admin_user ("+ns+"/social/alice)", "claim "+other,
					"The update changed nothing"),
			},
			{
				// The password and the claim unchanged, no Job ran; the
				// claim back, the plan is empty.
				PreConfig: func() {
					now := c.ownedObjects(t, ns)
					if now["account Jobs"] != before["account Jobs"] {
						t.Fatalf("the refused update ran an account Job: %s -> %s", before["account Jobs"], now["account Jobs"])
					}
					if claimOf(now["Secret social-account-alice"]) != other {
						t.Fatalf("the refused update rewrote the account's claim: %q", now["Secret social-account-alice"])
					}
					if err := c.checkAccountSecret(ns, "alice", password, "generated")(nil); err != nil {
						t.Fatal(err)
					}
					c.setClaimOn(t, ns, "Secret", "social-account-alice", claimOf(before["Secret social-account-alice"]))
				},
				Config:           config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
		},
	})
}

// A replacement that moves the instance to another name is refused at
// plan when an instance lives there without this state's claim (here an
// earlier release's, with none): otherwise its destroy half would delete
// the old instance, and the create half would then refuse the live one.
func TestAccOwner_moveOntoUnclaimedRefusedAtPlan(t *testing.T) {
	c := newTestCluster(t)
	ns := "acc-move-" + randomSuffix()
	t.Cleanup(func() { _ = c.cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	moved := strings.Replace(instanceConfig(ns, ""), `name                = "social"`, `name                = "other"`, 1)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{Config: instanceConfig(ns, "")},
			{
				PreConfig: func() {
					cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "other-env", Namespace: ns,
						Labels: mastodon.Labels("other", mastodon.ComponentConfig, mastodon.OwnerInstance)}}
					if _, err := c.cs.CoreV1().ConfigMaps(ns).Create(context.Background(), cm, metav1.CreateOptions{}); err != nil {
						t.Fatal(err)
					}
				},
				Config:      moved,
				PlanOnly:    true,
				ExpectError: wrapped("The instance already exists", "mastodon_instance "+ns+"/other already exists", "ConfigMap other-env"),
			},
			{
				// The old instance is untouched; its plan is empty.
				Config:           instanceConfig(ns, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
		},
	})
}
