package provider

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func versionConfig(ns, version string) string {
	return instanceConfig(ns, fmt.Sprintf("  version = %q", version))
}

func (c *testCluster) job(ns, name string) (*batchv1.Job, error) {
	return c.cs.BatchV1().Jobs(ns).Get(context.Background(), name, metav1.GetOptions{})
}

// checkImages checks that every Deployment of the instance runs version.
func (c *testCluster) checkImages(ns, version string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		deps, err := c.cs.AppsV1().Deployments(ns).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			return err
		}
		if len(deps.Items) == 0 {
			return fmt.Errorf("no Deployment")
		}
		for _, d := range deps.Items {
			if img := d.Spec.Template.Spec.Containers[0].Image; !strings.HasSuffix(img, ":"+version) {
				return fmt.Errorf("Deployment %s runs %s, want %s", d.Name, img, version)
			}
		}
		return nil
	}
}

// checkUpgradeOrder checks the recorded order of an upgrade: the
// pre-deployment Job completed, then every Deployment rolled to the new
// version, then the post-deployment Job started.
func (c *testCluster) checkUpgradeOrder(ns, slug, version string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		ctx := context.Background()
		pre, err := c.job(ns, "social-db-migrate-pre-"+slug)
		if err != nil {
			return fmt.Errorf("pre-deployment Job: %w", err)
		}
		if pre.Status.CompletionTime == nil {
			return fmt.Errorf("the pre-deployment Job did not complete")
		}
		env := pre.Spec.Template.Spec.Containers[0].Env
		if len(env) != 1 || env[0].Name != "SKIP_POST_DEPLOYMENT_MIGRATIONS" || env[0].Value != "true" {
			return fmt.Errorf("the pre-deployment Job's environment is %v", env)
		}
		if img := pre.Spec.Template.Spec.Containers[0].Image; !strings.HasSuffix(img, ":"+version) {
			return fmt.Errorf("the pre-deployment Job ran %s, not the new image", img)
		}
		post, err := c.job(ns, "social-db-migrate-post-"+slug)
		if err != nil {
			return fmt.Errorf("post-deployment Job: %w", err)
		}
		if post.Status.CompletionTime == nil {
			return fmt.Errorf("the post-deployment Job did not complete")
		}
		rss, err := c.cs.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		second := func(t metav1.Time) time.Time { return t.Truncate(time.Second) }
		newRS := 0
		for _, rs := range rss.Items {
			if !strings.HasSuffix(rs.Spec.Template.Spec.Containers[0].Image, ":"+version) {
				continue
			}
			newRS++
			if rs.CreationTimestamp.Before(&metav1.Time{Time: second(*pre.Status.CompletionTime)}) {
				return fmt.Errorf("ReplicaSet %s (new version) was created before the pre-deployment Job completed", rs.Name)
			}
			if post.CreationTimestamp.Before(&metav1.Time{Time: second(rs.CreationTimestamp)}) {
				return fmt.Errorf("the post-deployment Job was created before ReplicaSet %s", rs.Name)
			}
		}
		if newRS != 3 {
			return fmt.Errorf("%d ReplicaSets run the new version, want 3", newRS)
		}
		return c.checkImages(ns, version)(nil)
	}
}

func TestAccUpgrade_success(t *testing.T) {
	c := newTestCluster(t)
	ns := "acc-upgrade-" + randomSuffix()
	t.Cleanup(func() { _ = c.cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{
				Config: versionConfig(ns, "v4.6.6"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("mastodon_instance.test", tfjsonpath.New("migrated_version"), knownvalue.StringExact("v4.6.6")),
				},
			},
			{
				Config: versionConfig(ns, "v4.7.2"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("mastodon_instance.test", plancheck.ResourceActionUpdate),
				}},
				Check: c.checkUpgradeOrder(ns, "4-7-2", "v4.7.2"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("mastodon_instance.test", tfjsonpath.New("migrated_version"), knownvalue.StringExact("v4.7.2")),
				},
			},
			{
				Config:           versionConfig(ns, "v4.7.2"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			{
				Config:      versionConfig(ns, "v4.6.6"),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`version:\s+v4.7.2\s+->\s+v4.6.6:[\s\S]*does\s+not\s+support\s+downgrades`),
			},
		},
	})
}

