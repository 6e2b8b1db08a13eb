package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
)

// The user's journey from the official Helm charts: an import block with
// helm:<namespace>/<release>, `terraform plan -generate-config-out`, the
// sensitive lines filled in, a plan that creates and destroys nothing, the
// takeover apply, an empty plan after it, then `helm uninstall` of the old
// release. Checked: the secrets byte for byte, the claims (UIDs) kept, the
// release's Deployments deleted only after the instance's were ready, the
// scheduler started only once the release's Sidekiq was gone, another
// release in the namespace untouched, and nothing the instance uses
// deleted by helm uninstall.
func TestAccAdopt_helmCharts(t *testing.T) { testAdoptChart(t, "helm-charts", "social") }

// The legacy chart, with its bundled PostgreSQL and Redis used in place.
// Its Bitnami services are named social-postgresql and social-redis-*, as
// the instance's embedded ones would be under the release's name: the
// instance is adopted under another.
func TestAccAdopt_legacyChart(t *testing.T) { testAdoptChart(t, "legacy-chart", "fedi") }

func testAdoptChart(t *testing.T, fixture, name string) {
	c := newTestCluster(t)
	ctx := context.Background()
	ns := "acc-adopt-" + randomSuffix()
	t.Cleanup(func() { _ = c.cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	helmInstall(t, ns, "social", fixture)
	helmInstall(t, ns, "other", fixture)

	before := releaseSnapshot(t, c, ns)
	chartSecrets := map[string]string{}
	for _, s := range before.secrets {
		if s.Labels["app.kubernetes.io/instance"] == "social" {
			for k, v := range s.Data {
				chartSecrets[s.Name+"/"+k] = string(v)
			}
		}
	}

	r := newTerraformRun(t)
	id := "helm:" + ns + "/social"
	if name != "social" {
		// Under the release's name the import is refused, naming what the
		// instance's objects would collide with.
		r.write(fmt.Sprintf("import {\n  to = mastodon_instance.test\n  id = %q\n}\n", id))
		cmd, out := r.command(ctx, "plan", "-input=false", "-no-color", "-generate-config-out=generated.tf")
		if err := cmd.Run(); err == nil || !strings.Contains(strings.Join(strings.Fields(out.String()), " "), "StatefulSet social-postgresql") {
			t.Fatalf("adopting the legacy chart under the release's name: want a refusal naming StatefulSet social-postgresql, got (%v):\n%s", err, out)
		}
		id += "/" + name
	}
	r.write(fmt.Sprintf("import {\n  to = mastodon_instance.test\n  id = %q\n}\n", id))
	r.run(ctx, "plan", "-input=false", "-no-color", "-generate-config-out=generated.tf")
	generated, err := os.ReadFile(filepath.Join(r.dir, "generated.tf"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("generated configuration:\n%s", generated)
	// The sensitive values are the user's to give (Terraform writes them as
	// null): the chart's own, as a user copies them from its Secrets.
	filled := fillSensitive(t, string(generated), c, ns, "social")
	// terraform writes the attributes aligned: the spaces before "=" vary
	// with the names beside it.
	protected := regexp.MustCompile(`deletion_protection(\s*)= true`)
	if !protected.MatchString(filled) {
		t.Error("an adopted instance is not protected from deletion, as a new one is")
	}
	filled = protected.ReplaceAllString(filled, "deletion_protection$1= false")
	// The local cluster has no load balancer to wait for.
	filled = regexp.MustCompile(`wait_for_load_balancer\s*= null`).ReplaceAllString(filled, "wait_for_load_balancer = false")
	// Until the takeover, the release's media (its data) cannot change.
	moved := regexp.MustCompile(`existing_claim\s*= "[^"]*"`).ReplaceAllString(filled, `existing_claim = "elsewhere"`)
	if err := os.WriteFile(filepath.Join(r.dir, "generated.tf"), []byte(moved), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd, out := r.command(ctx, "plan", "-input=false", "-no-color")
	if err := cmd.Run(); err == nil || !strings.Contains(out.String(), "Not until the takeover") {
		t.Errorf("a plan that moves the adopted media before the takeover: want it refused, got (%v):\n%s", err, out)
	}
	if err := os.WriteFile(filepath.Join(r.dir, "generated.tf"), []byte(filled), 0o600); err != nil {
		t.Fatal(err)
	}
	r.run(ctx, "plan", "-input=false", "-no-color", "-out=adopt.tfplan")
	for _, rc := range planChanges(t, r, "adopt.tfplan") {
		if slices.Contains(rc.actions, "delete") || slices.Contains(rc.actions, "create") {
			t.Fatalf("the adoption plans %v for %s: it must only import and update", rc.actions, rc.address)
		}
	}

	events := watchDeployments(t, c, ns)
	r.run(ctx, "apply", "-input=false", "-no-color", "adopt.tfplan")
	events.stop()

	after := releaseSnapshot(t, c, ns)
	// The secrets, byte for byte.
	ours, err := c.cs.CoreV1().Secrets(ns).Get(ctx, name+"-secrets", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"SECRET_KEY_BASE", "VAPID_PRIVATE_KEY", "VAPID_PUBLIC_KEY", "ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY",
		"ACTIVE_RECORD_ENCRYPTION_DETERMINISTIC_KEY", "ACTIVE_RECORD_ENCRYPTION_KEY_DERIVATION_SALT", "DB_PASS", "REDIS_PASSWORD"} {
		got := string(ours.Data[v])
		if got == "" || !slices.Contains(slices.Collect(maps.Values(chartSecrets)), got) {
			t.Errorf("%s of the instance (%q) is not the release's", v, got)
		}
	}
	for k, v := range chartSecrets {
		if strings.HasSuffix(k, "/OTP_SECRET") && string(ours.Data["OTP_SECRET"]) != v {
			t.Errorf("OTP_SECRET of the instance is not the release's")
		}
	}
	// Every claim kept, the same one.
	for name, uid := range before.claims {
		if after.claims[name] != uid {
			t.Errorf("claim %s: UID %s before, %q after", name, uid, after.claims[name])
		}
	}
	// The instance's Pods mount the release's media claim.
	web, err := c.cs.AppsV1().Deployments(ns).Get(ctx, name+"-web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mediaClaim := ""
	for _, v := range web.Spec.Template.Spec.Volumes {
		if v.PersistentVolumeClaim != nil {
			mediaClaim = v.PersistentVolumeClaim.ClaimName
		}
	}
	if _, ok := before.claims[mediaClaim]; !ok {
		t.Errorf("the instance's web mounts claim %q, not one of the release's %v", mediaClaim, slices.Collect(maps.Keys(before.claims)))
	}
	// On a ReadWriteOnce claim the instance's Pods join the Pods that mount
	// it (the release's were labelled so, then its own are).
	pvc, err := c.cs.CoreV1().PersistentVolumeClaims(ns).Get(ctx, mediaClaim, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	affinity := web.Spec.Template.Spec.Affinity
	rwo := !slices.Contains(pvc.Spec.AccessModes, corev1.ReadWriteMany)
	joins := affinity != nil && affinity.PodAffinity != nil && len(affinity.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution) == 1 &&
		affinity.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution[0].LabelSelector.MatchLabels["mastodon.tootform.dev/media-claim"] == mediaClaim &&
		web.Spec.Template.Labels["mastodon.tootform.dev/media-claim"] == mediaClaim
	if rwo != joins {
		t.Errorf("claim %s (modes %v): the web Pods join the Pods that mount it: %v, want %v (%+v)", mediaClaim, pvc.Spec.AccessModes, joins, rwo, affinity)
	}
	// The release's workloads went, after the instance's were ready; the
	// scheduler started once the release's Sidekiq was gone.
	for _, d := range before.deployments {
		_, still := after.deploymentUIDs[d.Name]
		released := d.Labels["app.kubernetes.io/instance"] == "social" && d.Labels["app.kubernetes.io/name"] == "mastodon"
		switch {
		case released && still:
			t.Errorf("Deployment %s of the release is still there", d.Name)
		case !released && after.deploymentUIDs[d.Name] != string(d.UID):
			t.Errorf("Deployment %s (not the release's own) was replaced or deleted", d.Name)
		}
	}
	t.Logf("Deployment events: %v", events.seen)
	events.checkOrder(t, name)
	// Another release in the namespace: untouched.
	for key, rv := range before.versions {
		if strings.Contains(key, "/other-") && after.versions[key] != rv {
			t.Errorf("%s of release other changed (resourceVersion %s -> %q)", key, rv, after.versions[key])
		}
	}
	cmd, plan := r.command(ctx, "plan", "-detailed-exitcode", "-input=false", "-no-color")
	if err := cmd.Run(); err != nil {
		t.Errorf("the plan after the takeover is not empty (%v):\n%s", err, plan)
	}

	// helm uninstall of the old release deletes nothing the instance uses.
	helmUninstall(t, ns, "social")
	final := releaseSnapshot(t, c, ns)
	for name, uid := range before.claims {
		if final.claims[name] != uid {
			t.Errorf("after helm uninstall: claim %s is gone or replaced", name)
		}
	}
	// What helm uninstall deletes is the chart's own objects (named
	// social-mastodon*) but its claims: the instance's, the bundled
	// services' (StatefulSets, Services, Secrets) all stay.
	for key := range after.versions {
		if _, ok := final.versions[key]; !ok && key != "Secret/sh.helm.release.v1.social.v1" &&
			(!strings.Contains(key, "/social-mastodon") || strings.HasPrefix(key, "PersistentVolumeClaim/")) {
			t.Errorf("after helm uninstall: %s is gone", key)
		}
	}
	if final.deploymentUIDs[name+"-web"] != after.deploymentUIDs[name+"-web"] {
		t.Error("after helm uninstall: the instance's web Deployment is gone or replaced")
	}
	cmd, plan = r.command(ctx, "plan", "-detailed-exitcode", "-input=false", "-no-color")
	if err := cmd.Run(); err != nil {
		t.Errorf("the plan after helm uninstall is not empty (%v):\n%s", err, plan)
	}
	r.run(ctx, "destroy", "-auto-approve", "-input=false")
}

// nsSnapshot is what a namespace holds, for before/after comparisons.
type nsSnapshot struct {
	secrets        []corev1.Secret
	claims         map[string]string // name -> UID
	deployments    []appsv1.Deployment
	deploymentUIDs map[string]string
	versions       map[string]string // Kind/name -> resourceVersion
}

func releaseSnapshot(t *testing.T, c *testCluster, ns string) nsSnapshot {
	t.Helper()
	ctx := context.Background()
	s := nsSnapshot{claims: map[string]string{}, deploymentUIDs: map[string]string{}, versions: map[string]string{}}
	secrets, err := c.cs.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.secrets = secrets.Items
	pvcs, err := c.cs.CoreV1().PersistentVolumeClaims(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pvcs.Items {
		s.claims[p.Name] = string(p.UID)
		s.versions["PersistentVolumeClaim/"+p.Name] = p.ResourceVersion
	}
	deps, err := c.cs.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.deployments = deps.Items
	for _, d := range deps.Items {
		s.deploymentUIDs[d.Name] = string(d.UID)
		s.versions["Deployment/"+d.Name] = d.ResourceVersion
	}
	sts, err := c.cs.AppsV1().StatefulSets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range sts.Items {
		s.versions["StatefulSet/"+o.Name] = o.ResourceVersion
	}
	for _, o := range secrets.Items {
		s.versions["Secret/"+o.Name] = o.ResourceVersion
	}
	svcs, err := c.cs.CoreV1().Services(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range svcs.Items {
		s.versions["Service/"+o.Name] = o.ResourceVersion
	}
	return s
}

// fillSensitive gives the values Terraform writes as null in a generated
// configuration: each from the release's Secret that holds it, found by
// the variable the attribute renders.
func fillSensitive(t *testing.T, generated string, c *testCluster, ns, release string) string {
	t.Helper()
	ctx := context.Background()
	deps, err := c.cs.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/instance=" + release + ",app.kubernetes.io/managed-by=Helm"})
	if err != nil || len(deps.Items) == 0 {
		t.Fatalf("the release's Deployments: %v", err)
	}
	env := map[string]string{}
	for _, d := range deps.Items {
		for _, e := range d.Spec.Template.Spec.Containers[0].Env {
			if ref := e.ValueFrom; ref != nil && ref.SecretKeyRef != nil {
				s, err := c.cs.CoreV1().Secrets(ns).Get(ctx, ref.SecretKeyRef.Name, metav1.GetOptions{})
				if err == nil && len(s.Data[ref.SecretKeyRef.Key]) > 0 {
					env[e.Name] = string(s.Data[ref.SecretKeyRef.Key])
				}
			}
		}
	}
	byAttr := map[string]string{"database.password": "DB_PASS", "redis.password": "REDIS_PASSWORD", "smtp.password": "SMTP_PASSWORD",
		"media_bucket.secret_access_key": "AWS_SECRET_ACCESS_KEY", "opensearch.password": "ES_PASS"}
	block := ""
	var out []string
	blockStart := regexp.MustCompile(`^  (\w+) = \{$`)
	sensitive := regexp.MustCompile(`^(\s+)(\w+)\s*= null # sensitive$`)
	for _, line := range strings.Split(generated, "\n") {
		if m := blockStart.FindStringSubmatch(line); m != nil {
			block = m[1]
		}
		if m := sensitive.FindStringSubmatch(line); m != nil {
			path := block + "." + m[2]
			if len(m[1]) == 2 {
				path = m[2]
			}
			v, ok := env[byAttr[path]]
			if !ok {
				t.Logf("%s: no value in the release's environment, left null", path)
				out = append(out, line)
				continue
			}
			line = fmt.Sprintf("%s%s = %q", m[1], m[2], v)
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

type resourceChange struct {
	address string
	actions []string
}

func planChanges(t *testing.T, r *terraformRun, planFile string) []resourceChange {
	t.Helper()
	cmd, _ := r.command(context.Background(), "show", "-json", planFile)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	if err := cmd.Run(); err != nil {
		t.Fatalf("terraform show: %v", err)
	}
	var plan struct {
		ResourceChanges []struct {
			Address string `json:"address"`
			Change  struct {
				Actions []string `json:"actions"`
			} `json:"change"`
		} `json:"resource_changes"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &plan); err != nil {
		t.Fatal(err)
	}
	var out []resourceChange
	for _, rc := range plan.ResourceChanges {
		out = append(out, resourceChange{rc.Address, rc.Change.Actions})
	}
	return out
}

// deploymentEvents records, in order, when Deployments of the namespace
// became ready, scaled and were deleted.
type deploymentEvents struct {
	mu     sync.Mutex
	seen   []string // "ready NAME", "scaled NAME", "deleted NAME"
	w      watch.Interface
	done   chan struct{}
	logged map[string]bool
}

func watchDeployments(t *testing.T, c *testCluster, ns string) *deploymentEvents {
	t.Helper()
	w, err := c.cs.AppsV1().Deployments(ns).Watch(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e := &deploymentEvents{w: w, done: make(chan struct{}), logged: map[string]bool{}}
	go func() {
		defer close(e.done)
		for ev := range w.ResultChan() {
			d, ok := ev.Object.(*appsv1.Deployment)
			if !ok {
				continue
			}
			e.mu.Lock()
			switch {
			case ev.Type == watch.Deleted:
				e.add("deleted " + d.Name)
			case d.Spec.Replicas != nil && *d.Spec.Replicas > 0 && d.Status.ReadyReplicas >= *d.Spec.Replicas && d.Status.ObservedGeneration >= d.Generation:
				e.add("ready " + d.Name)
			}
			if d.Spec.Replicas != nil && *d.Spec.Replicas > 0 && ev.Type != watch.Deleted {
				e.add("scaled " + d.Name)
			}
			e.mu.Unlock()
		}
	}()
	return e
}

func (e *deploymentEvents) add(s string) {
	if !e.logged[s] {
		e.logged[s] = true
		e.seen = append(e.seen, s)
	}
}

func (e *deploymentEvents) stop() {
	time.Sleep(time.Second)
	e.w.Stop()
	<-e.done
}

// checkOrder: every release Deployment deleted after the instance's
// first were ready; the instance's scheduler Sidekiq scaled up only after
// every release Sidekiq was deleted.
func (e *deploymentEvents) checkOrder(t *testing.T, name string) {
	t.Helper()
	first, sidekiqPrefix := []string{name + "-web", name + "-streaming"}, name+"-sidekiq-"
	index := func(s string) int { return slices.Index(e.seen, s) }
	lastReady := -1
	for _, name := range first {
		i := index("ready " + name)
		if i < 0 {
			t.Errorf("%s was never seen ready: %v", name, e.seen)
		}
		lastReady = max(lastReady, i)
	}
	lastReleaseSidekiq := -1
	for i, s := range e.seen {
		name, deleted := strings.CutPrefix(s, "deleted ")
		if !deleted || slices.Contains(first, name) || strings.HasPrefix(name, sidekiqPrefix) {
			continue
		}
		if i < lastReady {
			t.Errorf("release Deployment %s was deleted before the instance was ready: %v", name, e.seen)
		}
		if strings.Contains(name, "sidekiq") {
			lastReleaseSidekiq = max(lastReleaseSidekiq, i)
		}
	}
	if lastReleaseSidekiq < 0 {
		t.Errorf("no Sidekiq Deployment of the release was seen deleted: %v", e.seen)
	}
	for i, s := range e.seen {
		if name, ok := strings.CutPrefix(s, "scaled "); ok && strings.HasPrefix(name, sidekiqPrefix) && i < lastReleaseSidekiq {
			t.Errorf("the instance's Sidekiq %s ran before the release's Sidekiq was gone (two schedulers): %v", name, e.seen)
		}
	}
}

// Bad input at import: a release Helm does not hold, a chart whose layout
// is not known, an instance whose objects would take the release's
// names, a malformed ID. Each is refused naming what was expected, and
// nothing in the namespace changes.
func TestAccAdopt_refused(t *testing.T) {
	c := newTestCluster(t)
	ctx := context.Background()
	ns := "acc-adopt-refused-" + randomSuffix()
	t.Cleanup(func() { _ = c.cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	// Release "mastodon": its objects are named mastodon-web, mastodon-env...
	// as the instance "mastodon" would name its own.
	helmInstall(t, ns, "mastodon", "helm-charts")
	// The same chart under a major version whose layout is not known.
	future := filepath.Join(t.TempDir(), "future")
	src, _ := filepath.Abs(filepath.Join("testdata", "helm", "helm-charts"))
	if err := os.CopyFS(future+"-chart", os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	chartYAML := filepath.Join(future+"-chart", "Chart.yaml")
	raw, err := os.ReadFile(chartYAML)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(chartYAML, regexp.MustCompile(`(?m)^version: .*$`).ReplaceAll(raw, []byte("version: 2.0.0")), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := helm(t, "install", "future", future+"-chart", "--namespace", ns, "--wait", "--timeout", "3m"); err != nil {
		t.Fatalf("helm install future: %v\n%s", err, out)
	}
	before := releaseSnapshot(t, c, ns)
	r := newTerraformRun(t)
	for id, want := range map[string]string{
		"helm:" + ns + "/missing":  `no Helm release "missing"`,
		"helm:" + ns + "/future":   `chart "mastodon" 2.0.0, whose layout this provider does not know: it adopts chart "mastodon" 1.x`,
		"helm:" + ns + "/mastodon": `would take names that objects it does not own hold`,
		"helm:" + ns:               `Adopt a Helm release by helm:<namespace>/<release>`,
	} {
		r.write(fmt.Sprintf("import {\n  to = mastodon_instance.test\n  id = %q\n}\n", id))
		_ = os.Remove(filepath.Join(r.dir, "generated.tf"))
		cmd, out := r.command(ctx, "plan", "-input=false", "-no-color", "-generate-config-out=generated.tf")
		err := cmd.Run()
		text := strings.Join(strings.Fields(out.String()), " ")
		if err == nil || !strings.Contains(text, strings.Join(strings.Fields(want), " ")) {
			t.Errorf("import %s: want an error saying %q, got (%v):\n%s", id, want, err, out)
		}
	}
	// The collision's error names the way out.
	r.write(fmt.Sprintf("import {\n  to = mastodon_instance.test\n  id = %q\n}\n", "helm:"+ns+"/mastodon"))
	cmd, out := r.command(ctx, "plan", "-input=false", "-no-color", "-generate-config-out=generated2.tf")
	_ = cmd.Run()
	if text := strings.Join(strings.Fields(out.String()), " "); !strings.Contains(text, "Deployment mastodon-web") || !strings.Contains(text, "helm:"+ns+"/mastodon/<name>") {
		t.Errorf("the collision's error does not name the object and the ID to use:\n%s", out)
	}
	after := releaseSnapshot(t, c, ns)
	if !maps.Equal(before.versions, after.versions) {
		t.Errorf("a refused import changed the namespace:\nbefore %v\nafter  %v", before.versions, after.versions)
	}

	// Adopted under another name by `terraform import`, then refreshed and
	// planned before any takeover: the state stays and the plan shows the
	// takeover. A destroy then is the way back, deletion protection on or
	// not: it deletes nothing of the release, which keeps serving.
	r.write(fmt.Sprintf("import {\n  to = mastodon_instance.test\n  id = %q\n}\n", "helm:"+ns+"/mastodon/tf"))
	r.run(ctx, "plan", "-input=false", "-no-color", "-generate-config-out=adopted.tf")
	adopted, err := os.ReadFile(filepath.Join(r.dir, "adopted.tf"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(r.dir, "adopted.tf"), []byte(fillSensitive(t, string(adopted), c, ns, "mastodon")), 0o600); err != nil {
		t.Fatal(err)
	}
	_ = os.Remove(filepath.Join(r.dir, "generated.tf"))
	_ = os.Remove(filepath.Join(r.dir, "generated2.tf"))
	r.write("")
	r.run(ctx, "import", "-input=false", "-no-color", "mastodon_instance.test", "helm:"+ns+"/mastodon/tf")
	cmd, out = r.command(ctx, "plan", "-detailed-exitcode", "-input=false", "-no-color")
	if err := cmd.Run(); err == nil || !strings.Contains(out.String(), "takeover of Helm release mastodon is not finished") {
		t.Errorf("the plan after the import does not show the takeover (%v):\n%s", err, out)
	}
	if st := r.stateOf("mastodon_instance.test"); st == nil || st["deletion_protection"] != true {
		t.Fatalf("after a refresh the adopted instance is not in state as adopted: %v", st)
	}
	r.run(ctx, "destroy", "-auto-approve", "-input=false", "-no-color")
	final := releaseSnapshot(t, c, ns)
	for key, rv := range after.versions {
		if final.versions[key] != rv {
			t.Errorf("the destroy of an instance never taken over changed %s of the release", key)
		}
	}
}
