package provider

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	batchv1 "k8s.io/api/batch/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// jobs are the Jobs of a component in ns, by name.
func (c *testCluster) jobs(ns, component string) (map[string]batchv1.Job, error) {
	list, err := c.cs.BatchV1().Jobs(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "app.kubernetes.io/component=" + component})
	if err != nil {
		return nil, err
	}
	out := map[string]batchv1.Job{}
	for _, j := range list.Items {
		out[j.Name] = j
	}
	return out, nil
}

// checkRestoreBeforePrepare checks that the restore Job named like want
// completed, and that a db-prepare Job created after that completion
// exists; it records every Job's UID in seen.
func (c *testCluster) checkRestoreBeforePrepare(ns string, seen map[types.UID]bool) resource.TestCheckFunc {
	return func(*terraform.State) error {
		restores, err := c.jobs(ns, "db-restore")
		if err != nil {
			return err
		}
		prepares, err := c.jobs(ns, "db-prepare")
		if err != nil {
			return err
		}
		var restored *batchv1.Job
		for _, j := range restores {
			if !seen[j.UID] {
				restored = &j
			}
		}
		if restored == nil || restored.Status.CompletionTime == nil {
			return fmt.Errorf("want a new completed db-restore Job, got %v", restores)
		}
		done := restored.Status.CompletionTime.Time
		after := 0
		for _, p := range prepares {
			// Timestamps have a one-second resolution.
			if !seen[p.UID] && !p.CreationTimestamp.Time.Before(done.Truncate(time.Second)) && p.Status.CompletionTime != nil {
				after++
			}
			if !seen[p.UID] && p.CreationTimestamp.Time.Before(done.Truncate(time.Second)) {
				return fmt.Errorf("db-prepare Job %s was created at %s, before the restore completed at %s", p.Name, p.CreationTimestamp, done)
			}
		}
		if after != 1 {
			return fmt.Errorf("want one new completed db-prepare Job after the restore, got %d", after)
		}
		for _, j := range restores {
			seen[j.UID] = true
		}
		for _, j := range prepares {
			seen[j.UID] = true
		}
		return nil
	}
}

// checkNoNewJobs checks that ns holds exactly the Jobs of seen: nothing
// was restored or prepared again.
func (c *testCluster) checkNoNewJobs(ns string, seen map[types.UID]bool) func() error {
	return func() error {
		list, err := c.cs.BatchV1().Jobs(ns).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			return err
		}
		if len(list.Items) != len(seen) {
			return fmt.Errorf("%d Jobs, want the %d seen before", len(list.Items), len(seen))
		}
		for _, j := range list.Items {
			if !seen[j.UID] {
				return fmt.Errorf("a new Job %s", j.Name)
			}
		}
		return nil
	}
}

const restoreMediaBucket = `  media_bucket = {
    bucket            = "media"
    endpoint          = "https://s3.example"
    access_key_id     = "media-key"
    secret_access_key = "media-secret"
  }
`

// A create with restore: the restore Job fails (its Pods fail as a
// refusal would): the apply fails naming the Job and its Pod's message,
// nothing is prepared and no Deployment starts. The cause removed, the
// next apply creates the instance again and restores before preparing,
// and prepares before starting anything; applies after that (another
// change, new settings of the media bucket the dump came from) restore
// nothing again.
func TestAccInstance_restoreOnCreate(t *testing.T) {
	c := newTestCluster(t)
	ns := c.namespace(t, "acc-restore")
	heal := c.failPods(t, ns, "db-restore", "refusing-to-restore")
	config := instanceConfig(ns, restoreMediaBucket+`  restore = { key = "backups/postgresql/social.dump" }`)
	seen := map[types.UID]bool{}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{
				Config: config,
				ExpectError: regexp.MustCompile(`(?s)The db-restore Job failed.*Job ` + ns + `/social-db-restore-[0-9a-f]{8}.*BackoffLimitExceeded` +
					`.*exit code 1.*refusing-to-restore.*No Deployment was started, and the database was left as it was`),
			},
			{
				PreConfig: func() {
					if prepares, err := c.jobs(ns, "db-prepare"); err != nil || len(prepares) > 0 {
						t.Fatalf("the database was prepared although its restore failed: %v %v", prepares, err)
					}
					deps, err := c.cs.AppsV1().Deployments(ns).List(context.Background(), metav1.ListOptions{})
					if err != nil || len(deps.Items) > 0 {
						t.Fatalf("Deployments started although the restore failed: %v", err)
					}
					heal()
				},
				Config: config,
				Check:  resource.ComposeTestCheckFunc(c.checkRestoreBeforePrepare(ns, seen), c.checkPrepareBeforeDeployments(ns)),
			},
			{
				// A second apply (a change elsewhere) restores nothing.
				Config: strings.Replace(config, `restore = {`, "web = { replicas = 2 }\n  restore = {", 1),
				Check:  func(*terraform.State) error { return c.checkNoNewJobs(ns, seen)() },
			},
			{
				// The media bucket's settings change, restore kept: neither
				// refused nor restored again.
				Config: strings.Replace(config, `"https://s3.example"`, `"https://s3.eu.example"`, 1),
				Check:  func(*terraform.State) error { return c.checkNoNewJobs(ns, seen)() },
			},
		},
	})
}

