package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	"github.com/tootform/terraform-provider-mastodon/internal/kube"
	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

// gatewayAPIModule is the Gateway API release whose CRDs (standard
// channel) the acceptance test installs, read from the Go module cache.
const gatewayAPIModule = "sigs.k8s.io/gateway-api@v1.6.3"

var (
	gatewaysGVR   = schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "gateways"}
	httpRoutesGVR = schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "httproutes"}
)

// installGatewayAPI makes the cluster serve Gateways and HTTPRoutes with the
// Gateway API's own CRDs (their schemas and validation rules check what the
// provider renders). A CRD installed before is left as it is; one this
// test installs is removed when it ends.
func (c *testCluster) installGatewayAPI(t *testing.T) dynamic.Interface {
	t.Helper()
	out, err := exec.Command("go", "mod", "download", "-json", gatewayAPIModule).Output()
	if err != nil {
		t.Fatalf("go mod download %s: %v", gatewayAPIModule, err)
	}
	var mod struct{ Dir string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
		t.Fatalf("go mod download %s: %s", gatewayAPIModule, out)
	}
	dyn, err := dynamic.NewForConfig(c.rest)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	crds := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	for _, file := range []string{"gateway.networking.k8s.io_gateways.yaml", "gateway.networking.k8s.io_httproutes.yaml"} {
		raw, err := os.ReadFile(filepath.Join(mod.Dir, "config", "crd", "standard", file))
		if err != nil {
			t.Fatal(err)
		}
		crd := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(raw, &crd.Object); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		_, err = dyn.Resource(crds).Create(ctx, crd, metav1.CreateOptions{})
		switch {
		case apierrors.IsAlreadyExists(err):
			continue
		case err != nil:
			t.Fatalf("installing %s: %v", crd.GetName(), err)
		}
		name := crd.GetName()
		t.Cleanup(func() {
			if err := dyn.Resource(crds).Delete(context.Background(), name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				t.Errorf("removing %s: %v", name, err)
			}
		})
	}
	for _, gvr := range []schema.GroupVersionResource{gatewaysGVR, httpRoutesGVR} {
		if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			_, err := dyn.Resource(gvr).Namespace("default").List(ctx, metav1.ListOptions{})
			return err == nil, nil
		}); err != nil {
			t.Fatalf("%s not served: %v", gvr.Resource, err)
		}
	}
	return dyn
}

// simulateGatewayController does what a Gateway controller would, until
// the test ends: it publishes the Gateway's address in its status, and
// accepts every HTTPRoute of namespace ns attached to it (for the route's
// current generation), through the status subresource.
func simulateGatewayController(t *testing.T, dyn dynamic.Interface, gw *unstructured.Unstructured, ns, ip string) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	step := func() error {
		live, err := dyn.Resource(gatewaysGVR).Namespace(gw.GetNamespace()).Get(ctx, gw.GetName(), metav1.GetOptions{})
		if err != nil {
			return err
		}
		if ip0, _ := kube.GatewayAddress(live); ip0 != ip {
			if err := unstructured.SetNestedSlice(live.Object, []any{map[string]any{"type": "IPAddress", "value": ip}}, "status", "addresses"); err != nil {
				return err
			}
			if _, err := dyn.Resource(gatewaysGVR).Namespace(gw.GetNamespace()).UpdateStatus(ctx, live, metav1.UpdateOptions{}); err != nil {
				return err
			}
		}
		routes, err := dyn.Resource(httpRoutesGVR).Namespace(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		for i := range routes.Items {
			r := &routes.Items[i]
			parents, _, _ := unstructured.NestedSlice(r.Object, "spec", "parentRefs")
			var status []any
			for _, p := range parents {
				ref := p.(map[string]any)
				if ref["name"] != gw.GetName() || ref["namespace"] != gw.GetNamespace() {
					continue
				}
				status = append(status, map[string]any{"parentRef": ref, "controllerName": "example.net/test-gateway-controller",
					"conditions": []any{map[string]any{"type": "Accepted", "status": "True", "reason": "Accepted", "message": "accepted by the test",
						"observedGeneration": r.GetGeneration(), "lastTransitionTime": time.Now().UTC().Format(time.RFC3339)}}})
			}
			if accepted, _ := kube.RouteStatus(r, gw.GetNamespace(), gw.GetName(), "http"); accepted || len(status) == 0 {
				continue
			}
			if err := unstructured.SetNestedSlice(r.Object, status, "status", "parents"); err != nil {
				return err
			}
			if _, err := dyn.Resource(httpRoutesGVR).Namespace(ns).UpdateStatus(ctx, r, metav1.UpdateOptions{}); err != nil && !apierrors.IsConflict(err) {
				return err
			}
		}
		return nil
	}
	go func() {
		for ctx.Err() == nil {
			if err := step(); err != nil && ctx.Err() == nil {
				t.Logf("simulated Gateway controller: %v", err)
			}
			time.Sleep(500 * time.Millisecond)
		}
	}()
}

