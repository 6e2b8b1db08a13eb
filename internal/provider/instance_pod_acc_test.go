package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// podSettingsConfig is an instance with an admin user, and extra in the
// instance's block.
func podSettingsConfig(ns, extra string) string {
	return instanceConfig(ns, `
  embedded_database = { delete_volume_on_destroy = true }
  embedded_redis    = { delete_volume_on_destroy = true }
  media             = { delete_volume_on_destroy = true }
`+extra) + `
resource "mastodon_admin_user" "owner" {
  instance = mastodon_instance.test.id
  username = "alice"
  email    = "alice@example.org"
}
`
}

// podTemplates are the Pod templates of the instance's Deployments and
// StatefulSets, by name.
func (c *testCluster) podTemplates(t *testing.T, ns string) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	deps, err := c.cs.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/instance=social"})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range deps.Items {
		b, _ := json.Marshal(d.Spec.Template)
		out[d.Name] = string(b)
	}
	sts, err := c.cs.AppsV1().StatefulSets(ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/instance=social"})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sts.Items {
		b, _ := json.Marshal(s.Spec.Template)
		out[s.Name] = string(b)
	}
	return out
}

// Pod settings switched on, changed and switched off with an admin user
// present: each lands where it belongs, a change of one component's rolls
// only that component, what other controllers add is not drift, the
// account and the generated secrets never change.
func TestAccInstance_podSettings(t *testing.T) {
	c := newTestCluster(t)
	ctx := context.Background()
	ns := "acc-pod-" + randomSuffix()
	t.Cleanup(func() { _ = c.cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })

	// The node the instance's Pods run on (they share the ReadWriteOnce
	// media volume), labelled for this test only: web's node selector
	// picks it, and its Pods must run there.
	var node string
	label := "acc-pod-" + randomSuffix()
	patch := func(value any) {
		b, _ := json.Marshal(map[string]any{"metadata": map[string]any{"labels": map[string]any{label: value}}})
		if _, err := c.cs.CoreV1().Nodes().Patch(ctx, node, types.MergePatchType, b, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	labelWebsNode := func() {
		pods, err := c.cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/component=web"})
		if err != nil || len(pods.Items) == 0 || pods.Items[0].Spec.NodeName == "" {
			t.Fatalf("no web Pod on a node: %v", err)
		}
		node = pods.Items[0].Spec.NodeName
		patch("yes")
		t.Cleanup(func() { patch(nil) })
	}

	// settings are the Pod settings of every step; web's Pod block is
	// what changes between "on" and "changedWeb".
	settings := func(webPod string) string {
		return fmt.Sprintf(`
  pod = {
    labels      = { team = "fedi" }
    annotations = { "vault.hashicorp.com/agent-inject" = "false" }
    tolerations = [{ key = "dedicated", operator = "Equal", value = "mastodon", effect = "NoSchedule" }]
    volumes     = [{ name = "smtp-ca", mount_path = "/etc/ssl/smtp", config_map = "smtp-ca", read_only = true }]
  }
  web = {
    pod                    = { node_selector = { %q = "yes" }, %s }
    service_annotations    = { "cloud.google.com/neg" = "{\"ingress\": true}" }
    deployment_annotations = { "reloader.stakater.com/auto" = "true" }
  }
  service_account = { annotations = { "eks.amazonaws.com/role-arn" = "arn:aws:iam::123456789012:role/mastodon" } }
  jobs            = { resources = { cpu_request = "50m" } }
`, label, webPod)
	}
	on := settings(`termination_grace_period_seconds = 45`)
	changedWeb := settings(`termination_grace_period_seconds = 60, labels = { team = "web" }`)

	var secretKeyBase, password string
	var before map[string]string
	keep := resource.ComposeTestCheckFunc(
		func(s *terraform.State) error {
			if got := s.RootModule().Resources["mastodon_instance.test"].Primary.Attributes["secrets.secret_key_base"]; got != secretKeyBase {
				return fmt.Errorf("the generated secret_key_base changed")
			}
			if got := s.RootModule().Resources["mastodon_admin_user.owner"].Primary.Attributes["password"]; got != password {
				return fmt.Errorf("the admin user's password changed")
			}
			return nil
		})
	noReplace := resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
		plancheck.ExpectResourceAction("mastodon_admin_user.owner", plancheck.ResourceActionNoop),
		plancheck.ExpectResourceAction("mastodon_instance.test", plancheck.ResourceActionUpdate),
	}}
	empty := resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{Config: podSettingsConfig(ns, ""), Check: func(s *terraform.State) error {
				secretKeyBase = s.RootModule().Resources["mastodon_instance.test"].Primary.Attributes["secrets.secret_key_base"]
				password = s.RootModule().Resources["mastodon_admin_user.owner"].Primary.Attributes["password"]
				if secretKeyBase == "" || password == "" {
					return fmt.Errorf("no secrets in state")
				}
				if _, err := c.cs.CoreV1().ServiceAccounts(ns).Get(ctx, "social", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
					return fmt.Errorf("an instance without service_account has a ServiceAccount of its own: %w", err)
				}
				return nil
			}},
			// On: every setting where it belongs, ready.
			{PreConfig: labelWebsNode, Config: podSettingsConfig(ns, on), ConfigPlanChecks: noReplace, Check: resource.ComposeTestCheckFunc(keep,
				resource.TestCheckResourceAttr("mastodon_instance.test", "ready", "true"),
				func(*terraform.State) error {
					web, err := c.cs.AppsV1().Deployments(ns).Get(ctx, "social-web", metav1.GetOptions{})
					if err != nil {
						return err
					}
					p := web.Spec.Template
					switch {
					case p.Spec.NodeSelector[label] != "yes" || p.Spec.TerminationGracePeriodSeconds == nil || *p.Spec.TerminationGracePeriodSeconds != 45:
						return fmt.Errorf("web's Pod spec: node selector %v, grace %v", p.Spec.NodeSelector, p.Spec.TerminationGracePeriodSeconds)
					case p.Labels["team"] != "fedi" || p.Annotations["vault.hashicorp.com/agent-inject"] != "false" || len(p.Spec.Tolerations) != 1:
						return fmt.Errorf("web lacks the instance's settings: %v %v %v", p.Labels, p.Annotations, p.Spec.Tolerations)
					case len(p.Spec.Containers[0].VolumeMounts) == 0 || p.Spec.Containers[0].VolumeMounts[len(p.Spec.Containers[0].VolumeMounts)-1].MountPath != "/etc/ssl/smtp":
						return fmt.Errorf("web's mounts %v", p.Spec.Containers[0].VolumeMounts)
					case web.Annotations["reloader.stakater.com/auto"] != "true":
						return fmt.Errorf("web's Deployment annotations %v", web.Annotations)
					case p.Spec.ServiceAccountName != "social":
						return fmt.Errorf("web runs as %q", p.Spec.ServiceAccountName)
					}
					pods, err := c.cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/component=web"})
					if err != nil {
						return err
					}
					for _, pod := range pods.Items {
						if pod.DeletionTimestamp == nil && pod.Spec.NodeName != node {
							return fmt.Errorf("web's Pod %s runs on %s, not on the selected %s", pod.Name, pod.Spec.NodeName, node)
						}
					}
					svc, err := c.cs.CoreV1().Services(ns).Get(ctx, "social-web", metav1.GetOptions{})
					if err != nil || svc.Annotations["cloud.google.com/neg"] == "" {
						return fmt.Errorf("web's Service annotations: %w %v", err, svc)
					}
					sa, err := c.cs.CoreV1().ServiceAccounts(ns).Get(ctx, "social", metav1.GetOptions{})
					if err != nil || sa.Annotations["eks.amazonaws.com/role-arn"] == "" {
						return fmt.Errorf("the instance's ServiceAccount: %w %v", err, sa)
					}
					streaming, err := c.cs.AppsV1().Deployments(ns).Get(ctx, "social-streaming", metav1.GetOptions{})
					if err != nil || streaming.Spec.Template.Spec.NodeSelector[label] != "" || streaming.Spec.Template.Labels["team"] != "fedi" {
						return fmt.Errorf("streaming took web's settings or lost the instance's: %w", err)
					}
					before = c.podTemplates(t, ns)
					return nil
				})},
			{Config: podSettingsConfig(ns, on), ConfigPlanChecks: empty},
			// Other controllers annotate the Deployment, the Service and the
			// ServiceAccount: not drift.
			{
				PreConfig: func() {
					b := []byte(`{"metadata":{"annotations":{"deployment.kubernetes.io/other":"x","example.com/controller":"y"}}}`)
					for _, f := range []func() error{
						func() error {
							_, err := c.cs.AppsV1().Deployments(ns).Patch(ctx, "social-web", types.MergePatchType, b, metav1.PatchOptions{FieldManager: "other"})
							return err
						},
						func() error {
							_, err := c.cs.CoreV1().Services(ns).Patch(ctx, "social-web", types.MergePatchType, b, metav1.PatchOptions{FieldManager: "other"})
							return err
						},
						func() error {
							_, err := c.cs.CoreV1().ServiceAccounts(ns).Patch(ctx, "social", types.MergePatchType, b, metav1.PatchOptions{FieldManager: "other"})
							return err
						},
					} {
						if err := f(); err != nil {
							t.Fatal(err)
						}
					}
				},
				Config: podSettingsConfig(ns, on), ConfigPlanChecks: empty,
			},
			// A change of web's settings rolls web alone.
			{Config: podSettingsConfig(ns, changedWeb), ConfigPlanChecks: noReplace, Check: resource.ComposeTestCheckFunc(keep,
				resource.TestCheckResourceAttr("mastodon_instance.test", "ready", "true"),
				func(*terraform.State) error {
					after := c.podTemplates(t, ns)
					for name, tmpl := range before {
						if changed := after[name] != tmpl; changed != (name == "social-web") {
							return fmt.Errorf("changing web's Pod settings: %s's Pod template changed: %v\nbefore %s\nafter  %s", name, changed, tmpl, after[name])
						}
					}
					return nil
				})},
			{Config: podSettingsConfig(ns, changedWeb), ConfigPlanChecks: empty},
			// Off: back to the defaults, the ServiceAccount of the instance
			// gone, the others' annotations still there.
			{Config: podSettingsConfig(ns, ""), ConfigPlanChecks: noReplace, Check: resource.ComposeTestCheckFunc(keep,
				resource.TestCheckResourceAttr("mastodon_instance.test", "ready", "true"),
				func(*terraform.State) error {
					web, err := c.cs.AppsV1().Deployments(ns).Get(ctx, "social-web", metav1.GetOptions{})
					if err != nil {
						return err
					}
					p := web.Spec.Template
					if len(p.Spec.NodeSelector) != 0 || p.Labels["team"] != "" || len(p.Spec.Tolerations) != 0 || p.Spec.ServiceAccountName != "" ||
						web.Annotations["reloader.stakater.com/auto"] != "" {
						return fmt.Errorf("web kept settings that are gone: %+v %v", p.Spec, web.Annotations)
					}
					if web.Annotations["example.com/controller"] != "y" {
						return fmt.Errorf("switching off removed another controller's annotation: %v", web.Annotations)
					}
					if _, err := c.cs.CoreV1().ServiceAccounts(ns).Get(ctx, "social", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
						return fmt.Errorf("the instance's ServiceAccount is still there: %w", err)
					}
					return nil
				})},
			{Config: podSettingsConfig(ns, ""), ConfigPlanChecks: empty},
			// An existing ServiceAccount: named, never rendered, kept.
			{
				PreConfig: func() {
					sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "existing", Namespace: ns}}
					if _, err := c.cs.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{}); err != nil {
						t.Fatal(err)
					}
				},
				Config: podSettingsConfig(ns, `service_account = { name = "existing" }`), ConfigPlanChecks: noReplace,
				Check: resource.ComposeTestCheckFunc(keep, func(*terraform.State) error {
					web, err := c.cs.AppsV1().Deployments(ns).Get(ctx, "social-web", metav1.GetOptions{})
					if err != nil || web.Spec.Template.Spec.ServiceAccountName != "existing" {
						return fmt.Errorf("web does not run as the existing ServiceAccount: %w", err)
					}
					return nil
				}),
			},
			{Config: podSettingsConfig(ns, ""), Check: func(*terraform.State) error {
				if _, err := c.cs.CoreV1().ServiceAccounts(ns).Get(ctx, "existing", metav1.GetOptions{}); err != nil {
					return fmt.Errorf("the existing ServiceAccount was touched: %w", err)
				}
				return nil
			}},
		},
	})
}
