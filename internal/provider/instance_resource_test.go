package provider

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/tootform/terraform-provider-mastodon/internal/kube"
	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

func instanceConfig(ns, extra string) string {
	return fmt.Sprintf(`
resource "mastodon_instance" "test" {
  name                = "social"
  namespace           = %q
  local_domain        = "social.example"
  deletion_protection = false
  timeouts = {
    create = "3m"
    update = "3m"
    delete = "3m"
  }
%s
}
`, ns, extra)
}

// checkPrepareBeforeDeployments checks in the cluster that the db-prepare
// Job had completed before the first Deployment was created.
func (c *testCluster) checkPrepareBeforeDeployments(ns string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		ctx := context.Background()
		jobs, err := c.cs.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/component=db-prepare"})
		if err != nil {
			return err
		}
		if len(jobs.Items) != 1 || jobs.Items[0].Status.CompletionTime == nil {
			return fmt.Errorf("want one completed db-prepare Job, got %d", len(jobs.Items))
		}
		done := jobs.Items[0].Status.CompletionTime.Time
		deps, err := c.cs.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/instance=social"})
		if err != nil {
			return err
		}
		if len(deps.Items) != 3 {
			return fmt.Errorf("want web, streaming and one Sidekiq Deployment, got %d", len(deps.Items))
		}
		for _, d := range deps.Items {
			// Timestamps have a one-second resolution.
			if d.CreationTimestamp.Time.Before(done.Truncate(time.Second)) {
				return fmt.Errorf("Deployment %s was created at %s, before the db-prepare Job completed at %s", d.Name, d.CreationTimestamp, done)
			}
		}
		return nil
	}
}

