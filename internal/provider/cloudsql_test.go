package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const testServiceAccountKey = `{"type":"service_account","project_id":"my-project","private_key_id":"k1","client_email":"mastodon@my-project.iam.gserviceaccount.com"}`

func cloudSQLConfig(ns, auth string) string {
	return instanceConfig(ns, fmt.Sprintf(`  database = {
    user     = "mastodon"
    password = "db-password"
    cloud_sql = {
      instance_connection_name = "my-project:europe-west1:mastodon"
%s
    }
  }`, auth))
}

func hasProxy(pod corev1.PodSpec) bool {
	for _, c := range pod.InitContainers {
		if c.Name == "cloud-sql-proxy" && c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways &&
			c.Args[len(c.Args)-1] == "my-project:europe-west1:mastodon" {
			return true
		}
	}
	return false
}

func (c *testCluster) checkCloudSQL(ns string, withKey bool) resource.TestCheckFunc {
	return func(*terraform.State) error {
		ctx := context.Background()
		deps, err := c.cs.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		for _, d := range deps.Items {
			if !hasProxy(d.Spec.Template.Spec) {
				return fmt.Errorf("Deployment %s has no Cloud SQL proxy sidecar", d.Name)
			}
			raw, _ := json.Marshal(d.Spec)
			if strings.Contains(string(raw), "private_key_id") {
				return fmt.Errorf("Deployment %s holds the key", d.Name)
			}
			hasKeyVolume := strings.Contains(string(raw), `"secretName":"social-cloudsql"`)
			if hasKeyVolume != withKey {
				return fmt.Errorf("Deployment %s: key volume = %v, want %v", d.Name, hasKeyVolume, withKey)
			}
		}
		jobs, err := c.cs.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		for _, j := range jobs.Items {
			if !hasProxy(j.Spec.Template.Spec) || j.Status.Succeeded != 1 {
				return fmt.Errorf("Job %s: sidecar %v, succeeded %d", j.Name, hasProxy(j.Spec.Template.Spec), j.Status.Succeeded)
			}
		}
		// The maintenance CronJobs (on by default) run in a copy of the web
		// Pod: with the sidecar, and the key exactly when web has it.
		cronJobs, err := c.cs.BatchV1().CronJobs(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		if len(cronJobs.Items) == 0 {
			return fmt.Errorf("no maintenance CronJob")
		}
		for _, cj := range cronJobs.Items {
			pod := cj.Spec.JobTemplate.Spec.Template.Spec
			raw, _ := json.Marshal(pod)
			if !hasProxy(pod) || strings.Contains(string(raw), `"secretName":"social-cloudsql"`) != withKey {
				return fmt.Errorf("CronJob %s: sidecar %v, key volume %v", cj.Name, hasProxy(pod), !withKey)
			}
		}
		cm, err := c.cs.CoreV1().ConfigMaps(ns).Get(ctx, "social-env", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if cm.Data["DB_HOST"] != "127.0.0.1" {
			return fmt.Errorf("DB_HOST is %q", cm.Data["DB_HOST"])
		}
		raw, _ := json.Marshal(cm)
		if strings.Contains(string(raw), "private_key_id") {
			return fmt.Errorf("the ConfigMap holds the key")
		}
		sa, saErr := c.cs.CoreV1().ServiceAccounts(ns).Get(ctx, "social", metav1.GetOptions{})
		key, err := c.cs.CoreV1().Secrets(ns).Get(ctx, "social-cloudsql", metav1.GetOptions{})
		if withKey {
			if err != nil || string(key.Data["key.json"]) != testServiceAccountKey {
				return fmt.Errorf("the key Secret does not hold the key (%w)", err)
			}
			if saErr == nil {
				return fmt.Errorf("the instance has its own ServiceAccount without Workload Identity")
			}
		} else {
			if saErr != nil {
				return saErr
			}
			if err == nil {
				return fmt.Errorf("the key Secret is still there")
			}
			if sa.Annotations["iam.gke.io/gcp-service-account"] != "mastodon@my-project.iam.gserviceaccount.com" {
				return fmt.Errorf("the ServiceAccount is not annotated for Workload Identity: %v", sa.Annotations)
			}
		}
		return nil
	}
}

func TestAccCloudSQL_keyThenWorkloadIdentity(t *testing.T) {
	c := newTestCluster(t)
	ns := "acc-cloudsql-" + randomSuffix()
	t.Cleanup(func() { _ = c.cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	var webGeneration int64
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{
				// Refused at plan time: nothing is created.
				Config: strings.Replace(cloudSQLConfig(ns, `      workload_identity_service_account = "mastodon@my-project.iam.gserviceaccount.com"`),
					"my-project:europe-west1:mastodon", "mastodon", 1),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`database.cloud_sql.instance_connection_name:\s+"mastodon"\s+is\s+not\s+an\s+instance\s+connection\s+name`),
			},
			{
				Config: cloudSQLConfig(ns, fmt.Sprintf("      credentials_json = %q", testServiceAccountKey)),
				Check: resource.ComposeAggregateTestCheckFunc(
					c.checkCloudSQL(ns, true),
					func(*terraform.State) error {
						d, err := c.cs.AppsV1().Deployments(ns).Get(context.Background(), "social-web", metav1.GetOptions{})
						if err == nil {
							webGeneration = d.Generation
						}
						return err
					},
				),
			},
			{
				ResourceName:      "mastodon_instance.test",
				ImportState:       true,
				ImportStateId:     ns + "/social",
				ImportStateVerify: true,
			},
			{
				Config: cloudSQLConfig(ns, `      workload_identity_service_account = "mastodon@my-project.iam.gserviceaccount.com"
      private_ip                        = true`),
				Check: resource.ComposeAggregateTestCheckFunc(
					c.checkCloudSQL(ns, false),
					func(*terraform.State) error {
						d, err := c.cs.AppsV1().Deployments(ns).Get(context.Background(), "social-web", metav1.GetOptions{})
						if err != nil {
							return err
						}
						if d.Generation == webGeneration {
							return fmt.Errorf("the web Pods did not roll")
						}
						return nil
					},
				),
			},
		},
	})
}
