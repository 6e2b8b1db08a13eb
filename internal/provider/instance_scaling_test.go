package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"github.com/tootform/terraform-provider-mastodon/internal/kube"
	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

// scalingNamespace is a namespace that existed before the instance, with
// someone else's ConfigMap in it (as snapshot expects).
func (c *testCluster) scalingNamespace(t *testing.T, prefix string) string {
	ns := c.namespace(t, prefix)
	if _, err := c.cs.CoreV1().ConfigMaps(ns).Create(context.Background(), &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "someone-elses"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return ns
}

// unchangedAccount checks that the account's objects, someone else's
// ConfigMap and the generated secrets are those of the first step.
func (c *testCluster) unchangedAccount(ns string, first *snapshot) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		snap, err := c.snapshot(ns, s)
		if err != nil {
			return err
		}
		if first.accountUIDs == nil {
			if len(snap.accountUIDs) == 0 {
				return fmt.Errorf("no account objects")
			}
			*first = snap
			return nil
		}
		switch {
		case !maps.Equal(snap.accountUIDs, first.accountUIDs):
			return fmt.Errorf("the account's objects changed: %v, were %v", snap.accountUIDs, first.accountUIDs)
		case snap.foreignUID != first.foreignUID:
			return fmt.Errorf("someone else's ConfigMap was replaced")
		case !maps.Equal(snap.secrets, first.secrets):
			return fmt.Errorf("generated secrets changed")
		}
		return nil
	}
}

// templates records the Pod template checksum of each Deployment, to tell
// which rolled.
func (c *testCluster) templates(ns string) (map[string]string, error) {
	deps, err := c.cs.AppsV1().Deployments(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "app.kubernetes.io/instance=social"})
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, d := range deps.Items {
		out[d.Name] = d.Spec.Template.Annotations[mastodon.AnnotationChecksum]
	}
	return out, nil
}

// ownsReplicas says whether the provider's apply owns a Deployment's replicas.
func ownsReplicas(d *appsv1.Deployment) bool {
	for _, f := range d.ManagedFields {
		if f.Manager == kube.FieldManager && f.Operation == metav1.ManagedFieldsOperationApply && f.FieldsV1 != nil &&
			strings.Contains(f.FieldsV1.GetRawString(), `"f:replicas"`) {
			return true
		}
	}
	return false
}

const autoscaled = `  web = {
    autoscaling = { min_replicas = 2, max_replicas = 5, target_cpu_utilization = 70 }
    resources   = { cpu_request = "250m" }
  }
  streaming = {
    autoscaling = { min_replicas = 2, max_replicas = 3, target_memory_utilization = 80 }
    resources   = { memory_request = "128Mi" }
  }
  sidekiq = [
    { name = "scheduler", queues = ["scheduler"] },
    { name = "main", queues = ["default,8", "push,6", "ingress,4", "mailers,2", "pull", "fasp"], resources = { cpu_request = "500m" },
      autoscaling = { max_replicas = 4, target_cpu_utilization = 80 } },
  ]
`

const fixed = `  web = {
    replicas  = 3
    resources = { cpu_request = "250m" }
  }
  streaming = { resources = { memory_request = "128Mi" } }
  sidekiq = [
    { name = "scheduler", queues = ["scheduler"] },
    { name = "main", queues = ["default,8", "push,6", "ingress,4", "mailers,2", "pull", "fasp"], resources = { cpu_request = "500m" } },
  ]
`