func TestAccInstance_basic(t *testing.T) {
	c := newTestCluster(t)
	ns := "acc-basic-" + randomSuffix()
	t.Cleanup(func() { _ = c.cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	var secretKeyBase string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		PreCheck:                 func() { testAccPreCheck(t) },
		Steps: []resource.TestStep{
			{
				Config: instanceConfig(ns, ""),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("mastodon_instance.test", tfjsonpath.New("id"), knownvalue.StringExact(ns+"/social")),
					statecheck.ExpectKnownValue("mastodon_instance.test", tfjsonpath.New("url"), knownvalue.StringExact("https://social.example")),
					statecheck.ExpectKnownValue("mastodon_instance.test", tfjsonpath.New("ready"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue("mastodon_instance.test", tfjsonpath.New("drift"), knownvalue.ListExact([]knownvalue.Check{})),
					statecheck.ExpectKnownValue("mastodon_instance.test", tfjsonpath.New("vapid_public_key"), knownvalue.StringRegexp(regexp.MustCompile(`^B[A-Za-z0-9_-]{86}=$`))),
					statecheck.ExpectKnownValue("mastodon_instance.test", tfjsonpath.New("secrets").AtMapKey("secret_key_base"), knownvalue.StringRegexp(regexp.MustCompile(`^[0-9a-f]{128}$`))),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					c.checkPrepareBeforeDeployments(ns),
					func(s *terraform.State) error {
						secretKeyBase = s.RootModule().Resources["mastodon_instance.test"].Primary.Attributes["secrets.secret_key_base"]
						return nil
					},
					c.checkNoSecretInConfigMap(ns, "social-env"),
				),
			},
			{
				// A second plan is empty.
				Config: instanceConfig(ns, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
			{
				ResourceName:      "mastodon_instance.test",
				ImportState:       true,
				ImportStateId:     ns + "/social",
				ImportStateVerify: true,
			},
			{
				// Scale web: only web rolls; the generated secrets stay.
				Config: instanceConfig(ns, `  web = { replicas = 2 }`),
				Check: resource.ComposeAggregateTestCheckFunc(
					func(s *terraform.State) error {
						if got := s.RootModule().Resources["mastodon_instance.test"].Primary.Attributes["secrets.secret_key_base"]; got != secretKeyBase {
							return fmt.Errorf("secret_key_base changed")
						}
						return nil
					},
					c.checkReplicas(ns, "social-web", 2),
				),
			},
		},
	})
}

func (c *testCluster) checkNoSecretInConfigMap(ns, name string) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		cm, err := c.cs.CoreV1().ConfigMaps(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		attrs := s.RootModule().Resources["mastodon_instance.test"].Primary.Attributes
		for k, v := range attrs {
			if !strings.HasPrefix(k, "secrets.") || len(v) < 8 {
				continue
			}
			for key, value := range cm.Data {
				if strings.Contains(value, v) {
					return fmt.Errorf("ConfigMap %s key %s holds the secret %s", name, key, k)
				}
			}
			for key, value := range cm.Annotations {
				if strings.Contains(value, v) {
					return fmt.Errorf("ConfigMap %s annotation %s holds the secret %s", name, key, k)
				}
			}
		}
		return nil
	}
}

func (c *testCluster) checkReplicas(ns, name string, want int32) resource.TestCheckFunc {
	return func(*terraform.State) error {
		d, err := c.cs.AppsV1().Deployments(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if *d.Spec.Replicas != want || d.Status.ReadyReplicas != want {
			return fmt.Errorf("Deployment %s: %d replicas, %d ready, want %d", name, *d.Spec.Replicas, d.Status.ReadyReplicas, want)
		}
		return nil
	}
}

// expectDrift checks that the refresh before a plan recorded these drifts.
type expectDrift []string

func (e expectDrift) CheckPlan(_ context.Context, req plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	if req.Plan.PriorState == nil || req.Plan.PriorState.Values == nil {
		resp.Error = fmt.Errorf("the plan has no prior state")
		return
	}
	for _, r := range req.Plan.PriorState.Values.RootModule.Resources {
		if r.Address != "mastodon_instance.test" {
			continue
		}
		drift, _ := r.AttributeValues["drift"].([]any)
		var got []string
		for _, d := range drift {
			got = append(got, fmt.Sprint(d))
		}
		all := strings.Join(got, "\n")
		for _, want := range e {
			if !strings.Contains(all, want) {
				resp.Error = fmt.Errorf("drift %q not reported; the refresh reported:\n%s", want, all)
				return
			}
		}
		return
	}
	resp.Error = fmt.Errorf("mastodon_instance.test not in the prior state")
}

func TestAccInstance_driftShownAndRepaired(t *testing.T) {
	c := newTestCluster(t)
	ns := "acc-drift-" + randomSuffix()
	t.Cleanup(func() { _ = c.cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	var before map[string][]byte
	ctx := context.Background()
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{Config: instanceConfig(ns, "")},
			{
				PreConfig: func() {
					sec, err := c.cs.CoreV1().Secrets(ns).Get(ctx, "social-secrets", metav1.GetOptions{})
					if err != nil {
						t.Fatal(err)
					}
					before = sec.Data
					scale, err := c.cs.AppsV1().Deployments(ns).GetScale(ctx, "social-web", metav1.GetOptions{})
					if err != nil {
						t.Fatal(err)
					}
					scale.Spec.Replicas = 3
					if _, err := c.cs.AppsV1().Deployments(ns).UpdateScale(ctx, "social-web", scale, metav1.UpdateOptions{}); err != nil {
						t.Fatal(err)
					}
					d, err := c.cs.AppsV1().Deployments(ns).Get(ctx, "social-streaming", metav1.GetOptions{})
					if err != nil {
						t.Fatal(err)
					}
					d.Spec.Template.Spec.Containers[0].Image = "ghcr.io/mastodon/mastodon-streaming:v4.4.0"
					if _, err := c.cs.AppsV1().Deployments(ns).Update(ctx, d, metav1.UpdateOptions{}); err != nil {
						t.Fatal(err)
					}
					if err := c.cs.CoreV1().Services(ns).Delete(ctx, "social-web", metav1.DeleteOptions{}); err != nil {
						t.Fatal(err)
					}
					if err := c.cs.CoreV1().Secrets(ns).Delete(ctx, "social-secrets", metav1.DeleteOptions{}); err != nil {
						t.Fatal(err)
					}
				},
				Config: instanceConfig(ns, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("mastodon_instance.test", plancheck.ResourceActionUpdate),
						expectDrift{
							"Deployment social-web: spec.replicas is 3, want 1",
							"Deployment social-streaming: spec.template.spec.containers[name=streaming].image is ghcr.io/mastodon/mastodon-streaming:v4.4.0",
							"Service social-web is missing",
							"Secret social-secrets is missing",
						},
					},
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					c.checkReplicas(ns, "social-web", 1),
					func(*terraform.State) error {
						if _, err := c.cs.CoreV1().Services(ns).Get(ctx, "social-web", metav1.GetOptions{}); err != nil {
							return fmt.Errorf("the Service was not restored: %w", err)
						}
						sec, err := c.cs.CoreV1().Secrets(ns).Get(ctx, "social-secrets", metav1.GetOptions{})
						if err != nil {
							return fmt.Errorf("the Secret was not restored: %w", err)
						}
						for k, v := range before {
							if string(sec.Data[k]) != string(v) {
								return fmt.Errorf("the restored Secret has another %s", k)
							}
						}
						d, err := c.cs.AppsV1().Deployments(ns).Get(ctx, "social-streaming", metav1.GetOptions{})
						if err != nil {
							return err
						}
						if img := d.Spec.Template.Spec.Containers[0].Image; !strings.HasSuffix(img, ":"+mastodon.DefaultVersion) {
							return fmt.Errorf("streaming image not repaired: %s", img)
						}
						return nil
					},
				),
			},
			{
				Config: instanceConfig(ns, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
		},
	})
}

func TestAccInstance_rollsOnlyWhatChanged(t *testing.T) {
	c := newTestCluster(t)
	ns := "acc-roll-" + randomSuffix()
	t.Cleanup(func() { _ = c.cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	generations := map[string]int64{}
	record := func() {
		deps, err := c.cs.AppsV1().Deployments(ns).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range deps.Items {
			generations[d.Name] = d.Generation
		}
	}
	changed := func(want map[string]bool) resource.TestCheckFunc {
		return func(*terraform.State) error {
			deps, err := c.cs.AppsV1().Deployments(ns).List(context.Background(), metav1.ListOptions{})
			if err != nil {
				return err
			}
			for _, d := range deps.Items {
				if got := d.Generation != generations[d.Name]; got != want[d.Name] {
					return fmt.Errorf("Deployment %s: changed = %v, want %v", d.Name, got, want[d.Name])
				}
			}
			return nil
		}
	}
	sidekiq := func(concurrency int) string {
		return fmt.Sprintf(`  sidekiq = [
    { name = "default", queues = ["default,8", "push,6", "ingress,4", "mailers,2", "pull", "fasp"], concurrency = %d },
    { name = "scheduler", queues = ["scheduler"] },
  ]`, concurrency)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{Config: instanceConfig(ns, sidekiq(10))},
			{
				PreConfig: record,
				Config:    instanceConfig(ns, sidekiq(20)),
				Check:     changed(map[string]bool{"social-sidekiq-default": true}),
			},
			{
				// A change of the shared configuration rolls every Rails
				// and streaming Pod.
				PreConfig: record,
				Config:    instanceConfig(ns, sidekiq(20)+"\n  settings = { default_locale = \"de\" }"),
				Check: changed(map[string]bool{"social-sidekiq-default": true, "social-sidekiq-scheduler": true,
					"social-web": true, "social-streaming": true}),
			},
			{
				// A removed process is deleted.
				Config: instanceConfig(ns, `  sidekiq = [{ name = "all", queues = ["default", "push", "ingress", "mailers", "pull", "scheduler", "fasp"] }]`),
				Check: func(*terraform.State) error {
					deps, err := c.cs.AppsV1().Deployments(ns).List(context.Background(), metav1.ListOptions{})
					if err != nil {
						return err
					}
					var names []string
					for _, d := range deps.Items {
						names = append(names, d.Name)
					}
					if strings.Join(names, ",") != "social-sidekiq-all,social-streaming,social-web" {
						return fmt.Errorf("Deployments after removing processes: %v", names)
					}
					return nil
				},
			},
		},
	})
}

func TestAccInstance_deletionProtection(t *testing.T) {
	c := newTestCluster(t)
	ns := "acc-protect-" + randomSuffix()
	t.Cleanup(func() { _ = c.cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	protected := strings.Replace(instanceConfig(ns, ""), "deletion_protection = false", "deletion_protection = true", 1)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{Config: protected},
			{
				Config:      protected,
				Destroy:     true,
				ExpectError: regexp.MustCompile(`deletion_protection = true`),
			},
			{
				// Unprotected, the instance is destroyed and waited for; the
				// embedded database's and Redis's volumes are kept.
				Config: instanceConfig(ns, ""),
			},
		},
		CheckDestroy: func(*terraform.State) error {
			ctx := context.Background()
			deps, err := c.cs.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				return err
			}
			if len(deps.Items) > 0 {
				return fmt.Errorf("%d Deployments left", len(deps.Items))
			}
			pvcs, err := c.cs.CoreV1().PersistentVolumeClaims(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				return err
			}
			if len(pvcs.Items) != 3 {
				return fmt.Errorf("want the database, Redis and media volumes kept, got %d claims", len(pvcs.Items))
			}
			return nil
		},
	})
}

func TestAccInstance_restrictedNamespace(t *testing.T) {
	c := newTestCluster(t)
	ns := c.namespace(t, "acc-restricted")
	nsObj, err := c.cs.CoreV1().Namespaces().Get(context.Background(), ns, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	nsObj.Labels["pod-security.kubernetes.io/enforce"] = "restricted"
	if _, err := c.cs.CoreV1().Namespaces().Update(context.Background(), nsObj, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{{
			Config: instanceConfig(ns, "  create_namespace = false"),
			Check: func(*terraform.State) error {
				pods, err := c.cs.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{})
				if err != nil {
					return err
				}
				// web, streaming, sidekiq, postgresql, redis and the finished Job's Pod
				if len(pods.Items) < 5 {
					return fmt.Errorf("only %d Pods were admitted", len(pods.Items))
				}
				return nil
			},
		}},
	})
}

var stagesGVR = schema.GroupVersionResource{Group: "kwok.x-k8s.io", Version: "v1alpha1", Resource: "stages"}

// simulated reports whether the cluster's nodes are kwok's, with its Stage
// CRD served: only there can a test choose how a container ends.
func (c *testCluster) simulated(t *testing.T) bool {
	t.Helper()
	res, err := c.cs.Discovery().ServerResourcesForGroupVersion(stagesGVR.GroupVersion().String())
	if apierrors.IsNotFound(err) {
		return false
	}
	if err != nil {
		t.Fatalf("discovering kwok's Stage CRD: %v", err)
	}
	return slices.ContainsFunc(res.APIResources, func(r metav1.APIResource) bool { return r.Name == stagesGVR.Resource })
}

// failPods makes kwok fail the Pods of one component in one namespace, as a
// container exiting with an error would, until the returned func removes it.
// On real nodes (kind) a container's exit code and message cannot be chosen
// from outside, and heals cannot be timed: the test is skipped there.
func (c *testCluster) failPods(t *testing.T, ns, component, message string) func() {
	return c.stagePods(t, "fail-"+ns+"-"+component, ns, component, podStatus("Failed", `    terminated:
      exitCode: 1
      reason: Error
      message: `+message+`
      startedAt: {{ $now | Quote }}
      finishedAt: {{ $now | Quote }}`))
}