// wayIn is what must not change when the instance switches between an
// Ingress and a Gateway: the Deployments' Pod templates (their checksum),
// the Services, the Gateway's spec and its owners.
func (c *testCluster) wayIn(ctx context.Context, dyn dynamic.Interface, ns, gwNS string) (map[string]string, error) {
	out := map[string]string{}
	deps, err := c.cs.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{LabelSelector: mastodon.LabelInstance + "=social"})
	if err != nil {
		return nil, err
	}
	for _, d := range deps.Items {
		out["Deployment "+d.Name] = d.Spec.Template.Annotations[mastodon.AnnotationChecksum]
	}
	svcs, err := c.cs.CoreV1().Services(ns).List(ctx, metav1.ListOptions{LabelSelector: mastodon.LabelInstance + "=social"})
	if err != nil {
		return nil, err
	}
	for _, s := range svcs.Items {
		out["Service "+s.Name] = string(s.UID) + " rv=" + s.ResourceVersion
	}
	gw, err := dyn.Resource(gatewaysGVR).Namespace(gwNS).Get(ctx, "public", metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	var managers []string
	for _, f := range gw.GetManagedFields() {
		managers = append(managers, f.Manager)
	}
	out["Gateway"] = fmt.Sprintf("generation=%d managers=%v", gw.GetGeneration(), managers)
	return out, nil
}