func TestAccUpgrade_minorSkipRefused(t *testing.T) {
	c := newTestCluster(t)
	ns := "acc-skip-" + randomSuffix()
	t.Cleanup(func() { _ = c.cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{Config: versionConfig(ns, "v4.5.11")},
			{
				Config:      versionConfig(ns, "v4.7.2"),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`v4.7.2\s+skips\s+a\s+minor\s+series\s+after\s+the\s+running\s+v4.5.11:\s+upgrade\s+to\s+the\s+newest\s+v4.6.x\s+first`),
			},
			{
				// terraform destroy plans the configuration first: the
				// refusal stops it too, and says how to go on.
				Config:      versionConfig(ns, "v4.7.2"),
				Destroy:     true,
				ExpectError: regexp.MustCompile(`(?s)skips\s+a\s+minor\s+series.*put\s+back\s+version\s+=\s+"v4.5.11",\s+or\s+run\s+.terraform\s+destroy\s+-refresh=false.`),
			},
		},
		// The test ends with terraform destroy -refresh=false, which
		// destroys the instance with the refused change still configured.
		CheckDestroy: func(*terraform.State) error {
			deps, err := c.cs.AppsV1().Deployments(ns).List(context.Background(), metav1.ListOptions{})
			if err != nil {
				return err
			}
			if len(deps.Items) > 0 {
				return fmt.Errorf("terraform destroy -refresh=false left %d Deployments", len(deps.Items))
			}
			return nil
		},
	})
}

func TestAccUpgrade_failingPreMigration(t *testing.T) {
	c := newTestCluster(t)
	ns := "acc-upgrade-pre-" + randomSuffix()
	t.Cleanup(func() { _ = c.cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	var heal func()
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{Config: versionConfig(ns, "v4.6.6")},
			{
				PreConfig:   func() { heal = c.failPods(t, ns, "db-migrate-pre", "PG-duplicate-column") },
				Config:      versionConfig(ns, "v4.7.2"),
				ExpectError: regexp.MustCompile(`(?s)Step 1 of the upgrade to v4.7.2 failed: pre-deployment.*BackoffLimitExceeded.*PG-duplicate-column.*were not touched`),
			},
			{
				// The Deployments still run the old version, and so does
				// state: the old configuration plans no change.
				PreConfig: func() {
					if err := c.checkImages(ns, "v4.6.6")(nil); err != nil {
						t.Fatal(err)
					}
				},
				Config:           versionConfig(ns, "v4.6.6"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			{
				PreConfig: func() { heal() },
				Config:    versionConfig(ns, "v4.7.2"),
				Check:     c.checkUpgradeOrder(ns, "4-7-2", "v4.7.2"),
			},
		},
	})
}

func TestAccUpgrade_resumesAfterFailedRolloutAndPostMigration(t *testing.T) {
	c := newTestCluster(t)
	ns := "acc-upgrade-resume-" + randomSuffix()
	t.Cleanup(func() { _ = c.cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	short := func(cfg string) string { return strings.Replace(cfg, `update = "3m"`, `update = "20s"`, 1) }
	var healWeb, healPost func()
	var preUID string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{Config: versionConfig(ns, "v4.6.6")},
			{
				// Step 2 never becomes ready within the timeout.
				PreConfig: func() {
					healWeb = c.failPods(t, ns, "web", "puma-crashed")
					healPost = c.failPods(t, ns, "db-migrate-post", "post-migration-failed")
				},
				Config:      short(versionConfig(ns, "v4.7.2")),
				ExpectError: regexp.MustCompile(`(?s)Step 2 of the upgrade to v4.7.2 failed.*social-web did not become ready.*puma-crashed`),
			},
			{
				// Once the rollout can succeed, the next apply resumes at step
				// 2 (the pre-deployment Job is not run again) and step 3 fails.
				PreConfig: func() {
					pre, err := c.job(ns, "social-db-migrate-pre-4-7-2")
					if err != nil {
						t.Fatal(err)
					}
					preUID = string(pre.UID)
					healWeb()
					_ = c.cs.CoreV1().Pods(ns).DeleteCollection(context.Background(), metav1.DeleteOptions{},
						metav1.ListOptions{LabelSelector: "app.kubernetes.io/component=web"})
				},
				Config:      versionConfig(ns, "v4.7.2"),
				ExpectError: regexp.MustCompile(`(?s)Step 3 of the upgrade to v4.7.2 failed: post-deployment.*post-migration-failed`),
			},
			{
				// The state shows the upgrade unfinished, and the next apply
				// retries the post-deployment migrations only.
				PreConfig: func() { healPost() },
				Config:    versionConfig(ns, "v4.7.2"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("mastodon_instance.test", plancheck.ResourceActionUpdate),
				}},
				Check: resource.ComposeAggregateTestCheckFunc(
					c.checkUpgradeOrder(ns, "4-7-2", "v4.7.2"),
					func(*terraform.State) error {
						pre, err := c.job(ns, "social-db-migrate-pre-4-7-2")
						if err != nil {
							return err
						}
						if string(pre.UID) != preUID {
							return fmt.Errorf("the pre-deployment Job ran again")
						}
						return nil
					},
				),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("mastodon_instance.test", tfjsonpath.New("migrated_version"), knownvalue.StringExact("v4.7.2")),
				},
			},
		},
	})
}