// replaceWithUnreadyPods deletes a component's Pods and waits until their
// replacements are there and not ready (a Stage of failPods or stagePods
// given them its status). kwok takes a new Stage a moment after it is
// created: a replacement made ready before that is deleted again.
func (c *testCluster) replaceWithUnreadyPods(t *testing.T, ns, component string) {
	t.Helper()
	ctx := context.Background()
	sel := metav1.ListOptions{LabelSelector: "app.kubernetes.io/component=" + component}
	if err := c.cs.CoreV1().Pods(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, sel); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(500 * time.Millisecond) {
		pods, err := c.cs.CoreV1().Pods(ns).List(ctx, sel)
		if err != nil {
			t.Fatal(err)
		}
		unready := 0
		for _, p := range pods.Items {
			switch {
			case p.DeletionTimestamp != nil:
			case podReady(&p):
				_ = c.cs.CoreV1().Pods(ns).Delete(ctx, p.Name, metav1.DeleteOptions{})
			case p.Status.Phase != corev1.PodPending || len(p.Status.Conditions) > 0:
				unready++
			}
		}
		if unready > 0 && unready == len(pods.Items) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the %s Pods of %s did not come back unready", component, ns)
		}
	}
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// podStatus is a kwok status template: the Pod in phase, not ready, every
// container in state (YAML, indented under "state:").
func podStatus(phase, state string) string {
	return `{{ $now := Now }}
phase: ` + phase + `
conditions:
- lastTransitionTime: {{ $now | Quote }}
  status: "False"
  type: Ready
containerStatuses:
{{ range .spec.containers }}
- image: {{ .image | Quote }}
  name: {{ .name | Quote }}
  ready: false
  restartCount: 0
  state:
` + state + `
{{ end }}
`
}

// stagePods makes kwok give the new Pods of one component in one namespace
// the status statusTemplate renders, until the returned func removes it.
// On real nodes (kind) a Pod's status cannot be chosen from outside: the
// test is skipped there, saying why.
func (c *testCluster) stagePods(t *testing.T, name, ns, component, statusTemplate string) func() {
	t.Helper()
	if !c.simulated(t) {
		t.Skipf("needs kwok's Stage CRD (simulated nodes) to choose the status of the %s Pods; this cluster's nodes are real", component)
	}
	dyn, err := dynamic.NewForConfig(c.rest)
	if err != nil {
		t.Fatal(err)
	}
	gvr := stagesGVR
	stage := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "kwok.x-k8s.io/v1alpha1",
		"kind":       "Stage",
		"metadata":   map[string]any{"name": name},
		"spec": map[string]any{
			"resourceRef": map[string]any{"apiGroup": "v1", "kind": "Pod"},
			"selector": map[string]any{"matchExpressions": []any{
				map[string]any{"key": ".metadata.namespace", "operator": "In", "values": []any{ns}},
				map[string]any{"key": `.metadata.labels["app.kubernetes.io/component"]`, "operator": "In", "values": []any{component}},
				map[string]any{"key": ".metadata.deletionTimestamp", "operator": "DoesNotExist"},
				map[string]any{"key": ".status.phase", "operator": "In", "values": []any{"Pending"}},
			}},
			// A weight makes this Stage win over kwok's default pod-ready.
			"weight": int64(1),
			"next":   map[string]any{"statusTemplate": statusTemplate},
		},
	}}
	ctx := context.Background()
	if _, err := dyn.Resource(gvr).Create(ctx, stage, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating the kwok Stage (the local cluster enables the Stage CRD): %v", err)
	}
	remove := func() { _ = dyn.Resource(gvr).Delete(ctx, name, metav1.DeleteOptions{}) }
	t.Cleanup(remove)
	return remove
}

func TestAccInstance_failingPrepareJob(t *testing.T) {
	c := newTestCluster(t)
	ns := "acc-prepare-" + randomSuffix()
	t.Cleanup(func() { _ = c.cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	heal := c.failPods(t, ns, "db-prepare", "relation-accounts-does-not-exist")
	noDeployments := func() {
		deps, err := c.cs.AppsV1().Deployments(ns).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(deps.Items) > 0 {
			t.Fatalf("%d Deployments were started although the database was not prepared", len(deps.Items))
		}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{
				Config: instanceConfig(ns, ""),
				ExpectError: regexp.MustCompile(`(?s)The db-prepare Job failed.*Job ` + ns + `/social-db-prepare-[0-9a-f]+.*BackoffLimitExceeded` +
					`.*exit code 1.*relation-accounts-does-not-exist.*No Deployment was started`),
			},
			{
				// The cause removed, the next apply starts a fresh Job and finishes.
				PreConfig: func() { noDeployments(); heal() },
				Config:    instanceConfig(ns, ""),
				Check:     c.checkPrepareBeforeDeployments(ns),
			},
		},
	})
}

// refusedSteps are plan-only steps, one for each case: an instance in ns
// with extra settings, refused with the message want (spaces in want match
// any line break of Terraform's output).
func refusedSteps(ns string, cases []struct{ extra, want string }) []resource.TestStep {
	var steps []resource.TestStep
	for _, tc := range cases {
		steps = append(steps, resource.TestStep{
			Config:      instanceConfig(ns, tc.extra),
			PlanOnly:    true,
			ExpectError: regexp.MustCompile(strings.ReplaceAll(regexp.QuoteMeta(tc.want), " ", `\s+`)),
		})
	}
	return steps
}

