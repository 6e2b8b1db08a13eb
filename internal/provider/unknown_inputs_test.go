package provider

import (
	"context"
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// unknownInputsConfig gives every input of an instance and of an account
// from terraform_data, so each is unknown when the plan is made (a value
// another provider computes in the same apply).
func unknownInputsConfig(ns string) string {
	return fmt.Sprintf(`
resource "terraform_data" "in" {
  input = {
    name             = "social"
    namespace        = %q
    create_namespace = true
    domain           = "social.example"
    version          = "v4.7.3"
    web              = { replicas = 2 }
    streaming        = { replicas = 1 }
    sidekiq          = [{ name = "all", queues = ["default", "push", "ingress", "mailers", "pull", "scheduler", "fasp"] }]
    embedded_db      = { delete_volume_on_destroy = true }
    embedded_redis   = { delete_volume_on_destroy = true }
    media            = { delete_volume_on_destroy = true }
    ingress          = { class_name = "nginx", wait_for_load_balancer = false }
    opensearch       = { host = "opensearch.search.svc", user = "mastodon", password = "es-password", wait_for_index = true }
    settings         = { email_domain_allowlist = ["social.example"] }
    maintenance      = { enabled = true }
    protection       = false
    username         = "alice"
    email            = "alice@example.org"
    role             = "Admin"
  }
}

locals {
  in = terraform_data.in.output
}

resource "mastodon_instance" "test" {
  name                = local.in.name
  namespace           = local.in.namespace
  create_namespace    = local.in.create_namespace
  local_domain        = local.in.domain
  version             = local.in.version
  deletion_protection = local.in.protection
  web                 = local.in.web
  streaming           = local.in.streaming
  sidekiq             = local.in.sidekiq
  embedded_database   = local.in.embedded_db
  embedded_redis      = local.in.embedded_redis
  media               = local.in.media
  ingress             = local.in.ingress
  opensearch          = local.in.opensearch
  settings            = local.in.settings
  maintenance         = local.in.maintenance
}

resource "mastodon_admin_user" "test" {
  instance = mastodon_instance.test.id
  username = local.in.username
  email    = local.in.email
  role     = local.in.role
}
`, ns)
}

// Every input unknown at plan, then apply: Terraform compares each value
// the plan knew with what the apply returned, and fails the apply with
// "Provider produced inconsistent result after apply" on any difference;
// what the plan could not know must be unknown in it, never a default.
func TestAccUnknownInputs_instanceAndAccount(t *testing.T) {
	c := newTestCluster(t)
	ns := "acc-unknown-in-" + randomSuffix()
	t.Cleanup(func() { _ = c.cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	unknown := func(addr string, attrs ...string) []plancheck.PlanCheck {
		var out []plancheck.PlanCheck
		for _, a := range attrs {
			out = append(out, plancheck.ExpectUnknownValue(addr, tfjsonpath.New(a)))
		}
		return out
	}
	checks := append(unknown("mastodon_instance.test", "id", "url", "secrets", "search_index", "load_balancer_ip", "migrated_version"),
		unknown("mastodon_admin_user.test", "id", "password")...)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{
				Config:           unknownInputsConfig(ns),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: checks},
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr("mastodon_instance.test", "ready", "true"),
					resource.TestCheckResourceAttr("mastodon_instance.test", "migrated_version", "v4.7.3"),
					resource.TestCheckResourceAttrSet("mastodon_instance.test", "search_index"),
					resource.TestCheckResourceAttr("mastodon_admin_user.test", "role", "Admin"),
				),
			},
			{Config: unknownInputsConfig(ns), ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}}},
		},
	})
}
