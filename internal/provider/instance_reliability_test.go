package provider

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tootform/terraform-provider-mastodon/internal/kube"
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

// What other controllers legitimately own is not fought over: the replicas
// of a component scaled elsewhere, a sidecar a mesh injects, labels and
// annotations a policy engine adds. None shows as drift, and an apply
// leaves them alone. A Pod that is briefly unready plans nothing either.
func TestAccInstance_othersFieldsNotFought(t *testing.T) {
	c := newTestCluster(t)
	ns := "acc-others-" + randomSuffix()
	t.Cleanup(func() { _ = c.cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	ctx := context.Background()
	config := instanceConfig(ns, `  web = { external_scaling = true }`)
	empty := resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{Config: config},
			{
				PreConfig: func() {
					// An autoscaler scales web; a mesh injects a sidecar and
					// a volume; a policy engine labels and annotates.
					patch := []byte(`{"metadata":{"labels":{"policy.example/team":"social"},"annotations":{"policy.example/checked":"yes"}},` +
						`"spec":{"template":{"spec":{"containers":[{"name":"mesh-proxy","image":"mesh/proxy:1"}],"volumes":[{"name":"mesh-certs","emptyDir":{}}]}}}}`)
					if _, err := c.cs.AppsV1().Deployments(ns).Patch(ctx, "social-web", types.StrategicMergePatchType, patch, metav1.PatchOptions{FieldManager: "mesh"}); err != nil {
						t.Fatal(err)
					}
					scale := []byte(`{"spec":{"replicas":3}}`)
					if _, err := c.cs.AppsV1().Deployments(ns).Patch(ctx, "social-web", types.MergePatchType, scale, metav1.PatchOptions{FieldManager: "autoscaler"}, "scale"); err != nil {
						t.Fatal(err)
					}
				},
				Config:           config,
				ConfigPlanChecks: empty,
			},
			{
				// An apply for another reason leaves them as they are.
				Config: instanceConfig(ns, `  web = { external_scaling = true }
  streaming = { replicas = 2 }`),
				Check: func(*terraform.State) error {
					d, err := c.cs.AppsV1().Deployments(ns).Get(ctx, "social-web", metav1.GetOptions{})
					if err != nil {
						return err
					}
					if *d.Spec.Replicas != 3 || len(d.Spec.Template.Spec.Containers) != 2 || d.Labels["policy.example/team"] != "social" {
						return fmt.Errorf("the apply fought over others' fields: replicas %d, %d containers, labels %v",
							*d.Spec.Replicas, len(d.Spec.Template.Spec.Containers), d.Labels)
					}
					return nil
				},
			},
			{
				// A web Pod that stops being ready is no reason for an update.
				PreConfig: func() {
					c.failPods(t, ns, "web", "crashed-for-a-moment")
					c.replaceWithUnreadyPods(t, ns, "web")
				},
				Config: instanceConfig(ns, `  web = { external_scaling = true }
  streaming = { replicas = 2 }`),
				ConfigPlanChecks: empty,
				Check:            resource.TestCheckResourceAttr("mastodon_instance.test", "ready", "false"),
			},
		},
	})
}

// A wait that cannot succeed ends as soon as that is certain, with the
// cause: here an image that cannot be pulled, long before the timeout.
func TestAccInstance_failsFast(t *testing.T) {
	c := newTestCluster(t)
	ns := "acc-failfast-" + randomSuffix()
	t.Cleanup(func() { _ = c.cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	kube.FailFastAfter, kube.CheckInterval = 3*time.Second, time.Second
	t.Cleanup(func() { kube.FailFastAfter, kube.CheckInterval = time.Minute, 5*time.Second })
	c.stagePods(t, "pull-"+ns, ns, "web", podStatus("Pending", `    waiting:
      reason: ImagePullBackOff
      message: Back-off pulling image {{ .image | Quote }}`))
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config:      strings.Replace(instanceConfig(ns, `  version = "v4.7.3"`), `create = "3m"`, `create = "10m"`, 1),
			ExpectError: regexp.MustCompile(`(?s)social-web\s+did\s+not\s+become\s+ready:.*container\s+web\s+has\s+been\s+in\s+ImagePullBackOff.*Back-off\s+pulling\s+image`),
		}},
	})
}