func TestAccInstance_invalidInput(t *testing.T) {
	testAccPreCheck(t)
	cert, _ := testCertificatePEM(t)
	_, otherKey := testCertificatePEM(t)
	cases := []struct{ extra, want string }{
		{`  web = { replicas = -1 }`, `web.replicas: must not be negative`},
		{`  sidekiq = [{ name = "main", queues = ["default", "scheduler"], replicas = 2 }]`, `process "main" serves the scheduler queue, so it must have at most 1 replica`},
		{`  sidekiq = [{ name = "a", queues = ["scheduler"] }, { name = "b", queues = ["default", "scheduler"] }]`, `the scheduler queue is already served by process "a"`},
		{`  sidekiq = [{ name = "a", queues = ["defaults"] }]`, `unknown queue "defaults"`},
		{`  version = "latest"`, `"latest" is not a Mastodon version`},
		{`  version = "v4.2.10"`, `older than v4.3.0`},
		{`  version = "4.6.5"`, `write "v4.6.5"`},
		{`  version = "v4.3.9"`, `v4.3.9 is older than v4.4.0, the oldest version a new instance can start on`},
		{`  media = { access_mode = "ReadWriteOncePod" }`, `media.access_mode: ReadWriteOncePod lets one Pod mount the volume`},
		{`  smtp = { server = "smtp.example", port = 465, tls = true, enable_starttls = "auto" }`, `smtp.enable_starttls: must be never (or unset) with implicit TLS`},
		{`  smtp = { server = "smtp.example", delivery_method = "letter_opener" }`, `letter_opener is Mastodon's development-only delivery method`},
		{`  redis = { host = "redis" }
  embedded_redis = { storage_size = "5Gi" }`, `embedded_redis configures the in-cluster Redis`},
		{`  web_domain = "https://social.example/"`, `web_domain: "https://social.example/" is not a domain name`},
		{`  database = { host = "db", user = "mastodon" }
  embedded_database = { storage_size = "5Gi" }`, `embedded_database configures the in-cluster PostgreSQL`},
		{fmt.Sprintf("  ingress = {\n    certificate_pem = %s\n    private_key_pem = %s\n  }", hclString(cert), hclString(otherKey)), `do not parse as a matching PEM certificate and key`},
		{fmt.Sprintf("  ingress = {\n    certificate_pem = %s\n  }", hclString(cert)), `must be given together`},
		{`  smtp = { server = "smtp.example", from_address = "not an address" }`, `smtp.from_address: "not an address" is not an email address`},
		{`  redis = { host = "redis.internal", password_wo = "secret" }`, `redis.password_wo needs redis.password_wo_version`},
		{`  pod = { labels = { "app.kubernetes.io/instance" = "other" } }`, `pod.labels: key "app.kubernetes.io/instance" is the provider's`},
		{`  web = { service_annotations = { "mastodon.tootform.dev/checksum" = "x" } }`, `web.service_annotations: key "mastodon.tootform.dev/checksum" is the provider's`},
		{`  pod = { tolerations = [{ key = "k", operator = "Exists", value = "v" }] }`, `pod.tolerations[0].value: must be empty with operator Exists`},
		{`  pod = { tolerations = [{ key = "k", operator = "Sometimes" }] }`, `value must be one of`},
		{`  jobs = { pod = { affinity = { node_required = [{ match_expressions = [{ key = "k", operator = "In" }] }] } } }`, `must not be empty with operator In`},
		{`  pod = { host_aliases = [{ ip = "smtp", hostnames = ["smtp.internal"] }] }`, `pod.host_aliases[0].ip: "smtp" is not an IP address`},
		{`  pod = { affinity = { node_required = [{ match_expressions = [{ key = "cpus", operator = "Gt", values = ["eight"] }] }] } }`, `must hold one integer with operator Gt`},
		{`  web = { pod = { affinity = { pod_affinity = [{ topology_key = "kubernetes.io/hostname", match_labels = {} }] } } }`, `web.pod.affinity.pod_affinity[0].match_labels: selects no label`},
		{`  streaming = { pod = { topology_spread = [
    { topology_key = "topology.kubernetes.io/zone", when_unsatisfiable = "ScheduleAnyway" },
    { topology_key = "topology.kubernetes.io/zone", when_unsatisfiable = "ScheduleAnyway", max_skew = 2 },
  ] } }`, `streaming.pod.topology_spread[1]: spreads by topology.kubernetes.io/zone with ScheduleAnyway as topology_spread[0] does`},
		{`  pod = { security_context = { run_as_user = 0 } }`, `value must be at least 1`},
		{`  web = { pod = { node_selector = { pool = "web" } } }
  sidekiq = [{ name = "all", queues = ["default", "push", "ingress", "mailers", "pull", "scheduler", "fasp"], pod = { node_selector = { pool = "workers" } } }]`, `every Pod that mounts the ReadWriteOnce media volume runs on one node`},
		{`  web = {
    replicas = 2
    pod      = { topology_spread = [{ topology_key = "kubernetes.io/hostname", when_unsatisfiable = "DoNotSchedule" }] }
  }`, `spreads across nodes with DoNotSchedule`},
		{`  service_account = { name = "existing", annotations = { "eks.amazonaws.com/role-arn" = "arn" } }`, `names an existing one`},
		{`  pod = { volumes = [{ name = "cache", mount_path = "/opt/mastodon/public/system/cache", empty_dir = {} }] }`, `where the provider mounts its own volume "media"`},
		{`  settings = { time_zone = "Mars/Olympus" }`, `"Mars/Olympus" is not an IANA time zone`},
		{`  streaming_domain = "social.example"`, `streaming_domain: "social.example" is local_domain`},
		{`  settings = { extra_env = { ALTERNATE_DOMAINS = "social.example.net" } }`, `settings.extra_env: "ALTERNATE_DOMAINS" is set by alternate_domains`},
		{`  settings = { extra_env = { DB_HOST = "db.internal" } }`, `settings.extra_env: "DB_HOST" is set by database.host: set it there`},
		{`  settings = { extra_secret_env = { SECRET_KEY_BASE = "mine" } }`, `settings.extra_secret_env: "SECRET_KEY_BASE" is set by own_secrets: set it there`},
		{`  redis = { host = "redis.internal", password = "a", password_wo = "b", password_wo_version = 1 }`, `redis.password_wo conflicts with redis.password`},
		{`  smtp = { server = "smtp.example", password_wo_version = 1 }`, `smtp.password_wo_version versions smtp.password_wo, which is not set`},
		{`  settings = { extra_secret_env_wo = { DEEPL_API_KEY = "x" } }`, `settings.extra_secret_env_wo needs settings.extra_secret_env_wo_version`},
		{`  settings = {
    extra_env                   = { DEEPL_API_KEY = "x" }
    extra_secret_env_wo         = { DEEPL_API_KEY = "x" }
    extra_secret_env_wo_version = 1
  }`, `"DEEPL_API_KEY" is also in settings.extra_env`},
		{`  media_bucket = { bucket = "media", endpoint = "https://storage.googleapis.com", access_key_id = "GOOG1E" }`, `media_bucket.secret_access_key: must be set`},
		{`  media_bucket = { bucket = "media", endpoint = "https://storage.googleapis.com" }`, `media_bucket.access_key_id: must be set: the endpoint is Cloud Storage, whose S3 interface takes only HMAC keys`},
		{`  media_bucket = { bucket = "media", endpoint = "https://s3.example", secret_access_key_wo = "s", secret_access_key_wo_version = 1 }`, `media_bucket.access_key_id: must be set with secret_access_key`},
		{`  opensearch = { host = "https://es.internal" }`, `opensearch.host: "https://es.internal" must be a host name or address without scheme`},
		{`  opensearch = { host = "es.internal", preset = "huge_cluster" }`, `opensearch.preset: must be one of single_node_cluster, small_cluster, large_cluster, not "huge_cluster"`},
		{`  opensearch = { host = "es.internal", port = 92000 }`, `opensearch.port: must be a TCP port (got 92000)`},
		{`  opensearch = { host = "es.internal", prefix = "Social" }`, `opensearch.prefix: "Social" is not an index name prefix`},
		{`  opensearch = { host = "es.internal", user = "m", password = "a", password_wo = "b", password_wo_version = 1 }`, `opensearch.password_wo conflicts with opensearch.password`},
		{`  translation = {}`, `translation: needs translation.deepl or translation.libre_translate`},
		{`  translation = {
    deepl           = { api_key = "k" }
    libre_translate = { endpoint = "http://libretranslate:5000" }
  }`, `translation.deepl: conflicts with translation.libre_translate`},
		{`  translation = { deepl = { api_key = "k", plan = "business" } }`, `translation.deepl.plan: must be free or pro, not "business"`},
		{`  translation = { deepl = { api_key_wo = "k" } }`, `translation.deepl.api_key_wo needs translation.deepl.api_key_wo_version`},
		{`  translation = { libre_translate = { endpoint = "libretranslate:5000" } }`, `translation.libre_translate.endpoint: "libretranslate:5000" must be a URL`},
		{`  database = { host = "db", user = "mastodon", password = "p" }
  backup = {}`, `backup: backs up the embedded PostgreSQL only, and this instance uses an external PostgreSQL (database): use that database's own backups`},
		{`  backup = { keep = 0 }`, `backup.keep: must be at least 1`},
		{`  backup = { prefix = "a/b/c/d/e" }`, `backup.prefix: "a/b/c/d/e" must be one to four path segments`},
		{`  restore = { key = "migration/mastodon.dump" }`, `restore.bucket: must be set: without media_bucket, name the bucket that holds the dump`},
		{`  database = { host = "db", user = "mastodon", password = "p" }
  restore = { key = "d.dump", bucket = { bucket = "b", endpoint = "https://s3.example", access_key_id = "k", secret_access_key = "s" } }`,
			`restore: restores into the embedded PostgreSQL only, and this instance uses an external database`},
		{`  restore = { key = "s3://old/d.dump", bucket = { bucket = "b", endpoint = "https://s3.example", access_key_id = "k", secret_access_key = "s" } }`,
			`"s3://old/d.dump" must be the dump's key in the bucket`},
		{`  restore = { key = "d.dump", bucket = { bucket = "b", endpoint = "https://s3.example", access_key_id = "k" } }`,
			`restore.bucket.secret_access_key: must be set (it reaches Pods through the Secret social-db-restore of the restore Job only)`},
		{`  maintenance = { remote_media = { schedule = "nightly" } }`, `maintenance.remote_media.schedule: "nightly" is not a cron schedule`},
		{`  maintenance = { statuses = { retention_days = 0 } }`, `maintenance.statuses.retention_days: must be at least 1`},
		{`  smtp = { server = "smtp.example", password = "a", password_secret_ref = { name = "mail", key = "password" } }`,
			`smtp.password_secret_ref: conflicts with smtp.password: give one of smtp.password, smtp.password_wo and smtp.password_secret_ref`},
		{`  settings = {
    extra_secret_env      = { TOKEN = "x" }
    extra_secret_env_refs = { TOKEN = { name = "tokens", key = "token" } }
  }`, `"TOKEN" is also in settings.extra_env, settings.extra_secret_env or settings.extra_secret_env_wo`},
		{`  smtp = { server = "smtp.example", password_secret_ref = { name = "mail", key = "password" } }`,
			`smtp.password_secret_ref: Secret acc-invalid/mail does not exist`},
		{`  ingress = { tls_secret_name = "tls" }
  gateway = { name = "public" }`, `gateway: conflicts with ingress: route the instance through an Ingress (ingress) or a Gateway's HTTPRoutes (gateway), not both`},
		{`  gateway = { name = "Public_Gateway" }`, `gateway.name: "Public_Gateway" is not a valid name`},
		{`  gateway = { name = "public", namespace = "Infra" }`, `gateway.namespace: "Infra" is not a valid namespace name`},
		{`  gateway = { name = "public", section_name = "https_443" }`, `gateway.section_name: "https_443" is not a valid name`},
		{`  sso = {}`, `sso: needs at least one of sso.oidc, sso.saml, sso.cas and sso.ldap`},
		{`  sso = {
    omniauth_only = true
    ldap          = { host = "ldap", base = "dc=example", bind_dn = "cn=m", password = "p" }
  }`, `sso.omniauth_only: hides the password form`},
		{`  sso = {
    one_click_login = true
    oidc            = { issuer = "https://id.example.org", client_id = "c" }
  }`, `sso.one_click_login: needs sso.omniauth_only`},
		{`  sso = { ldap = { host = "ldap", base = "dc=example", bind_dn = "cn=m", password = "p", search_filter = "(uid=%<user>s)" } }`,
			`sso.ldap.search_filter: refers to "user"`},
		{`  sso = { oidc = { issuer = "https://id.example.org", client_id = "c", scope = ["openid,email"] } }`, `"openid,email" is not a scope`},
		{`  sso = { ldap = { host = "ldap", base = "dc=example", bind_dn = "cn=m" } }`, `sso.ldap.password: must be set`},
		{`  hcaptcha = { site_key = "site" }`, `hcaptcha.secret_key: must be set (or hcaptcha.secret_key_wo, or hcaptcha.secret_key_secret_ref)`},
		{`  settings = { extra_env = { HCAPTCHA_SITE_KEY = "site" } }`, `"HCAPTCHA_SITE_KEY" is set by hcaptcha.site_key: set it there`},
		{`  opentelemetry = { endpoint = "otel:4318" }`, `opentelemetry.endpoint: "otel:4318" must be an http or https URL`},
		{`  opentelemetry = { endpoint = "http://otel:4318", traces_sampler = "ratio" }`, `opentelemetry.traces_sampler: must be one of always_on, always_off`},
		{`  opentelemetry = { endpoint = "http://otel:4318", traces_sampler_ratio = 0.5 }`,
			`opentelemetry.traces_sampler_ratio: is read only by the traceidratio and parentbased_traceidratio samplers, not by parentbased_always_on (the default)`},
		{`  opentelemetry = { endpoint = "http://otel:4318", traces_sampler = "traceidratio", traces_sampler_ratio = 1.5 }`,
			`opentelemetry.traces_sampler_ratio: must be between 0 and 1`},
		{`  settings = { rails_log_level = "verbose" }`, `settings.rails_log_level: must be one of debug, info, warn, error, fatal, unknown, not "verbose"`},
		{`  streaming = { log_level = "warning" }`, `streaming.log_level: must be one of trace, debug, info, warn, error, fatal, not "warning"`},
		{`  settings = { extra_env = { RAILS_LOG_LEVEL = "debug" } }`, `"RAILS_LOG_LEVEL" is set by settings.rails_log_level: set it there`},
		{`  settings = { extra_secret_env = { USER_ACTIVE_DAYS = "3" } }`, `"USER_ACTIVE_DAYS" is set by settings.user_active_days: set it there`},
		{`  settings = { email_domain_allowlist = ["example.org", "*.example.net"] }`, `settings.email_domain_allowlist: item 1: "*.example.net" is not a domain`},
		{`  settings = { allowed_private_addresses = ["10.0.0.0/33"] }`, `"10.0.0.0/33" is not an IP address or a network`},
		{`  settings = { http_proxy = "socks5://tor:9050" }`, `settings.http_proxy: "socks5://tor:9050" must be an http or https URL with a host`},
		{`  settings = { session_retention_seconds = 0 }`, `settings.session_retention_seconds: must be at least 1`},
		{`  settings = { extra_env = { SWIFT_ENABLED = "true" } }`, `"SWIFT_ENABLED" configures OpenStack Swift or Azure Blob media storage, which the instance does not deploy: use media_bucket`},
		{`  maintenance = { accounts_cull = { schedule = "weekly" } }`, `maintenance.accounts_cull.schedule: "weekly" is not a cron schedule`},
		{`  cache_redis = { host = "cache.redis" }
  embedded_cache_redis = {}`, `embedded_cache_redis: conflicts with cache_redis`},
		{`  sidekiq_redis = { host = "jobs.redis", tls = true, password_secret_ref = { name = "jobs", key = "password" } }`,
			`sidekiq_redis.password_secret_ref: cannot be used with sidekiq_redis.tls`},
		{`  embedded_cache_redis = { max_memory = "1Gi" }`, `embedded_cache_redis.max_memory: "1Gi" is not a Redis memory size`},
		{`  cache_redis = { host = "cache.redis", db = -1 }`, `cache_redis.db: must not be negative`},
		{`  sidekiq_redis = { host = "jobs.redis" }
  settings = { extra_env = { SIDEKIQ_REDIS_URL = "redis://other" } }`, `"SIDEKIQ_REDIS_URL" is set by sidekiq_redis: set it there`},
		{`  redis = { host = "redis", sentinel = { master = "main", hosts = ["sentinel"] } }`, `redis.sentinel: conflicts with redis.host`},
		{`  cache_redis = { sentinel = { master = "cache", hosts = ["fd00::1"] } }`, `"fd00::1" has more than one ':'`},
		{`  sidekiq_redis = { sentinel = { master = "jobs", hosts = [] } }`, `sidekiq_redis.sentinel.hosts: must name at least one Sentinel`},
		{`  database = {
    host   = "pgbouncer"
    user   = "mastodon"
    pooler = { mode = "transaction" }
  }`, `database.direct: must be set with database.pooler.mode = "transaction"`},
		{`  database = {
    host   = "pgbouncer"
    user   = "mastodon"
    pooler = { mode = "statement" }
  }`, `statement mode refuses transactions of more than one statement`},
		{`  database = {
    host   = "pgbouncer"
    user   = "mastodon"
    pooler = { mode = "session" }
  }
  settings = { extra_env = { PREPARED_STATEMENTS = "false" } }`, `settings.extra_env: "PREPARED_STATEMENTS" is set by database.pooler`},
		{`  database = {
    host    = "db"
    user    = "mastodon"
    replica = { host = "db-replica" }
  }
  settings = { extra_env = { REPLICA_DB_HOST = "db-2" } }`, `settings.extra_env: "REPLICA_DB_HOST" is set by database.replica`},
		{`  database = {
    user      = "mastodon"
    cloud_sql = { instance_connection_name = "my-project:europe-west1:mastodon", workload_identity_service_account = "m@my-project.iam.gserviceaccount.com" }
    replica   = { host = "10.0.0.9" }
  }`, `database.replica.host: conflicts with database.cloud_sql`},
		{`  database = {
    host    = "db"
    user    = "mastodon"
    replica = { cloud_sql_instance = "my-project:europe-west1:replica" }
  }`, `database.replica.cloud_sql_instance: needs database.cloud_sql`},
		{`  database = {
    host   = "pgbouncer"
    user   = "mastodon"
    pooler = { mode = "transaction" }
    direct = { host = "db", password_wo = "p" }
  }`, `database.direct.password_wo needs database.direct.password_wo_version`},
	}
	steps := refusedSteps("acc-invalid", cases)
	steps = append(steps, resource.TestStep{
		Config:      strings.Replace(instanceConfig("acc-invalid", ""), `name                = "social"`, `name = "Social_1"`, 1),
		PlanOnly:    true,
		ExpectError: regexp.MustCompile(`name:\s+"Social_1"\s+must\s+be\s+a\s+lowercase\s+DNS\s+label`),
	})
	resource.Test(t, resource.TestCase{ProtoV6ProviderFactories: testAccProviders, Steps: steps})
	// Nothing was created.
	c := newTestCluster(t)
	if _, err := c.cs.CoreV1().Namespaces().Get(context.Background(), "acc-invalid", metav1.GetOptions{}); err == nil {
		t.Fatal("namespace acc-invalid was created by a configuration refused at plan time")
	}
}

