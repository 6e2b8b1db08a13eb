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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func instanceConfig(ns, extra string) string {
	return fmt.Sprintf(`
resource "mastodon_instance" "test" {
  name                = "social"
  namespace           = %q
  local_domain        = "social.example"
  deletion_protection = false
  timeouts = {
    create = "3m"
    update = "3m"
    delete = "3m"
  }
%s
}
`, ns, extra)
}

// checkPrepareBeforeDeployments checks in the cluster that the db-prepare
// Job had completed before the first Deployment was created.
func (c *testCluster) checkPrepareBeforeDeployments(ns string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		ctx := context.Background()
		jobs, err := c.cs.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/component=db-prepare"})
		if err != nil {
			return err
		}
		if len(jobs.Items) != 1 || jobs.Items[0].Status.CompletionTime == nil {
			return fmt.Errorf("want one completed db-prepare Job, got %d", len(jobs.Items))
		}
		done := jobs.Items[0].Status.CompletionTime.Time
		deps, err := c.cs.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/instance=social"})
		if err != nil {
			return err
		}
		if len(deps.Items) != 3 {
			return fmt.Errorf("want web, streaming and one Sidekiq Deployment, got %d", len(deps.Items))
		}
		for _, d := range deps.Items {
			// Timestamps have a one-second resolution.
			if d.CreationTimestamp.Time.Before(done.Truncate(time.Second)) {
				return fmt.Errorf("Deployment %s was created at %s, before the db-prepare Job completed at %s", d.Name, d.CreationTimestamp, done)
			}
		}
		return nil
	}
}

func TestAccInstance_basic(t *testing.T) {
	c := newTestCluster(t)
	ns := "acc-basic-" + randomSuffix()
	t.Cleanup(func() { _ = c.cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	var secretKeyBase string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		PreCheck:                 func() { testAccPreCheck(t) },
		Steps: []resource.TestStep{
			{
				Config: instanceConfig(ns, ""),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("mastodon_instance.test", tfjsonpath.New("id"), knownvalue.StringExact(ns+"/social")),
					statecheck.ExpectKnownValue("mastodon_instance.test", tfjsonpath.New("url"), knownvalue.StringExact("https://social.example")),
					statecheck.ExpectKnownValue("mastodon_instance.test", tfjsonpath.New("ready"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue("mastodon_instance.test", tfjsonpath.New("drift"), knownvalue.ListExact([]knownvalue.Check{})),
					statecheck.ExpectKnownValue("mastodon_instance.test", tfjsonpath.New("vapid_public_key"), knownvalue.StringRegexp(regexp.MustCompile(`^B[A-Za-z0-9_-]{86}=$`))),
					statecheck.ExpectKnownValue("mastodon_instance.test", tfjsonpath.New("secrets").AtMapKey("secret_key_base"), knownvalue.StringRegexp(regexp.MustCompile(`^[0-9a-f]{128}$`))),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					c.checkPrepareBeforeDeployments(ns),
					func(s *terraform.State) error {
						secretKeyBase = s.RootModule().Resources["mastodon_instance.test"].Primary.Attributes["secrets.secret_key_base"]
						return nil
					},
					c.checkNoSecretInConfigMap(ns, "social-env"),
				),
			},
			{
				// A second plan is empty.
				Config: instanceConfig(ns, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
			{
				ResourceName:      "mastodon_instance.test",
				ImportState:       true,
				ImportStateId:     ns + "/social",
				ImportStateVerify: true,
				ImportStateVerifyIgnore: []string{"timeouts"},
			},
			{
				// Scale web: only web rolls; the generated secrets stay.
				Config: instanceConfig(ns, `  web = { replicas = 2 }`),
				Check: resource.ComposeAggregateTestCheckFunc(
					func(s *terraform.State) error {
						if got := s.RootModule().Resources["mastodon_instance.test"].Primary.Attributes["secrets.secret_key_base"]; got != secretKeyBase {
							return fmt.Errorf("secret_key_base changed")
						}
						return nil
					},
					c.checkReplicas(ns, "social-web", 2),
				),
			},
		},
	})
}

func (c *testCluster) checkNoSecretInConfigMap(ns, name string) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		cm, err := c.cs.CoreV1().ConfigMaps(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		attrs := s.RootModule().Resources["mastodon_instance.test"].Primary.Attributes
		for k, v := range attrs {
			if !strings.HasPrefix(k, "secrets.") || len(v) < 8 {
				continue
			}
			for key, value := range cm.Data {
				if strings.Contains(value, v) {
					return fmt.Errorf("ConfigMap %s key %s holds the secret %s", name, key, k)
				}
			}
			for key, value := range cm.Annotations {
				if strings.Contains(value, v) {
					return fmt.Errorf("ConfigMap %s annotation %s holds the secret %s", name, key, k)
				}
			}
		}
		return nil
	}
}

func (c *testCluster) checkReplicas(ns, name string, want int32) resource.TestCheckFunc {
	return func(*terraform.State) error {
		d, err := c.cs.AppsV1().Deployments(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if *d.Spec.Replicas != want || d.Status.ReadyReplicas != want {
			return fmt.Errorf("Deployment %s: %d replicas, %d ready, want %d", name, *d.Spec.Replicas, d.Status.ReadyReplicas, want)
		}
		return nil
	}
}
