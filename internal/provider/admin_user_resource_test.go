package provider

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func adminConfig(ns, extra string) string {
	// On real nodes Mastodon refuses an email domain that does not resolve
	// (EmailMxValidator) unless the domain is allowed explicitly.
	return instanceConfig(ns, `  settings = { email_domain_allowlist = ["social.example"] }`) + fmt.Sprintf(`
resource "mastodon_admin_user" "owner" {
  instance = mastodon_instance.test.id
  username = "alice"
%s
}
`, extra)
}

// accountJobs returns the instance's account Jobs, oldest first.
func (c *testCluster) accountJobs(ns string) ([]batchv1.Job, error) {
	jobs, err := c.cs.BatchV1().Jobs(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "app.kubernetes.io/component=account"})
	if err != nil {
		return nil, err
	}
	items := jobs.Items
	for i := 1; i < len(items); i++ {
		for j := i; j > 0 && items[j].CreationTimestamp.Before(&items[j-1].CreationTimestamp); j-- {
			items[j], items[j-1] = items[j-1], items[j]
		}
	}
	return items, nil
}

func env(job batchv1.Job) map[string]string {
	out := map[string]string{}
	for _, e := range job.Spec.Template.Spec.Containers[0].Env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			out[e.Name] = "secret:" + e.ValueFrom.SecretKeyRef.Name + "/" + e.ValueFrom.SecretKeyRef.Key
			continue
		}
		out[e.Name] = e.Value
	}
	return out
}

// checkLastJob checks the newest account Job: its command, its environment,
// and that it completed.
func (c *testCluster) checkLastJob(ns string, count int, script string, want map[string]string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		jobs, err := c.accountJobs(ns)
		if err != nil {
			return err
		}
		if len(jobs) != count {
			return fmt.Errorf("%d account Jobs, want %d", len(jobs), count)
		}
		job := jobs[len(jobs)-1]
		if job.Status.Succeeded != 1 {
			return fmt.Errorf("Job %s did not succeed", job.Name)
		}
		cmd := strings.Join(job.Spec.Template.Spec.Containers[0].Command, " ")
		if !strings.Contains(cmd, script) {
			return fmt.Errorf("Job %s runs %q, want it to contain %q", job.Name, cmd, script)
		}
		got := env(job)
		for k, v := range want {
			if got[k] != v {
				return fmt.Errorf("Job %s: %s = %q, want %q", job.Name, k, got[k], v)
			}
		}
		return nil
	}
}