// What the API server would refuse at apply time, half way, is refused at
// plan time with the attribute named: a replacement under deletion
// protection, a StatefulSet's claim template, a claim's class, access mode
// or shrinking. Growing the media volume is an ordinary update.
func TestAccInstance_refusedAtPlan(t *testing.T) {
	c := newTestCluster(t)
	ns := "acc-refuse-" + randomSuffix()
	t.Cleanup(func() { _ = c.cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	config := func(protected bool, extra string) string {
		cfg := instanceConfig(ns, extra)
		if protected {
			cfg = strings.Replace(cfg, "deletion_protection = false", "deletion_protection = true", 1)
		}
		return cfg
	}
	// The database's volume has its default size.
	const volumes = `  embedded_redis = { storage_size = "2Gi" }
  media = { storage_size = "20Gi" }`
	refused := func(cfg, want string) resource.TestStep {
		return resource.TestStep{Config: cfg, PlanOnly: true, ExpectError: regexp.MustCompile(strings.ReplaceAll(want, " ", `\s+`))}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{Config: config(true, volumes)},
			refused(strings.Replace(config(true, volumes), `"social.example"`, `"other.example"`, 1), `local_domain: "social.example" -> "other.example" creates a new instance`),
			refused(config(true, volumes+"\n  embedded_database = { storage_size = \"8Gi\" }"), `embedded_database.storage_size: "10Gi" -> "8Gi"`),
			refused(config(true, volumes+"\n  embedded_database = { storage_class = \"fast\" }"), `embedded_database.storage_class: "" -> "fast"`),
			{
				// The default size spelled out changes no volume.
				Config: config(true, volumes+"\n  embedded_database = { storage_size = \"10Gi\" }"), PlanOnly: true, ExpectNonEmptyPlan: true,
			},
			refused(config(true, strings.Replace(volumes, `"2Gi"`, `"3Gi"`, 1)), `embedded_redis.storage_size: "2Gi" -> "3Gi"`),
			refused(config(true, strings.Replace(volumes, `storage_size = "20Gi"`, `storage_size = "20Gi", access_mode = "ReadWriteMany"`, 1)), `media.access_mode: "ReadWriteOnce" -> "ReadWriteMany"`),
			refused(config(true, strings.Replace(volumes, `"20Gi"`, `"10Gi"`, 1)), `media.storage_size: "20Gi" -> "10Gi": a volume claim can grow`),
			{
				Config: config(true, strings.Replace(volumes, `"20Gi"`, `"30Gi"`, 1)), PlanOnly: true, ExpectNonEmptyPlan: true,
			},
			{Config: config(true, volumes+"\n  backup = { storage_size = \"5Gi\" }")},
			refused(config(true, volumes+"\n  backup = { storage_size = \"4Gi\" }"), `backup.storage_size: "5Gi" -> "4Gi": a volume claim can grow`),
			refused(config(true, volumes+"\n  backup = { storage_size = \"5Gi\", storage_class = \"fast\" }"), `backup.storage_class: "" -> "fast"`),
			{Config: config(false, volumes)},
		},
	})
}