// Autoscaling switched on, off and on again with an account present: a
// HorizontalPodAutoscaler per autoscaled Deployment, the Deployment applied
// without replicas and keeping its current number of Pods (3, not the
// default 1) when the autoscaler takes over; Pods scaled as an autoscaler
// would are no drift and roll nothing; PodDisruptionBudgets follow the
// minimum; nothing rolls for autoscaling alone; everything pruned when off.
func TestAccInstance_autoscaling(t *testing.T) {
	c := newTestCluster(t)
	ns := c.scalingNamespace(t, "hpa")
	ctx := context.Background()
	var first snapshot
	var before map[string]string
	hpas := func(want ...string) resource.TestCheckFunc {
		return func(*terraform.State) error {
			list, err := c.cs.AutoscalingV2().HorizontalPodAutoscalers(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				return err
			}
			var got []string
			for _, h := range list.Items {
				got = append(got, h.Name)
				if h.Spec.ScaleTargetRef.Name != h.Name || h.Labels[mastodon.LabelOwner] != mastodon.OwnerInstance {
					return fmt.Errorf("HPA %s: target %s, labels %v", h.Name, h.Spec.ScaleTargetRef.Name, h.Labels)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				return fmt.Errorf("HorizontalPodAutoscalers %v, want %v", got, want)
			}
			return nil
		}
	}
	pdbs := func(want ...string) resource.TestCheckFunc {
		return func(*terraform.State) error {
			list, err := c.cs.PolicyV1().PodDisruptionBudgets(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				return err
			}
			var got []string
			for _, p := range list.Items {
				got = append(got, p.Name)
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				return fmt.Errorf("PodDisruptionBudgets %v, want %v", got, want)
			}
			return nil
		}
	}
	// replicas checks a Deployment's number of Pods and whether the
	// provider's apply owns it.
	replicas := func(name string, want int32, owned bool) resource.TestCheckFunc {
		return func(*terraform.State) error {
			d, err := c.cs.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if *d.Spec.Replicas != want || ownsReplicas(d) != owned {
				return fmt.Errorf("Deployment %s: %d replicas (want %d), owned by the provider's apply: %v (want %v)", name, *d.Spec.Replicas, want, ownsReplicas(d), owned)
			}
			return nil
		}
	}
	notRolled := func(*terraform.State) error {
		now, err := c.templates(ns)
		if err != nil {
			return err
		}
		if before == nil {
			before = now
			return nil
		}
		if !maps.Equal(now, before) {
			return fmt.Errorf("Deployments rolled: %v, were %v", now, before)
		}
		return nil
	}
	empty := resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{
				Config: lifecycleConfig(ns, "v4.7.3", fixed),
				Check: resource.ComposeAggregateTestCheckFunc(c.unchangedAccount(ns, &first), notRolled,
					replicas("social-web", 3, true), hpas(), pdbs("social-web")),
			},
			{
				// On: web keeps its 3 Pods (within 2..5), handed over.
				Config: lifecycleConfig(ns, "v4.7.3", autoscaled),
				Check: resource.ComposeAggregateTestCheckFunc(c.unchangedAccount(ns, &first), notRolled,
					replicas("social-web", 3, false),
					hpas("social-sidekiq-main", "social-streaming", "social-web"),
					pdbs("social-streaming", "social-web"),
					func(*terraform.State) error {
						h, err := c.cs.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, "social-web", metav1.GetOptions{})
						if err != nil {
							return err
						}
						m := h.Spec.Metrics
						if *h.Spec.MinReplicas != 2 || h.Spec.MaxReplicas != 5 || len(m) != 1 || m[0].ContainerResource == nil ||
							m[0].ContainerResource.Container != "web" || *m[0].ContainerResource.Target.AverageUtilization != 70 {
							return fmt.Errorf("web's HPA: %+v", h.Spec)
						}
						return nil
					}),
			},
			{
				// Scaled as the autoscaler would: no drift, nothing planned.
				PreConfig: func() {
					for name, n := range map[string]int{"social-web": 4, "social-sidekiq-main": 3, "social-streaming": 3} {
						scale := []byte(fmt.Sprintf(`{"spec":{"replicas":%d}}`, n))
						if _, err := c.cs.AppsV1().Deployments(ns).Patch(ctx, name, types.MergePatchType, scale, metav1.PatchOptions{FieldManager: "autoscaler"}, "scale"); err != nil {
							t.Fatal(err)
						}
					}
				},
				Config:           lifecycleConfig(ns, "v4.7.3", autoscaled),
				ConfigPlanChecks: empty,
			},
			{
				// An apply for another reason leaves the autoscaler's numbers.
				Config: lifecycleConfig(ns, "v4.7.3", autoscaled+"  settings = { default_locale = \"de\" }\n"),
				Check: resource.ComposeAggregateTestCheckFunc(c.unchangedAccount(ns, &first),
					replicas("social-web", 4, false), replicas("social-sidekiq-main", 3, false),
					func(s *terraform.State) error { before = nil; return notRolled(s) }),
			},
			{
				// Off: the autoscalers and the streaming PDB go; the
				// configured replicas apply again; nothing rolls.
				Config: lifecycleConfig(ns, "v4.7.3", fixed+"  settings = { default_locale = \"de\" }\n"),
				Check: resource.ComposeAggregateTestCheckFunc(c.unchangedAccount(ns, &first), notRolled,
					replicas("social-web", 3, true), replicas("social-sidekiq-main", 1, true), hpas(), pdbs("social-web")),
			},
			{
				// On again: streaming, at 1, starts at its minimum, 2.
				Config: lifecycleConfig(ns, "v4.7.3", autoscaled+"  settings = { default_locale = \"de\" }\n"),
				Check: resource.ComposeAggregateTestCheckFunc(c.unchangedAccount(ns, &first), notRolled,
					replicas("social-web", 3, false), replicas("social-streaming", 2, false),
					hpas("social-sidekiq-main", "social-streaming", "social-web"), pdbs("social-streaming", "social-web")),
			},
			{
				ResourceName:      "mastodon_instance.test",
				ImportState:       true,
				ImportStateId:     ns + "/social",
				ImportStateVerify: true,
			},
		},
	})
}