func TestAccAdminUser_lifecycle(t *testing.T) {
	c := newTestCluster(t)
	ns := "acc-admin-" + randomSuffix()
	t.Cleanup(func() { _ = c.cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	var firstPassword string
	var deleted func() []batchv1.Job
	secretPassword := func() (string, error) {
		sec, err := c.cs.CoreV1().Secrets(ns).Get(context.Background(), "social-account-alice", metav1.GetOptions{})
		if err != nil {
			return "", err
		}
		return string(sec.Data["password"]), nil
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{
				Config: adminConfig(ns, `  email = "alice@example.org"`),
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr("mastodon_admin_user.owner", "id", ns+"/social/alice"),
					resource.TestCheckResourceAttr("mastodon_admin_user.owner", "role", "Owner"),
					resource.TestMatchResourceAttr("mastodon_admin_user.owner", "password", regexp.MustCompile(`^[A-Za-z0-9]{32}$`)),
					c.checkLastJob(ns, 1, "bin/tootctl accounts create \"$ACCOUNT_USERNAME\"", map[string]string{
						"ACCOUNT_USERNAME":     "alice",
						"ACCOUNT_EMAIL":        "alice@example.org",
						"ACCOUNT_ROLE":         "Owner",
						"ACCOUNT_CREATE_FLAGS": "--confirmed --approve",
						"ACCOUNT_PASSWORD":     "secret:social-account-alice/password",
					}),
					func(s *terraform.State) error {
						firstPassword = s.RootModule().Resources["mastodon_admin_user.owner"].Primary.Attributes["password"]
						got, err := secretPassword()
						if err != nil || got != firstPassword {
							return fmt.Errorf("the Secret does not hold the state's password (%w)", err)
						}
						return nil
					},
				),
			},
			{
				Config:           adminConfig(ns, `  email = "alice@example.org"`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			{
				ResourceName:            "mastodon_admin_user.owner",
				ImportState:             true,
				ImportStateId:           ns + "/social/alice",
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"timeouts"},
			},
			{
				// Role and email changes run a modify Job; the password stays.
				Config: adminConfig(ns, `  email = "owner@example.org"
  role  = "Admin"`),
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttrPtr("mastodon_admin_user.owner", "password", &firstPassword),
					c.checkLastJob(ns, 2, "bin/tootctl accounts modify \"$ACCOUNT_USERNAME\" --email \"$ACCOUNT_EMAIL\" --role \"$ACCOUNT_ROLE\" $ACCOUNT_MODIFY_FLAGS", map[string]string{
						"ACCOUNT_EMAIL":        "owner@example.org",
						"ACCOUNT_ROLE":         "Admin",
						"ACCOUNT_MODIFY_FLAGS": "--enable --confirm --approve",
					}),
				),
			},
			{
				// Rotation sets a new password, through the Secret.
				Config: adminConfig(ns, `  email           = "owner@example.org"
  role            = "Admin"
  rotate_password = "2026-11"`),
				Check: resource.ComposeAggregateTestCheckFunc(
					c.checkLastJob(ns, 3, "u.valid_password?(p) then puts \"password unchanged\" else u.change_password!(p)", nil),
					func(s *terraform.State) error {
						pw := s.RootModule().Resources["mastodon_admin_user.owner"].Primary.Attributes["password"]
						got, err := secretPassword()
						if pw == firstPassword || err != nil || got != pw {
							return fmt.Errorf("the password was not rotated into the Secret (%w)", err)
						}
						return nil
					},
				),
			},
			{
				// Removing the account runs a delete Job that completes, then
				// removes the account's objects: its Secret and its Jobs.
				PreConfig: func() { deleted = c.watchJobs(t, ns) },
				Config:    instanceConfig(ns, ""),
				Check: func(*terraform.State) error {
					if _, err := secretPassword(); err == nil {
						return fmt.Errorf("the account's Secret is still there")
					}
					jobs, err := c.accountJobs(ns)
					if err != nil {
						return err
					}
					if len(jobs) > 0 {
						return fmt.Errorf("%d account Jobs left", len(jobs))
					}
					for _, j := range deleted() {
						if strings.Contains(strings.Join(j.Spec.Template.Spec.Containers[0].Command, " "), "bin/tootctl accounts delete") &&
							env(j)["ACCOUNT_USERNAME"] == "alice" && j.Status.Succeeded > 0 {
							return nil
						}
					}
					return fmt.Errorf("no delete Job for alice completed")
				},
			},
		},
	})
}

// watchJobs records the account Jobs of a namespace, as last seen, until
// the test ends: the returned func lists them.
func (c *testCluster) watchJobs(t *testing.T, ns string) func() []batchv1.Job {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	w, err := c.cs.BatchV1().Jobs(ns).Watch(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/component=account"})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string]batchv1.Job{}
	go func() {
		for ev := range w.ResultChan() {
			if j, ok := ev.Object.(*batchv1.Job); ok {
				mu.Lock()
				seen[j.Name] = *j
				mu.Unlock()
			}
		}
	}()
	return func() []batchv1.Job {
		mu.Lock()
		defer mu.Unlock()
		var out []batchv1.Job
		for _, j := range seen {
			out = append(out, j)
		}
		return out
	}
}

func TestAccAdminUser_writeOnlyPassword(t *testing.T) {
	c := newTestCluster(t)
	ns := "acc-admin-wo-" + randomSuffix()
	t.Cleanup(func() { _ = c.cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	cfg := func(pw string, v int, more ...string) string {
		return adminConfig(ns, fmt.Sprintf(`  email               = "alice@example.org"
  password_wo         = %q
  password_wo_version = %d
`, pw, v)+strings.Join(more, "\n"))
	}
	has := func(pw string) resource.TestCheckFunc {
		return func(s *terraform.State) error {
			sec, err := c.cs.CoreV1().Secrets(ns).Get(context.Background(), "social-account-alice", metav1.GetOptions{})
			if err != nil {
				return err
			}
			if string(sec.Data["password"]) != pw {
				return fmt.Errorf("the Secret does not hold the write-only password")
			}
			if _, ok := s.RootModule().Resources["mastodon_admin_user.owner"].Primary.Attributes["password"]; ok &&
				s.RootModule().Resources["mastodon_admin_user.owner"].Primary.Attributes["password"] != "" {
				return fmt.Errorf("state holds a password")
			}
			return nil
		}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{Config: cfg("correct horse battery", 1), Check: has("correct horse battery")},
			{Config: cfg("correct horse battery", 1), ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}}},
			{Config: cfg("staple staple staple", 2), Check: has("staple staple staple")},
			{
				// A new password under the same version, in an update made
				// for another reason (the role): not applied, the version is
				// the only trigger.
				Config: cfg("not applied, same version", 2, `  role = "Admin"`),
				Check:  has("staple staple staple"),
			},
			{Config: cfg("applied with version 3", 3, `  role = "Admin"`), Check: has("applied with version 3")},
		},
	})
}