// Every secret input has a write-only form: its value reaches the
// instance's Secrets and never state, not even through an import; a
// refresh compares with the cluster (the next plan is empty); a new
// version applies a new value.
func TestAccInstance_writeOnlyEverywhere(t *testing.T) {
	c := newTestCluster(t)
	ns := "acc-wo-" + randomSuffix()
	t.Cleanup(func() { _ = c.cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	cert, key := testCertificatePEM(t)
	config := func(password string, version int, more ...string) string {
		return instanceConfig(ns, strings.Join(more, "\n")+fmt.Sprintf(`
  database = {
    user                = "mastodon"
    password_wo         = %[1]q
    password_wo_version = %[2]d
    cloud_sql = {
      instance_connection_name    = "my-project:europe-west1:mastodon"
      credentials_json_wo         = "{\"key\": \"sql-%[1]s\"}"
      credentials_json_wo_version = %[2]d
    }
    replica = {
      cloud_sql_instance  = "my-project:europe-west1:replica"
      password_wo         = "replica-%[1]s"
      password_wo_version = %[2]d
    }
  }
  redis = {
    host                = "redis.internal"
    password_wo         = "redis-%[1]s"
    password_wo_version = %[2]d
  }
  smtp = {
    server              = "smtp.sendgrid.net"
    port                = 2525
    login               = "apikey"
    password_wo         = "smtp-%[1]s"
    password_wo_version = %[2]d
  }
  media_bucket = {
    bucket                       = "media"
    endpoint                     = "https://storage.googleapis.com"
    access_key_id                = "GOOG1E"
    secret_access_key_wo         = "s3-%[1]s"
    secret_access_key_wo_version = %[2]d
  }
  ingress = {
    wait_for_load_balancer     = false
    certificate_pem            = %[3]q
    private_key_pem_wo         = %[4]q
    private_key_pem_wo_version = %[2]d
  }
  settings = {
    extra_secret_env_wo         = { EXTRA_KEY = "extra-%[1]s" }
    extra_secret_env_wo_version = %[2]d
  }
  opensearch = {
    host                = "opensearch.search.svc"
    user                = "mastodon"
    password_wo         = "es-%[1]s"
    password_wo_version = %[2]d
  }
  translation = { deepl = { api_key_wo = "deepl-%[1]s", api_key_wo_version = %[2]d } }
  hcaptcha    = { site_key = "site", secret_key_wo = "hcaptcha-%[1]s", secret_key_wo_version = %[2]d }`, password, version, cert, key))
	}
	check := func(password string) resource.TestCheckFunc {
		want := map[string]map[string]string{
			"social-secrets": {"DB_PASS": password, "REDIS_PASSWORD": "redis-" + password, "SMTP_PASSWORD": "smtp-" + password,
				"AWS_SECRET_ACCESS_KEY": "s3-" + password, "EXTRA_KEY": "extra-" + password, "ES_PASS": "es-" + password, "DEEPL_API_KEY": "deepl-" + password,
				"HCAPTCHA_SECRET_KEY": "hcaptcha-" + password, "REPLICA_DB_PASS": "replica-" + password},
			"social-cloudsql": {mastodon.CloudSQLKeyFile: `{"key": "sql-` + password + `"}`},
			"social-tls":      {"tls.key": key},
		}
		return func(s *terraform.State) error {
			for name, keys := range want {
				sec, err := c.cs.CoreV1().Secrets(ns).Get(context.Background(), name, metav1.GetOptions{})
				if err != nil {
					return err
				}
				for k, v := range keys {
					if string(sec.Data[k]) != v {
						return fmt.Errorf("Secret %s: %s = %q, want %q", name, k, sec.Data[k], v)
					}
				}
			}
			for k, v := range s.RootModule().Resources["mastodon_instance.test"].Primary.Attributes {
				if strings.Contains(v, password) || strings.Contains(v, "PRIVATE KEY") {
					return fmt.Errorf("state attribute %s holds a write-only value", k)
				}
			}
			return nil
		}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{Config: config("first-password", 1), Check: check("first-password")},
			{
				Config:           config("first-password", 1),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			{
				// An import restores every attribute but the write-only
				// values, whose clear twins stay null.
				ResourceName:      "mastodon_instance.test",
				ImportState:       true,
				ImportStateId:     ns + "/social",
				ImportStateVerify: true,
				ImportStateCheck: func(states []*terraform.InstanceState) error {
					for k, v := range states[0].Attributes {
						if strings.Contains(v, "first-password") || strings.Contains(v, "PRIVATE KEY") {
							return fmt.Errorf("import put a write-only value into %s", k)
						}
					}
					return nil
				},
			},
			{Config: config("second-password", 2), Check: check("second-password")},
			{
				// New values under the same versions, in an update made for
				// another reason: the version is the only trigger, so the
				// cluster keeps the values of version 2.
				Config: config("unversioned-password", 2, `  web = { replicas = 2 }`),
				Check: resource.ComposeAggregateTestCheckFunc(check("second-password"), func(*terraform.State) error {
					d, err := c.cs.AppsV1().Deployments(ns).Get(context.Background(), "social-web", metav1.GetOptions{})
					if err != nil || d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
						return fmt.Errorf("the unrelated change was not applied: %w", err)
					}
					return nil
				}),
			},
			{Config: config("third-password", 3, `  web = { replicas = 2 }`), Check: check("third-password")},
		},
	})
}

