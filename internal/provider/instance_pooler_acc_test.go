package provider

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

// An external database put behind a transaction-mode pooler, with the
// migrations' direct connection and a read replica, with an account
// present: switched on, the ConfigMap turns prepared statements off and
// names the replica, whose password (write-only) and the direct one each
// land in their Secret, and every Deployment rolls; the database is not
// prepared again (the server is the same). A new direct user and password
// roll nothing; an upgrade then runs its migration Jobs against the direct
// address. Switched off, everything of it goes and the Deployments roll
// back; on again with the direct connection and the replica unknown at
// plan. Generated secrets and the admin's password never change.
func TestAccInstance_poolerDirectReplica(t *testing.T) {
	c := newTestCluster(t)
	ns := c.scalingNamespace(t, "acc-pooler")
	ctx := context.Background()
	const plainDB = `  database = {
    host     = "db.internal"
    user     = "mastodon"
    password = "db-password"
  }`
	pooled := func(directUser, directPassword string) string {
		return fmt.Sprintf(`  database = {
    host     = "pgbouncer.internal"
    port     = 6432
    user     = "mastodon"
    password = "db-password"
    pooler   = { mode = "transaction", max_client_connections = 500 }
    direct   = { host = "db.internal", user = %q, password = %q }
    replica  = { host = "db-replica.internal", password_wo = "replica-password", password_wo_version = 1 }
  }`, directUser, directPassword)
	}
	var account snapshot
	var templates map[string]string
	var adminPassword string
	// check checks the ConfigMap's and the Secrets' database variables,
	// which Deployments rolled since the last check, that the database
	// was prepared once, and what must not change.
	check := func(on bool, directPassword string, rolled bool) resource.TestCheckFunc {
		return resource.ComposeTestCheckFunc(c.unchangedAccount(ns, &account), func(s *terraform.State) error {
			cm, err := c.cs.CoreV1().ConfigMaps(ns).Get(ctx, "social-env", metav1.GetOptions{})
			if err != nil {
				return err
			}
			want := map[string]string{"DB_HOST": "db.internal", "DB_PORT": "5432", "PREPARED_STATEMENTS": "true"}
			if on {
				want = map[string]string{"DB_HOST": "pgbouncer.internal", "DB_PORT": "6432", "PREPARED_STATEMENTS": "false",
					"REPLICA_DB_HOST": "db-replica.internal", "REPLICA_DB_PORT": "5432", "REPLICA_DB_NAME": "mastodon_production",
					"REPLICA_PREPARED_STATEMENTS": "false"}
			}
			got := map[string]string{}
			for k, v := range cm.Data {
				if _, ok := want[k]; ok || strings.HasPrefix(k, "REPLICA_") {
					got[k] = v
				}
			}
			if !maps.Equal(got, want) {
				return fmt.Errorf("the ConfigMap's database variables: %v, want %v", got, want)
			}
			sec, err := c.cs.CoreV1().Secrets(ns).Get(ctx, "social-secrets", metav1.GetOptions{})
			if err != nil {
				return err
			}
			if string(sec.Data["DB_PASS"]) != "db-password" || (string(sec.Data["REPLICA_DB_PASS"]) == "replica-password") != on {
				return fmt.Errorf("the instance's Secret: DB_PASS %q, REPLICA_DB_PASS %q", sec.Data["DB_PASS"], sec.Data["REPLICA_DB_PASS"])
			}
			direct, err := c.cs.CoreV1().Secrets(ns).Get(ctx, "social-database-direct", metav1.GetOptions{})
			switch {
			case on && err != nil:
				return err
			case on && string(direct.Data["DB_PASS"]) != directPassword:
				return fmt.Errorf("the direct Secret holds %q, want %q", direct.Data["DB_PASS"], directPassword)
			case !on && err == nil:
				return fmt.Errorf("the direct Secret outlived the direct connection")
			}
			prepares, err := c.cs.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/component=" + mastodon.ComponentPrepare})
			if err != nil {
				return err
			}
			if len(prepares.Items) != 1 {
				return fmt.Errorf("%d db-prepare Jobs, want 1: a pooler in front of the same server prepares nothing", len(prepares.Items))
			}
			now, err := c.templates(ns)
			if err != nil {
				return err
			}
			if templates != nil {
				for name, sum := range now {
					if (sum != templates[name]) != rolled {
						return fmt.Errorf("%s rolled: %v, want %v", name, sum != templates[name], rolled)
					}
				}
			}
			templates = now
			admin := s.RootModule().Resources["mastodon_admin_user.owner"].Primary.Attributes["password"]
			if adminPassword != "" && admin != adminPassword {
				return fmt.Errorf("the admin's password changed")
			}
			adminPassword = admin
			return nil
		})
	}
	// migratedDirect checks that both migration Jobs of version reached
	// the direct address, as the direct user, with its password.
	migratedDirect := func(version, user string) resource.TestCheckFunc {
		return func(*terraform.State) error {
			for _, phase := range []string{mastodon.ComponentMigratePre, mastodon.ComponentMigratePost} {
				j, err := c.job(ns, "social-"+phase+"-"+strings.ReplaceAll(strings.TrimPrefix(version, "v"), ".", "-"))
				if err != nil {
					return err
				}
				e := env(*j)
				if e["DB_HOST"] != "db.internal" || e["DB_PORT"] != "5432" || e["DB_USER"] != user || e["DB_PASS"] != "secret:social-database-direct/DB_PASS" {
					return fmt.Errorf("%s: %v", j.Name, e)
				}
			}
			return nil
		}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{Config: lifecycleConfig(ns, "v4.6.5", plainDB), Check: check(false, "", false)},
			{Config: lifecycleConfig(ns, "v4.6.5", pooled("owner", "direct-1")), Check: check(true, "direct-1", true)},
			{ResourceName: "mastodon_instance.test", ImportState: true, ImportStateId: ns + "/social", ImportStateVerify: true},
			{Config: lifecycleConfig(ns, "v4.6.5", pooled("owner-2", "direct-2")), Check: check(true, "direct-2", false)},
			{Config: lifecycleConfig(ns, "v4.7.3", pooled("owner-2", "direct-2")),
				Check: resource.ComposeTestCheckFunc(check(true, "direct-2", true), migratedDirect("v4.7.3", "owner-2"))},
			{Config: lifecycleConfig(ns, "v4.7.3", plainDB), Check: check(false, "", true)},
			// On again, the direct connection and the replica known only
			// at apply (another provider's values): the plan refuses
			// nothing it cannot judge, the apply gives what was planned.
			{Config: lifecycleConfig(ns, "v4.7.3", unknownAtPlan) + `
resource "terraform_data" "db" {
  input = {
    direct  = { host = "db.internal", user = "owner-3", password = "direct-3" }
    replica = { host = "db-replica.internal", password = "replica-password" }
  }
}
`, Check: check(true, "direct-3", true)},
		},
	})
}

