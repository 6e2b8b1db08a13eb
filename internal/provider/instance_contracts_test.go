package provider

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
)

// Mastodon's contracts refused at plan time (internal/mastodon/contracts.go
// says why each holds, citing Mastodon's files), and not refused while a
// value that could make them right is unknown. The provider's cluster is
// unknown too, so nothing is read from one.
func TestAccInstance_contractRefusals(t *testing.T) {
	testAccPreCheck(t)
	config := func(extra string) string {
		return fmt.Sprintf(`
resource "terraform_data" "cluster" {
  input = "https://127.0.0.1:1"
}

resource "terraform_data" "later" {
  input = "4"
}

provider "mastodon" {
  kubernetes = {
    host  = terraform_data.cluster.output
    token = "not-used-at-plan-time"
  }
}

resource "mastodon_instance" "test" {
  name                = "social"
  namespace           = "acc-contracts"
  local_domain        = "social.example"
  deletion_protection = false
%s
}
`, extra)
	}
	const allButScheduler = `["default,8", "push,6", "ingress,4", "mailers,2", "pull", "fasp"]`
	cases := []struct{ extra, want string }{
		{`  database = { host = "db.internal", user = "mastodon", password = "p", sslmode = "verify-full" }`,
			`database.sslmode: verify-full verifies the server's certificate against a CA, and none is given`},
		{`  database = { host = "db.internal", user = "mastodon", password = "p", sslmode = "verify-ca" }`,
			`database.sslmode: verify-ca verifies the server's certificate against a CA`},
		{`  sidekiq = [{ name = "all", queues = ["default,8", "push,6", "ingress,4", "pull", "scheduler", "fasp"] }]`,
			`sidekiq: no process serves the mailers queue: no mail goes out`},
		{`  sidekiq = [{ name = "main", queues = ` + allButScheduler + ` }, { name = "scheduler", queues = ["scheduler"], replicas = 0 }]`,
			`sidekiq: every process serving the scheduler queue has 0 replicas: the scheduled jobs of config/sidekiq.yml never run`},
		{`  database = { host = "db.internal", user = "mastodon", password = "p", pool = 3 }`,
			`database.pool: 3 is below web.max_threads (5)`},
		{`  version = "v4.3.9"
  metrics = { enabled = true }`, `metrics: v4.3.9 has no Prometheus exporter`},
		{`  database = { host = "db.internal", user = "mastodon", password = "p", max_connections = -1 }`,
			`database.max_connections: must not be negative`},
	}
	var steps []resource.TestStep
	for _, tc := range cases {
		steps = append(steps, resource.TestStep{
			Config: config(tc.extra), PlanOnly: true,
			ExpectError: regexp.MustCompile(strings.ReplaceAll(regexp.QuoteMeta(tc.want), " ", `\s+`)),
		})
	}
	// Unknown values that could make each right: the threads a pool is
	// compared with, the CA, the version a queue list is checked against.
	for _, extra := range []string{
		`  database = { host = "db.internal", user = "mastodon", password = "p", pool = 3 }
  web = { max_threads = terraform_data.later.output }`,
		`  database = { host = "db.internal", user = "mastodon", password = "p", sslmode = "verify-full", ca_certificate_pem = terraform_data.later.output }`,
		`  version = terraform_data.later.output
  sidekiq = [{ name = "all", queues = ["default,8", "push,6", "ingress,4", "mailers,2", "pull", "scheduler"] }]`,
	} {
		steps = append(steps, resource.TestStep{Config: config(extra), PlanOnly: true, ExpectNonEmptyPlan: true})
	}
	resource.Test(t, resource.TestCase{ProtoV6ProviderFactories: testAccProviders, Steps: steps})
}