func TestAccInstance_rolloutNeverReady(t *testing.T) {
	c := newTestCluster(t)
	ns := "acc-rollout-" + randomSuffix()
	t.Cleanup(func() { _ = c.cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	// A streaming Pod that no node can hold: it never becomes ready, on
	// simulated and real nodes alike.
	config := strings.Replace(instanceConfig(ns, `  streaming = { resources = { memory_request = "64Ti" } }`), `create = "3m"`, `create = "20s"`, 1)
	var prepared string
	claims := func() (string, string) {
		ctx := context.Background()
		cm, err := c.cs.CoreV1().ConfigMaps(ns).Get(ctx, "social-env", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		sec, err := c.cs.CoreV1().Secrets(ns).Get(ctx, "social-secrets", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return mastodon.Claim(cm.Annotations), mastodon.Claim(sec.Annotations)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{
				Config: config,
				ExpectError: regexp.MustCompile(`(?s)The instance did not become ready.*Deployment ` + ns +
					`/social-streaming did not become ready.*replicas: 1 wanted.*Insufficient memory`),
			},
			{
				// The failed create left a tainted instance: once the cause is
				// gone the next apply replaces it, with the same generated
				// secrets (kept with the data volume), and finishes. The
				// failed create claimed nothing (a plan of its replacement,
				// which holds no private data, refuses no claimed
				// instance); the create that gets through writes its claim.
				PreConfig: func() {
					if cm, s := claims(); cm != "" || s != "" {
						t.Fatalf("the failed create wrote a claim: %q, %q", cm, s)
					}
					sec, err := c.cs.CoreV1().Secrets(ns).Get(context.Background(), "social-secrets", metav1.GetOptions{})
					if err != nil {
						t.Fatalf("the failed create left no Secret: %v", err)
					}
					prepared = string(sec.Data["SECRET_KEY_BASE"])
				},
				Config: instanceConfig(ns, ""),
				Check: func(*terraform.State) error {
					sec, err := c.cs.CoreV1().Secrets(ns).Get(context.Background(), "social-secrets", metav1.GetOptions{})
					if err != nil {
						return err
					}
					if string(sec.Data["SECRET_KEY_BASE"]) != prepared || prepared == "" {
						return fmt.Errorf("the generated secrets changed when the tainted instance was replaced")
					}
					if cm, s := claims(); cm == "" || cm != s {
						return fmt.Errorf("after the replacement the ConfigMap carries claim %q and the Secret %q", cm, s)
					}
					return nil
				},
			},
		},
	})
}

func TestAccInstance_goneFromCluster(t *testing.T) {
	c := newTestCluster(t)
	ns := "acc-gone-" + randomSuffix()
	t.Cleanup(func() { _ = c.cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{Config: instanceConfig(ns, "")},
			{
				// Every object deleted behind Terraform's back: the instance
				// leaves state and is planned anew.
				PreConfig: func() {
					// Every kind the provider manages, so that a kind added
					// later is deleted too.
					dyn, err := dynamic.NewForConfig(c.rest)
					if err != nil {
						t.Fatal(err)
					}
					ctx := context.Background()
					sel := metav1.ListOptions{LabelSelector: "app.kubernetes.io/instance=social"}
					background := metav1.DeletePropagationBackground
					for _, k := range kube.Kinds {
						if !k.Namespaced || k.Name == "Pod" {
							continue
						}
						list, err := dyn.Resource(k.GVR).Namespace(ns).List(ctx, sel)
						if apierrors.IsNotFound(err) {
							continue // a custom kind the cluster does not serve
						}
						if err != nil {
							t.Fatal(err)
						}
						for _, o := range list.Items {
							if err := dyn.Resource(k.GVR).Namespace(ns).Delete(ctx, o.GetName(), metav1.DeleteOptions{PropagationPolicy: &background}); err != nil {
								t.Fatal(err)
							}
						}
					}
				},
				Config:             instanceConfig(ns, ""),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				Config: instanceConfig(ns, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("mastodon_instance.test", plancheck.ResourceActionCreate),
				}},
			},
		},
	})
}

func TestAccInstance_ingress(t *testing.T) {
	c := newTestCluster(t)
	ns := "acc-ingress-" + randomSuffix()
	t.Cleanup(func() { _ = c.cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	cert, key := testCertificatePEM(t)
	config := instanceConfig(ns, fmt.Sprintf(`  web_domain = "social.example"
  web        = { replicas = 2 }
  ingress = {
    class_name      = "nginx"
    annotations     = { "nginx.ingress.kubernetes.io/proxy-body-size" = "40m" }
    certificate_pem = %s
    private_key_pem = %s
  }`, hclString(cert), hclString(key)))
	// A DNS record in the same apply, fed from the load balancer's address.
	config += `
resource "terraform_data" "dns_record" {
  input = mastodon_instance.test.load_balancer_ip
}
`
	ctx := context.Background()
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{
				// The Ingress controller publishes the address a while after
				// the Ingress exists: the apply waits for it.
				PreConfig: func() { c.publishLoadBalancer(t, ns, 5*time.Second, "203.0.113.10", "lb.example") },
				Config:    config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectUnknownValue("mastodon_instance.test", tfjsonpath.New("load_balancer_ip")),
				}},
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr("mastodon_instance.test", "load_balancer_ip", "203.0.113.10"),
					resource.TestCheckResourceAttr("mastodon_instance.test", "load_balancer_hostname", "lb.example"),
					resource.TestCheckResourceAttr("terraform_data.dns_record", "output", "203.0.113.10"),
				),
			},
			{
				Config:           config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				Check: func(*terraform.State) error {
					ing, err := c.cs.NetworkingV1().Ingresses(ns).Get(ctx, "social", metav1.GetOptions{})
					if err != nil {
						return err
					}
					if *ing.Spec.IngressClassName != "nginx" || ing.Annotations["nginx.ingress.kubernetes.io/proxy-body-size"] != "40m" {
						return fmt.Errorf("class or annotations not set: %+v", ing.ObjectMeta)
					}
					paths := ing.Spec.Rules[0].HTTP.Paths
					if ing.Spec.Rules[0].Host != "social.example" || len(paths) != 2 ||
						paths[0].Path != "/api/v1/streaming" || paths[0].Backend.Service.Name != "social-streaming" ||
						paths[1].Path != "/" || paths[1].Backend.Service.Name != "social-web" {
						return fmt.Errorf("unexpected rules: %+v", ing.Spec.Rules)
					}
					tls, err := c.cs.CoreV1().Secrets(ns).Get(ctx, ing.Spec.TLS[0].SecretName, metav1.GetOptions{})
					if err != nil {
						return err
					}
					if tls.Type != "kubernetes.io/tls" || string(tls.Data["tls.crt"]) != cert || string(tls.Data["tls.key"]) != key {
						return fmt.Errorf("TLS Secret does not hold the certificate and key")
					}
					if _, err := c.cs.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, "social-web", metav1.GetOptions{}); err != nil {
						return fmt.Errorf("no PodDisruptionBudget for 2 web replicas: %w", err)
					}
					return nil
				},
			},
			{
				// A new address (the controller moved the load balancer) is
				// read by a refresh.
				PreConfig:    func() { c.publishLoadBalancer(t, ns, 0, "203.0.113.20", "") },
				RefreshState: true,
				// The DNS record follows at the next apply.
				ExpectNonEmptyPlan: true,
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr("mastodon_instance.test", "load_balancer_ip", "203.0.113.20"),
					resource.TestCheckNoResourceAttr("mastodon_instance.test", "load_balancer_hostname"),
				),
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