// An instance routed through a Gateway (created by the test, its
// controller simulated), with an account: the address comes from the
// Gateway; switched to an Ingress and back, the provider's old routes or
// Ingress go, someone else's route stays, and nothing else changes (no Pod
// rolls, the Services, generated secrets and account are the same, the
// Gateway is never written). A Gateway that does not exist fails the apply
// before anything changes.
func TestAccInstance_gatewaySwitch(t *testing.T) {
	c := newTestCluster(t)
	dyn := c.installGatewayAPI(t)
	ns := c.namespace(t, "acc-gateway")
	gwNS := c.namespace(t, "acc-gateway-infra")
	ctx := context.Background()
	if _, err := c.cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "someone-elses",
		Labels: map[string]string{mastodon.LabelInstance: "social"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	gw := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
		"metadata": map[string]any{"name": "public", "namespace": gwNS},
		"spec": map[string]any{"gatewayClassName": "test", "listeners": []any{map[string]any{"name": "http", "port": int64(80), "protocol": "HTTP",
			"allowedRoutes": map[string]any{"namespaces": map[string]any{"from": "All"}}}}}}}
	if _, err := dyn.Resource(gatewaysGVR).Namespace(gwNS).Create(ctx, gw, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Someone else's route, with the instance's label but not its owner's.
	foreign := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
		"metadata": map[string]any{"name": "someone-elses", "namespace": ns, "labels": map[string]any{mastodon.LabelInstance: "social"}},
		"spec": map[string]any{"parentRefs": []any{map[string]any{"name": "public", "namespace": gwNS}}, "hostnames": []any{"blog.social.example"},
			"rules": []any{map[string]any{"backendRefs": []any{map[string]any{"name": "blog", "port": int64(80)}}}}}}}
	created, err := dyn.Resource(httpRoutesGVR).Namespace(ns).Create(ctx, foreign, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	const gatewayIP, ingressIP = "203.0.113.60", "203.0.113.61"
	simulateGatewayController(t, dyn, gw, ns, gatewayIP)

	gateway := func(name string) string {
		return fmt.Sprintf(`  web_domain = "www.social.example"
  gateway = {
    name                  = %q
    namespace             = %q
    section_name          = "http"
    load_balancer_timeout = "2m"
  }`, name, gwNS)
	}
	const ingress = `  web_domain = "www.social.example"
  ingress = {
    class_name            = "nginx"
    tls_secret_name       = "social-tls"
    load_balancer_timeout = "2m"
  }`
	config := func(extra string) string { return lifecycleConfig(ns, mastodon.DefaultVersion, extra) }
	routes := func(want ...string) resource.TestCheckFunc {
		return func(*terraform.State) error {
			list, err := dyn.Resource(httpRoutesGVR).Namespace(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				return err
			}
			var got []string
			for _, r := range list.Items {
				got = append(got, r.GetName())
				if r.GetName() == foreign.GetName() && r.GetUID() != created.GetUID() {
					return fmt.Errorf("someone else's HTTPRoute was replaced")
				}
			}
			if strings.Join(got, ",") != strings.Join(want, ",") {
				return fmt.Errorf("HTTPRoutes %v, want %v", got, want)
			}
			return nil
		}
	}
	ingresses := func(want int) resource.TestCheckFunc {
		return func(*terraform.State) error {
			list, err := c.cs.NetworkingV1().Ingresses(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				return err
			}
			if len(list.Items) != want {
				return fmt.Errorf("%d Ingresses, want %d", len(list.Items), want)
			}
			return nil
		}
	}
	var first unchanged
	var before map[string]string
	sameWayIn := func(*terraform.State) error {
		now, err := c.wayIn(ctx, dyn, ns, gwNS)
		if err != nil {
			return err
		}
		if strings.Contains(now["Gateway"], kube.FieldManager) {
			return fmt.Errorf("the provider wrote the Gateway: %s", now["Gateway"])
		}
		if before == nil {
			before = now
			return nil
		}
		for k, v := range before {
			if now[k] != v {
				return fmt.Errorf("%s changed: %q -> %q", k, v, now[k])
			}
		}
		if len(now) != len(before) {
			return fmt.Errorf("objects %v, were %v", now, before)
		}
		return nil
	}
	accountKept := resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
		plancheck.ExpectResourceAction("mastodon_instance.test", plancheck.ResourceActionUpdate),
		plancheck.ExpectUnknownValue("mastodon_instance.test", tfjsonpath.New("load_balancer_ip")),
		plancheck.ExpectResourceAction("mastodon_admin_user.owner", plancheck.ResourceActionNoop),
	}}
	var adminID string
	sameAdmin := func(s *terraform.State) error {
		id := s.RootModule().Resources["mastodon_admin_user.owner"].Primary.ID
		if adminID == "" {
			adminID = id
		}
		if id != adminID {
			return fmt.Errorf("admin user %s replaced by %s", adminID, id)
		}
		return nil
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{
				Config: config(gateway("public")),
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr("mastodon_instance.test", "load_balancer_ip", gatewayIP),
					routes("social", "social-local-domain", "someone-elses"), ingresses(0),
					c.checkUnchanged(ns, &first), sameWayIn, sameAdmin),
			},
			{
				PreConfig:        func() { c.publishLoadBalancer(t, ns, 3*time.Second, ingressIP, "") },
				Config:           config(ingress),
				ConfigPlanChecks: accountKept,
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr("mastodon_instance.test", "load_balancer_ip", ingressIP),
					routes("someone-elses"), ingresses(1),
					c.checkUnchanged(ns, &first), sameWayIn, sameAdmin),
			},
			{
				Config:           config(gateway("public")),
				ConfigPlanChecks: accountKept,
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr("mastodon_instance.test", "load_balancer_ip", gatewayIP),
					routes("social", "social-local-domain", "someone-elses"), ingresses(0),
					c.checkUnchanged(ns, &first), sameWayIn, sameAdmin),
			},
			{
				Config: config(gateway("absent")),
				ExpectError: regexp.MustCompile(strings.ReplaceAll(regexp.QuoteMeta(fmt.Sprintf(
					"gateway: Gateway %s/absent (gateway.name, gateway.namespace) does not exist", gwNS)), " ", `\s+`)),
			},
			{
				// The failed apply changed nothing: the routes still attach
				// to the Gateway, and state is as before.
				Config: config(gateway("public")), PlanOnly: true,
			},
			{
				Config: config(gateway("public")),
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr("mastodon_instance.test", "load_balancer_ip", gatewayIP),
					routes("social", "social-local-domain", "someone-elses"), c.checkUnchanged(ns, &first), sameWayIn, sameAdmin),
			},
		},
	})
}