// Adding restore to an instance whose database holds its data is refused
// at plan, changing nothing; a move from an external database to the
// embedded one with restore (its own bucket, its secret key write-only)
// whose restore fails is recorded undone, and the next apply restores
// into the new database before preparing it, keeping the key in
// a Secret of the restore's (never in the instance's, never in state);
// the next applies restore nothing; another dump is refused; the block
// removed, its Secret goes.
func TestAccInstance_restoreOnMoveToEmbedded(t *testing.T) {
	c := newTestCluster(t)
	ns := c.namespace(t, "acc-restore-move")
	const external = restoreMediaBucket + `  database = { host = "db.example", user = "mastodon", password = "p" }
`
	restore := func(key string) string {
		return restoreMediaBucket + fmt.Sprintf(`  restore = {
    key = %q
    bucket = {
      bucket                       = "old-vm"
      endpoint                     = "https://minio.example:9000"
      path_style                   = true
      access_key_id                = "restore-key"
      secret_access_key_wo         = "restore-secret"
      secret_access_key_wo_version = 1
    }
  }
`, key)
	}
	seen := map[types.UID]bool{}
	heal := func() {}
	record := func(*terraform.State) error {
		list, err := c.cs.BatchV1().Jobs(ns).List(context.Background(), metav1.ListOptions{})
		for _, j := range list.Items {
			seen[j.UID] = true
		}
		return err
	}
	refused := func(cfg string) resource.TestStep {
		return resource.TestStep{Config: cfg, PlanOnly: true,
			ExpectError: regexp.MustCompile(`(?s)Restore into a database that holds data.*` + ns + `/social\s+runs\s+on\s+its\s+database\s+already.*never\s+overwrites\s+data`)}
	}
	restoreSecret := func() (map[string][]byte, error) {
		s, err := c.cs.CoreV1().Secrets(ns).Get(context.Background(), "social-db-restore", metav1.GetOptions{})
		if err != nil {
			return nil, err
		}
		return s.Data, nil
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{Config: instanceConfig(ns, restoreMediaBucket), Check: record},
			// On the embedded database, prepared: refused, nothing runs.
			refused(instanceConfig(ns, restoreMediaBucket+`  restore = { key = "social.dump" }`)),
			refused(instanceConfig(ns, restore("migration/mastodon.dump"))),
			{Config: instanceConfig(ns, external), Check: record},
			{
				// The restore fails: the move is recorded undone (the state
				// keeps the external database), nothing is prepared.
				PreConfig:   func() { heal = c.failPods(t, ns, "db-restore", "cannot-download") },
				Config:      instanceConfig(ns, restore("migration/mastodon.dump")),
				ExpectError: regexp.MustCompile(`(?s)The db-restore Job failed.*cannot-download.*No Deployment was started, and the database was left as it was`),
			},
			{
				// The cause removed, the next apply moves, restoring and
				// preparing the new database.
				PreConfig: func() { heal() },
				Config:    instanceConfig(ns, restore("migration/mastodon.dump")),
				Check: resource.ComposeTestCheckFunc(c.checkRestoreBeforePrepare(ns, seen),
					resource.TestCheckNoResourceAttr("mastodon_instance.test", "restore.bucket.secret_access_key_wo"),
					resource.TestCheckNoResourceAttr("mastodon_instance.test", "restore.bucket.secret_access_key"),
					func(*terraform.State) error {
						data, err := restoreSecret()
						if err != nil {
							return err
						}
						if string(data["AWS_SECRET_ACCESS_KEY"]) != "restore-secret" || string(data["S3_BUCKET"]) != "old-vm" {
							return fmt.Errorf("the restore Secret holds %q", data)
						}
						inst, err := c.cs.CoreV1().Secrets(ns).Get(context.Background(), "social-secrets", metav1.GetOptions{})
						if err != nil {
							return err
						}
						for k, v := range inst.Data {
							if string(v) == "restore-secret" {
								return fmt.Errorf("the restore's key reached the instance's Secret (%s)", k)
							}
						}
						return nil
					}),
			},
			{Config: instanceConfig(ns, restore("migration/mastodon.dump")), Check: func(*terraform.State) error { return c.checkNoNewJobs(ns, seen)() }},
			refused(instanceConfig(ns, restore("migration/other.dump"))),
			{
				Config: instanceConfig(ns, restoreMediaBucket),
				Check: func(*terraform.State) error {
					if _, err := restoreSecret(); !apierrors.IsNotFound(err) {
						return fmt.Errorf("the restore Secret is still there: %w", err)
					}
					return c.checkNoNewJobs(ns, seen)()
				},
			},
			refused(instanceConfig(ns, restore("migration/mastodon.dump"))),
		},
	})
}