// An instance created with autoscalers starts each Deployment at its
// autoscaler's minimum (not at one Pod), waits for those Pods, and the
// replicas belong to the hand-over manager, not to the provider's apply.
func TestAccInstance_autoscaledFromTheStart(t *testing.T) {
	c := newTestCluster(t)
	ns := c.scalingNamespace(t, "hpa-new")
	ctx := context.Background()
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config: lifecycleConfig(ns, "v4.7.3", autoscaled),
			Check: func(*terraform.State) error {
				for name, want := range map[string]int32{"social-web": 2, "social-streaming": 2, "social-sidekiq-main": 1} {
					d, err := c.cs.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
					if err != nil {
						return err
					}
					if *d.Spec.Replicas != want || d.Status.ReadyReplicas != want || ownsReplicas(d) {
						return fmt.Errorf("Deployment %s: %d replicas, %d ready, want %d; owned by the provider's apply: %v",
							name, *d.Spec.Replicas, d.Status.ReadyReplicas, want, ownsReplicas(d))
					}
				}
				return nil
			},
		}},
	})
}

// What cannot work is refused at plan time, naming the attribute.
func TestAccInstance_scalingRefusedAtPlan(t *testing.T) {
	testAccPreCheck(t)
	cases := []struct{ extra, want string }{
		{`  web = {
    replicas    = 2
    autoscaling = { max_replicas = 4, target_cpu_utilization = 70 }
    resources   = { cpu_request = "250m" }
  }`, `web.autoscaling conflicts with web.replicas`},
		{`  streaming = {
    external_scaling = true
    autoscaling      = { max_replicas = 4, target_memory_utilization = 70 }
    resources        = { memory_request = "128Mi" }
  }`, `streaming.autoscaling conflicts with streaming.external_scaling`},
		{`  web = {
    autoscaling = { min_replicas = 3, max_replicas = 2, target_cpu_utilization = 70 }
    resources   = { cpu_request = "250m" }
  }`, `web.autoscaling.max_replicas: must be at least min_replicas (3), got 2`},
		{`  web = {
    autoscaling = { min_replicas = 0, max_replicas = 2, target_cpu_utilization = 70 }
    resources   = { cpu_request = "250m" }
  }`, `web.autoscaling.min_replicas`},
		{`  web = { autoscaling = { max_replicas = 2 } }`, `web.autoscaling: needs target_cpu_utilization or target_memory_utilization`},
		{`  sidekiq = [{ name = "all", queues = ["default", "scheduler"], resources = { cpu_request = "1" },
    autoscaling = { max_replicas = 3, target_cpu_utilization = 70 } }]`, `sidekiq[0].autoscaling: process "all" serves the scheduler queue`},
		{`  metrics = { enabled = true, service_monitor_labels = { "app.kubernetes.io/instance" = "x" } }`, `metrics.service_monitor_labels: "app.kubernetes.io/instance" is one of the provider's own labels`},
		{`  metrics = { enabled = true, service_monitor = false, service_monitor_labels = { release = "prometheus" } }`, `labels a ServiceMonitor, which metrics.service_monitor = false leaves out`},
	}
	resource.Test(t, resource.TestCase{ProtoV6ProviderFactories: testAccProviders, Steps: refusedSteps("hpa-invalid", cases)})
}

// serviceMonitors is the Prometheus Operator's ServiceMonitor resource.
var serviceMonitors = schema.GroupVersionResource{Group: "monitoring.coreos.com", Version: "v1", Resource: "servicemonitors"}

// installServiceMonitorCRD makes the local cluster serve ServiceMonitors, as
// one with the Prometheus Operator does, until the test ends.
func (c *testCluster) installServiceMonitorCRD(t *testing.T) {
	c.installCRD(t, serviceMonitors, "ServiceMonitor")
}

