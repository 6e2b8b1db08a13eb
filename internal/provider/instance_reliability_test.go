package provider

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
)

// In the GKE configuration the cluster, and so the provider's settings, and
// the database are created in the same apply: their values are unknown at
// plan time. The instance's other values are still checked then.
func TestAccInstance_validatedWhileOthersUnknown(t *testing.T) {
	testAccPreCheck(t)
	config := func(extra string) string {
		return fmt.Sprintf(`
resource "terraform_data" "cluster" {
  input = "https://127.0.0.1:1"
}

resource "terraform_data" "database" {
  input = "10.1.2.3"
}

provider "mastodon" {
  kubernetes = {
    host  = terraform_data.cluster.output
    token = "not-used-at-plan-time"
  }
}

resource "mastodon_instance" "test" {
  name                = "social"
  namespace           = "acc-unknown"
  local_domain        = "social.example"
  deletion_protection = false
  database = {
    host     = terraform_data.database.output
    user     = "mastodon"
    password = "secret"
  }
%s
}
`, extra)
	}
	cases := []struct{ extra, want string }{
		{`  web = { replicas = -1 }`, `web.replicas: must not be negative`},
		{`  version = "latest"`, `"latest" is not a Mastodon version`},
		{`  sidekiq = [{ name = "a", queues = ["scheduler"] }, { name = "b", queues = ["scheduler"] }]`, `the scheduler queue is already served by process "a"`},
		{`  media = { storage_size = "10Gi" }
  media_bucket = {
    bucket            = terraform_data.database.output
    endpoint          = "https://storage.googleapis.com"
    access_key_id     = "GOOG1E"
    secret_access_key = "secret"
  }`, `media configures the volume that holds uploads`},
		{`  redis = { host = terraform_data.database.output, password_wo = "x" }`, `redis.password_wo needs redis.password_wo_version`},
	}
	var steps []resource.TestStep
	for _, tc := range cases {
		steps = append(steps, resource.TestStep{
			Config: config(tc.extra), PlanOnly: true,
			ExpectError: regexp.MustCompile(strings.ReplaceAll(regexp.QuoteMeta(tc.want), " ", `\s+`)),
		})
	}
	// What an unknown value could still make right is not refused: the
	// database's host, unknown, is not reported as missing.
	steps = append(steps, resource.TestStep{Config: config(""), PlanOnly: true, ExpectNonEmptyPlan: true})
	resource.Test(t, resource.TestCase{ProtoV6ProviderFactories: testAccProviders, Steps: steps})
}