// An instance whose Secret has an OTP_SECRET (one that was created before
// 4.3) keeps it through an import; a fresh one gets none.
func TestAccUpgrade_importKeepsOTPSecret(t *testing.T) {
	c := newTestCluster(t)
	ns := "acc-otp-" + randomSuffix()
	t.Cleanup(func() { _ = c.cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	const otp = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{
				Config: instanceConfig(ns, ""),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("mastodon_instance.test", tfjsonpath.New("secrets").AtMapKey("otp_secret"), knownvalue.Null()),
				},
			},
			{
				// Forget the instance, and give its Secret an OTP_SECRET as an
				// instance from before 4.3 has.
				Config: `
removed {
  from = mastodon_instance.test
  lifecycle {
    destroy = false
  }
}
`,
				Check: func(*terraform.State) error {
					ctx := context.Background()
					sec, err := c.cs.CoreV1().Secrets(ns).Get(ctx, "social-secrets", metav1.GetOptions{})
					if err != nil {
						return err
					}
					sec.Data["OTP_SECRET"] = []byte(otp)
					_, err = c.cs.CoreV1().Secrets(ns).Update(ctx, sec, metav1.UpdateOptions{})
					return err
				},
			},
			{
				Config: instanceConfig(ns, "") + fmt.Sprintf(`
import {
  to = mastodon_instance.test
  id = "%s/social"
}
`, ns),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("mastodon_instance.test", tfjsonpath.New("secrets").AtMapKey("otp_secret"), knownvalue.StringExact(otp)),
				},
			},
			{
				// Applied again, the Secret still has it.
				Config: instanceConfig(ns, `  settings = { default_locale = "fr" }`),
				Check: func(*terraform.State) error {
					sec, err := c.cs.CoreV1().Secrets(ns).Get(context.Background(), "social-secrets", metav1.GetOptions{})
					if err != nil {
						return err
					}
					if string(sec.Data["OTP_SECRET"]) != otp {
						return fmt.Errorf("OTP_SECRET lost")
					}
					return nil
				},
			},
		},
	})
}