// Metrics switched on (in a cluster without the Prometheus Operator, then
// with its CRD), off and on again, with an account present.
func TestAccInstance_metrics(t *testing.T) {
	c := newTestCluster(t)
	ns := c.scalingNamespace(t, "metrics")
	ctx := context.Background()
	dyn, err := dynamic.NewForConfig(c.rest)
	if err != nil {
		t.Fatal(err)
	}
	var first snapshot
	const on = "  metrics = { enabled = true, sidekiq_detailed = true }\n"
	const labelled = "  metrics = { enabled = true, service_monitor_labels = { release = \"prometheus\" } }\n"
	container := func(name string) (*corev1.Container, map[string]string, error) {
		d, err := c.cs.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, nil, err
		}
		return &d.Spec.Template.Spec.Containers[0], d.Spec.Template.Annotations, nil
	}
	exporting := func(want bool) resource.TestCheckFunc {
		return func(*terraform.State) error {
			for name, port := range map[string]string{"social-web": "9394", "social-sidekiq-all": "9394", "social-streaming": "4000"} {
				c, annotations, err := container(name)
				if err != nil {
					return err
				}
				enabled := false
				for _, e := range c.Env {
					enabled = enabled || (e.Name == "MASTODON_PROMETHEUS_EXPORTER_ENABLED" && e.Value == "true")
				}
				if name != "social-streaming" && enabled != want {
					return fmt.Errorf("%s: exporter enabled %v, want %v (env %v)", name, enabled, want, c.Env)
				}
				if got := annotations["prometheus.io/port"]; (got == port) != want || (annotations["prometheus.io/scrape"] == "true") != want {
					return fmt.Errorf("%s: scrape annotations %v", name, annotations)
				}
			}
			// Web's metrics go to the exporter beside it (clustered Puma
			// loses them in the local mode); Sidekiq keeps its own.
			web, err := c.cs.AppsV1().Deployments(ns).Get(ctx, "social-web", metav1.GetOptions{})
			if err != nil {
				return err
			}
			pod := web.Spec.Template.Spec
			sidecar := len(pod.Containers) == 2 && pod.Containers[1].Name == mastodon.MetricsContainer &&
				strings.Join(pod.Containers[1].Command, " ") == strings.Join(mastodon.ExporterCommand, " ")
			if sidecar != want || len(pod.Containers) > 2 {
				return fmt.Errorf("social-web: containers %d, exporter sidecar %v, want %v", len(pod.Containers), sidecar, want)
			}
			for _, e := range pod.Containers[0].Env {
				if e.Name == "MASTODON_PROMETHEUS_EXPORTER_LOCAL" {
					return fmt.Errorf("social-web runs the exporter in Puma's master: %v", pod.Containers[0].Env)
				}
			}
			_, err = c.cs.CoreV1().Services(ns).Get(ctx, "social-sidekiq", metav1.GetOptions{})
			if apierrors.IsNotFound(err) == want {
				return fmt.Errorf("Service social-sidekiq: %w, want it present: %v", err, want)
			}
			return nil
		}
	}
	monitor := func(want bool, labels map[string]string) resource.TestCheckFunc {
		return func(*terraform.State) error {
			sm, err := dyn.Resource(serviceMonitors).Namespace(ns).Get(ctx, "social", metav1.GetOptions{})
			switch {
			case !want && apierrors.IsNotFound(err):
				return nil
			case err != nil:
				return fmt.Errorf("ServiceMonitor social: %w", err)
			case !want:
				return fmt.Errorf("ServiceMonitor social still there")
			}
			for k, v := range labels {
				if sm.GetLabels()[k] != v {
					return fmt.Errorf("ServiceMonitor labels %v, want %s=%s", sm.GetLabels(), k, v)
				}
			}
			eps, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
			if raw, _ := json.Marshal(eps); string(raw) != `[{"path":"/metrics","port":"metrics"},{"path":"/metrics","port":"streaming"}]` {
				return fmt.Errorf("ServiceMonitor endpoints %s", raw)
			}
			return nil
		}
	}
	// With no CRD: nothing is planned for the ServiceMonitor, no drift.
	if _, err := dyn.Resource(serviceMonitors).Namespace("default").List(ctx, metav1.ListOptions{}); err == nil {
		t.Skip("the cluster already serves ServiceMonitors: the case without them cannot be tested here")
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{
				Config: lifecycleConfig(ns, "v4.7.3", on),
				Check:  resource.ComposeAggregateTestCheckFunc(c.unchangedAccount(ns, &first), exporting(true)),
			},
			{
				// The Prometheus Operator's CRD appears: the ServiceMonitor
				// is missing (drift), and the apply adds it.
				PreConfig: func() { c.installServiceMonitorCRD(t) },
				Config:    lifecycleConfig(ns, "v4.7.3", on),
				Check:     resource.ComposeAggregateTestCheckFunc(c.unchangedAccount(ns, &first), monitor(true, nil)),
			},
			{
				Config: lifecycleConfig(ns, "v4.7.3", ""),
				Check:  resource.ComposeAggregateTestCheckFunc(c.unchangedAccount(ns, &first), exporting(false), monitor(false, nil)),
			},
			{
				Config: lifecycleConfig(ns, "v4.7.3", labelled),
				Check: resource.ComposeAggregateTestCheckFunc(c.unchangedAccount(ns, &first), exporting(true),
					monitor(true, map[string]string{"release": "prometheus", mastodon.LabelOwner: mastodon.OwnerInstance})),
			},
			{
				ResourceName:      "mastodon_instance.test",
				ImportState:       true,
				ImportStateId:     ns + "/social",
				ImportStateVerify: true,
			},
		},
	})
}