// unknownAtPlan is the pooled database with its direct connection and
// replica from terraform_data.db.
const unknownAtPlan = `  database = {
    host     = "pgbouncer.internal"
    port     = 6432
    user     = "mastodon"
    password = "db-password"
    pooler   = { mode = "transaction" }
    direct   = terraform_data.db.output.direct
    replica  = terraform_data.db.output.replica
  }`

// A Cloud SQL replica, with an account present: switched on, every Pod's
// proxy serves the replica's instance on 127.0.0.1:5433 beside the
// primary's, the ConfigMap names it, and the Deployments roll; another
// replica instance rolls them again; switched off, the proxy serves the
// primary alone. The embedded Redis keeps its Pod, the generated secrets
// and the admin's password stay.
func TestAccInstance_cloudSQLReplica(t *testing.T) {
	c := newTestCluster(t)
	ns := c.scalingNamespace(t, "acc-sqlreplica")
	ctx := context.Background()
	config := func(replica string) string {
		return lifecycleConfig(ns, "v4.7.3", fmt.Sprintf(`  database = {
    user      = "mastodon"
    password  = "db-password"
    cloud_sql = {
      instance_connection_name          = "my-project:europe-west1:mastodon"
      workload_identity_service_account = "mastodon@my-project.iam.gserviceaccount.com"
    }
%s
  }`, replica))
	}
	replica := func(name string) string {
		return fmt.Sprintf(`    replica = { cloud_sql_instance = "my-project:europe-west1:%s" }`, name)
	}
	var account snapshot
	var before map[string]string
	check := func(instance string) resource.TestCheckFunc {
		return resource.ComposeTestCheckFunc(c.unchangedAccount(ns, &account), func(*terraform.State) error {
			cm, err := c.cs.CoreV1().ConfigMaps(ns).Get(ctx, "social-env", metav1.GetOptions{})
			if err != nil {
				return err
			}
			if on := instance != ""; (cm.Data["REPLICA_DB_HOST"] == "127.0.0.1" && cm.Data["REPLICA_DB_PORT"] == "5433") != on {
				return fmt.Errorf("the ConfigMap's replica: %q:%q, want it %v", cm.Data["REPLICA_DB_HOST"], cm.Data["REPLICA_DB_PORT"], on)
			}
			want := "my-project:europe-west1:mastodon"
			if instance != "" {
				want += " my-project:europe-west1:" + instance + "?port=5433"
			}
			deps, err := c.cs.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/instance=social"})
			if err != nil {
				return err
			}
			for _, d := range deps.Items {
				if d.Labels[mastodon.LabelComponent] == mastodon.ComponentRedis {
					continue
				}
				args := ""
				for _, ic := range d.Spec.Template.Spec.InitContainers {
					if ic.Name == "cloud-sql-proxy" {
						args = strings.Join(ic.Args, " ")
					}
				}
				if !strings.HasSuffix(args, "--http-port=9801 "+want) {
					return fmt.Errorf("%s's proxy: %q, want it to serve %q", d.Name, args, want)
				}
			}
			now := c.podTemplates(t, ns)
			for name, tpl := range now {
				rolled := before != nil && tpl != before[name]
				if before != nil && rolled == (name == "social-redis") {
					return fmt.Errorf("%s rolled: %v", name, rolled)
				}
			}
			before = now
			return nil
		})
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{Config: config(""), Check: check("")},
			{Config: config(replica("replica-1")), Check: check("replica-1")},
			{Config: config(replica("replica-2")), Check: check("replica-2")},
			{Config: config(""), Check: check("")},
		},
	})
}