func TestAccAdminUser_failingJob(t *testing.T) {
	c := newTestCluster(t)
	ns := "acc-admin-fail-" + randomSuffix()
	t.Cleanup(func() { _ = c.cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	var heal func()
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{Config: instanceConfig(ns, "")},
			{
				PreConfig:   func() { heal = c.failPods(t, ns, "account", "Email-has-already-been-taken") },
				Config:      adminConfig(ns, `  email = "alice@example.org"`),
				ExpectError: regexp.MustCompile(`(?s)The account Job failed.*BackoffLimitExceeded.*exit code 1.*Email-has-already-been-taken.*Secret\s+and\s+Job\s+were\s+removed`),
			},
			{
				// The failed create left nothing that the next create
				// would take for a live account: once the cause is fixed,
				// it creates the account.
				PreConfig: func() {
					if _, err := c.cs.CoreV1().Secrets(ns).Get(context.Background(), "social-account-alice", metav1.GetOptions{}); err == nil {
						t.Fatal("the failed create left the account's Secret")
					}
					if jobs, err := c.accountJobs(ns); err != nil || len(jobs) != 0 {
						t.Fatalf("the failed create left %d account Jobs (%v)", len(jobs), err)
					}
					heal()
				},
				Config: adminConfig(ns, `  email = "alice@example.org"`),
				Check:  c.checkLastJob(ns, 1, "bin/tootctl accounts create", map[string]string{"ACCOUNT_USERNAME": "alice"}),
			},
		},
	})
}

func TestAccAdminUser_invalidInput(t *testing.T) {
	testAccPreCheck(t)
	cases := []struct{ extra, want string }{
		{`  email           = "alice@example.org"
  password_wo     = "a long enough password"
  rotate_password = "1"`, `rotate_password rotates generated passwords`},
		{`  email = "not-an-email"`, `email: "not-an-email" is not an email address`},
		{`  email = "owner@social.example"`, `Mastodon refuses, in production, an email domain without MX or A records`},
		{`  email = "alice@example.org"
  role  = "owner"`, `value must be one of`},
		{`  email       = "alice@example.org"
  password_wo = "short"`, `password_wo must be 8 to 72 characters long`},
		{`  email       = "alice@social.example"
  password_wo = "a long enough password"`, `password_wo needs password_wo_version`},
	}
	var steps []resource.TestStep
	for _, tc := range cases {
		steps = append(steps, resource.TestStep{
			Config: adminConfig("acc-admin-invalid", tc.extra), PlanOnly: true,
			ExpectError: regexp.MustCompile(strings.ReplaceAll(regexp.QuoteMeta(tc.want), " ", `\s+`)),
		})
	}
	for _, u := range []string{"admin", "Moderator", "alice.smith", "a_very_long_username_of_31_char"} {
		cfg := strings.Replace(adminConfig("acc-admin-invalid", `  email = "x@example.org"`), `username = "alice"`, fmt.Sprintf("username = %q", u), 1)
		steps = append(steps, resource.TestStep{Config: cfg, PlanOnly: true, ExpectError: regexp.MustCompile(`username:\s+"` + u + `"\s+is`)})
	}
	resource.Test(t, resource.TestCase{ProtoV6ProviderFactories: testAccProviders, Steps: steps})
}