// publishLoadBalancer plays the Ingress controller: after delay, once the
// Ingress exists, it publishes a load balancer address in its status.
func (c *testCluster) publishLoadBalancer(t *testing.T, ns string, delay time.Duration, ip, hostname string) {
	const name = "social" // the Ingress of instance "social"
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	publish := func() error {
		ing, err := c.cs.NetworkingV1().Ingresses(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		ing.Status.LoadBalancer.Ingress = []networkingv1.IngressLoadBalancerIngress{{IP: ip, Hostname: hostname}}
		_, err = c.cs.NetworkingV1().Ingresses(ns).UpdateStatus(ctx, ing, metav1.UpdateOptions{})
		return err
	}
	if delay == 0 {
		defer cancel()
		if err := publish(); err != nil {
			t.Fatal(err)
		}
		return
	}
	go func() {
		defer cancel()
		time.Sleep(delay)
		for ctx.Err() == nil {
			if err := publish(); err == nil {
				return
			}
			time.Sleep(time.Second)
		}
	}()
}

// Without a controller that publishes an address, the apply that creates
// the Ingress waits at most load_balancer_timeout, then succeeds with a
// warning and a null address; with the wait switched off it does not wait.
func TestAccInstance_loadBalancerNeverPublished(t *testing.T) {
	c := newTestCluster(t)
	ns := "acc-lb-" + randomSuffix()
	t.Cleanup(func() { _ = c.cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	config := func(ingress string) string {
		return instanceConfig(ns, "  ingress = { class_name = \"nginx\", "+ingress+" }")
	}
	var started time.Time
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{
				Config:      config(`load_balancer_timeout = "1x"`),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`ingress.load_balancer_timeout: "1x" is not a positive duration`),
			},
			{
				Config: config(`load_balancer_timeout = "3s"`),
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr("mastodon_instance.test", "ready", "true"),
					resource.TestCheckNoResourceAttr("mastodon_instance.test", "load_balancer_ip"),
					resource.TestCheckNoResourceAttr("mastodon_instance.test", "load_balancer_hostname"),
				),
			},
			{
				// The controller publishes it later: the next apply reads it.
				PreConfig: func() { c.publishLoadBalancer(t, ns, 0, "203.0.113.30", "") },
				Config:    config(`load_balancer_timeout = "3s"`),
				Check:     resource.TestCheckResourceAttr("mastodon_instance.test", "load_balancer_ip", "203.0.113.30"),
			},
			{Config: config(`load_balancer_timeout = "3s"`), ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}}},
			{
				// The Ingress toggled off by a condition unknown at plan: the
				// address is unknown in the plan, null after the apply.
				Config: `
resource "terraform_data" "ingress" {
  input = false
}
` + instanceConfig(ns, `  ingress = terraform_data.ingress.output ? { class_name = "nginx", load_balancer_timeout = "3s" } : null`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectUnknownValue("mastodon_instance.test", tfjsonpath.New("load_balancer_ip")),
				}},
				Check: resource.TestCheckNoResourceAttr("mastodon_instance.test", "load_balancer_ip"),
			},
			// Without an Ingress, then a new one with the wait switched off.
			{Config: instanceConfig(ns, "")},
			{
				// Without the switch this apply would wait the default ten
				// minutes.
				PreConfig: func() { started = time.Now() },
				Config:    config("wait_for_load_balancer = false"),
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckNoResourceAttr("mastodon_instance.test", "load_balancer_ip"),
					func(*terraform.State) error {
						if d := time.Since(started); d > 3*time.Minute {
							return fmt.Errorf("the apply with wait_for_load_balancer = false took %s", d)
						}
						return nil
					},
				),
			},
		},
	})
}

// A refresh of a default instance lists each kind it renders once.
// benchSpec is the representative configuration of the benchmarks: embedded
// database and Redis, web x2, streaming, two Sidekiq processes, Ingress.
func benchSpec() *mastodon.Spec {
	s := &mastodon.Spec{Name: "social", Namespace: "ns", LocalDomain: "social.example", WebReplicas: 2, StreamReplicas: 1,
		Sidekiq: []mastodon.SidekiqProcess{{Name: "default", Replicas: 1}, {Name: "scheduler", Replicas: 1, Queues: []mastodon.Queue{{Name: "scheduler"}}}},
		Ingress: &mastodon.Ingress{ClassName: "nginx"}}
	s.Defaults()
	return s
}

// A refresh makes one list request per kind, whatever the number of
// components: at most 9 for the configurations people run (the ninth is
// the CronJobs of the maintenance tasks, on by default: one list for every
// task and the backup, which also tells whether their last Jobs failed).
func TestRefreshRequestsPerConfiguration(t *testing.T) {
	external := benchSpec()
	external.Database = &mastodon.Database{Host: "db", User: "u", Password: "p", CloudSQL: &mastodon.CloudSQL{InstanceConnectionName: "p:r:i", WorkloadIdentityServiceAccount: "m@p.iam.gserviceaccount.com"}}
	external.Redis = &mastodon.Redis{Host: "redis"}
	external.MediaBucket = &mastodon.MediaBucket{Bucket: "b", Endpoint: "https://storage.googleapis.com", AccessKeyID: "a", SecretAccessKey: "s"}
	external.Defaults()
	for name, s := range map[string]*mastodon.Spec{"bench": benchSpec(), "gke": external} {
		if kinds := refreshedKinds(s.Render(mastodon.Secrets{}, "")); len(kinds) > 9 {
			t.Errorf("%s: a refresh lists %d kinds: %v", name, len(kinds), kinds)
		}
	}
}

func TestRenderedKindsOfDefaultInstance(t *testing.T) {
	s := &mastodon.Spec{Name: "social", Namespace: "ns", LocalDomain: "social.example", WebReplicas: 1, StreamReplicas: 1}
	s.Defaults()
	got := strings.Join(refreshedKinds(s.Render(mastodon.Secrets{}, "")), ",")
	if got != "ConfigMap,Secret,StatefulSet,Service,NetworkPolicy,Deployment,CronJob" {
		t.Fatalf("kinds listed by a refresh: %s", got)
	}
}
