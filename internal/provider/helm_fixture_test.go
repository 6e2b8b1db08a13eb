package provider

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

// The charts in testdata/helm reproduce what the official Mastodon Helm
// charts install (testdata/helm/README.md): "helm-charts" for
// mastodon/helm-charts, "legacy-chart" for mastodon/chart with its bundled
// PostgreSQL and Redis. They are installed with the real helm CLI, a tool of
// the tools module.

// helm runs the helm CLI of the tools module with args, against the cluster
// of KUBECONFIG, and returns its combined output.
func helm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", append([]string{"tool", "-modfile=" + filepath.Join(root, "tools", "go.mod"), "helm"}, args...)...)
	cmd.Dir = root
	cmd.Env = os.Environ()
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// helmInstall installs the fixture chart ("helm-charts" or "legacy-chart") as
// release in namespace ns with its documented values,
// and waits until its workloads are ready and its hooks
// have run.
func helmInstall(t *testing.T, ns, release, fixture string) {
	t.Helper()
	chart, err := filepath.Abs(filepath.Join("testdata", "helm", fixture))
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"install", release, chart, "--namespace", ns, "--create-namespace", "--wait", "--timeout", "3m"}
	if out, err := helm(t, args...); err != nil {
		t.Fatalf("helm install %s (%s) in %s: %v\n%s", release, fixture, ns, err, out)
	}
}

// helmUninstall uninstalls release from namespace ns and waits until helm has
// deleted what it deletes.
func helmUninstall(t *testing.T, ns, release string) {
	t.Helper()
	if out, err := helm(t, "uninstall", release, "--namespace", ns, "--wait", "--timeout", "3m"); err != nil {
		t.Fatalf("helm uninstall %s in %s: %v\n%s", release, ns, err, out)
	}
}

// helmFixture is what a fixture installs for the release "social" (full
// name "social-mastodon"), as testdata/helm/README.md documents it.
type helmFixture struct {
	fixture string
	chart   string // helm.sh/chart label of the Mastodon objects
	version string // app.kubernetes.io/version label and image tag
	// secrets: Secret name -> its keys.
	secrets map[string][]string
	// statefulSets: the bundled databases, and the claims of their
	// volumeClaimTemplates, which helm does not delete.
	statefulSets []string
	keptClaims   []string
}

var helmFixtures = []helmFixture{
	{
		fixture: "helm-charts",
		chart:   "mastodon-1.0.2",
		version: "v4.6.2",
		secrets: map[string][]string{
			"social-mastodon-secrets":       {"are-derivation-salt", "are-deterministic-key", "are-primary-key", "secret-key-base", "vapid-private-key", "vapid-public-key"},
			"social-mastodon-postgres-auth": {"password", "username"},
			"social-mastodon-redis-auth":    {"password"},
			"social-mastodon-smtp-auth":     {"password", "username"},
		},
	},
	{
		fixture: "legacy-chart",
		chart:   "mastodon-6.9.3",
		version: "v4.6.3",
		secrets: map[string][]string{
			"social-mastodon": {
				"ACTIVE_RECORD_ENCRYPTION_DETERMINISTIC_KEY", "ACTIVE_RECORD_ENCRYPTION_KEY_DERIVATION_SALT", "ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY",
				"OTP_SECRET", "SECRET_KEY_BASE", "VAPID_PRIVATE_KEY", "VAPID_PUBLIC_KEY",
			},
			"social-mastodon-smtp": {"login", "password"},
			"social-postgresql":    {"password", "postgres-password"},
			"social-redis":         {"redis-password"},
		},
		statefulSets: []string{"social-postgresql", "social-redis-master"},
		keptClaims:   []string{"data-social-postgresql-0", "redis-data-social-redis-master-0"},
	},
}

func TestAccHelmFixture_installAndUninstall(t *testing.T) {
	c := newTestCluster(t)
	for _, fx := range helmFixtures {
		t.Run(fx.fixture, func(t *testing.T) {
			ns := c.namespace(t, "helm-"+fx.fixture)
			helmInstall(t, ns, "social", fx.fixture)
			c.checkHelmFixtureInstalled(t, ns, fx)
			helmUninstall(t, ns, "social")
			c.checkHelmFixtureUninstalled(t, ns, fx)
		})
	}
}

func (c *testCluster) checkHelmFixtureInstalled(t *testing.T, ns string, fx helmFixture) {
	t.Helper()
	ctx := context.Background()
	common := map[string]string{
		"app.kubernetes.io/name":       "mastodon",
		"app.kubernetes.io/instance":   "social",
		"app.kubernetes.io/managed-by": "Helm",
		"app.kubernetes.io/version":    fx.version,
		"helm.sh/chart":                fx.chart,
	}
	for _, d := range []struct{ name, component, command string }{
		{"social-mastodon-web", "web", "bundle exec puma -C config/puma.rb"},
		{"social-mastodon-streaming", "streaming", "node ./streaming"},
		{"social-mastodon-sidekiq-all-queues", "sidekiq-all-queues", "bundle exec sidekiq -c 25 -q default,8 -q push,6 -q ingress,4 -q mailers,2 -q pull -q scheduler -q fasp"},
	} {
		dep, err := c.cs.AppsV1().Deployments(ns).Get(ctx, d.name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("Deployment %s: %v", d.name, err)
		}
		if dep.Status.ReadyReplicas != 1 {
			t.Errorf("Deployment %s: %d ready replicas, want 1", d.name, dep.Status.ReadyReplicas)
		}
		checkLabels(t, "Deployment "+d.name, dep.Labels, common)
		checkLabels(t, "Deployment "+d.name+" selector", dep.Spec.Selector.MatchLabels, map[string]string{
			"app.kubernetes.io/name": "mastodon", "app.kubernetes.io/instance": "social", "app.kubernetes.io/component": d.component,
		})
		ctr := dep.Spec.Template.Spec.Containers[0]
		if got := strings.Join(ctr.Command, " "); got != d.command {
			t.Errorf("Deployment %s: command %q, want %q", d.name, got, d.command)
		}
		if !strings.HasSuffix(ctr.Image, ":"+fx.version) {
			t.Errorf("Deployment %s: image %s, want tag %s", d.name, ctr.Image, fx.version)
		}
		if d.component == "streaming" {
			continue
		}
		// Media on the claim social-mastodon-system, at public/system.
		var claim string
		for _, m := range ctr.VolumeMounts {
			if m.MountPath == "/opt/mastodon/public/system" {
				for _, v := range dep.Spec.Template.Spec.Volumes {
					if v.Name == m.Name && v.PersistentVolumeClaim != nil {
						claim = v.PersistentVolumeClaim.ClaimName
					}
				}
			}
		}
		if claim != "social-mastodon-system" {
			t.Errorf("Deployment %s: /opt/mastodon/public/system on claim %q, want social-mastodon-system", d.name, claim)
		}
	}
	for name, keys := range fx.secrets {
		s, err := c.cs.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Errorf("Secret %s: %v", name, err)
			continue
		}
		var got []string
		for k := range s.Data {
			got = append(got, k)
		}
		slices.Sort(got)
		if !slices.Equal(got, keys) {
			t.Errorf("Secret %s: keys %v, want %v", name, got, keys)
		}
	}
	cm, err := c.cs.CoreV1().ConfigMaps(ns).Get(ctx, "social-mastodon-env", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("ConfigMap social-mastodon-env: %v", err)
	}
	if cm.Data["LOCAL_DOMAIN"] != "example.com" || cm.Data["WEB_DOMAIN"] != "social.example.com" {
		t.Errorf("ConfigMap social-mastodon-env: LOCAL_DOMAIN %q WEB_DOMAIN %q", cm.Data["LOCAL_DOMAIN"], cm.Data["WEB_DOMAIN"])
	}
	for _, name := range []string{"social-mastodon-assets", "social-mastodon-system"} {
		pvc, err := c.cs.CoreV1().PersistentVolumeClaims(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Errorf("PersistentVolumeClaim %s: %v", name, err)
			continue
		}
		checkLabels(t, "PersistentVolumeClaim "+name, pvc.Labels, common)
		// The charts' annotation; not helm.sh/resource-policy (see below).
		if got := pvc.Annotations["helm.sh/hook-delete-policy"]; got != "keep" {
			t.Errorf("PersistentVolumeClaim %s: helm.sh/hook-delete-policy %q, want keep", name, got)
		}
	}
	for _, name := range fx.statefulSets {
		sts, err := c.cs.AppsV1().StatefulSets(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Errorf("StatefulSet %s: %v", name, err)
			continue
		}
		if sts.Status.ReadyReplicas != 1 {
			t.Errorf("StatefulSet %s: %d ready replicas, want 1", name, sts.Status.ReadyReplicas)
		}
		if sts.Labels["app.kubernetes.io/instance"] != "social" || sts.Labels["app.kubernetes.io/managed-by"] != "Helm" {
			t.Errorf("StatefulSet %s: labels %v", name, sts.Labels)
		}
	}
	for _, name := range fx.keptClaims {
		if _, err := c.cs.CoreV1().PersistentVolumeClaims(ns).Get(ctx, name, metav1.GetOptions{}); err != nil {
			t.Errorf("PersistentVolumeClaim %s: %v", name, err)
		}
	}
	// The database hooks ran and were deleted on success.
	jobs, err := c.cs.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs.Items) != 0 {
		t.Errorf("%d hook Jobs left after install, want none", len(jobs.Items))
	}
}

// checkHelmFixtureUninstalled checks what helm uninstall leaves: nothing of
// the release but the StatefulSets' claims. The charts' media claims carry
// helm.sh/hook-delete-policy: keep, which helm honours only on hooks, so they
// are deleted with the rest.
func (c *testCluster) checkHelmFixtureUninstalled(t *testing.T, ns string, fx helmFixture) {
	t.Helper()
	ctx := context.Background()
	gone := map[string]func(string) error{
		"Deployment": func(n string) error {
			_, err := c.cs.AppsV1().Deployments(ns).Get(ctx, n, metav1.GetOptions{})
			return err
		},
		"ConfigMap": func(n string) error {
			_, err := c.cs.CoreV1().ConfigMaps(ns).Get(ctx, n, metav1.GetOptions{})
			return err
		},
		"Secret": func(n string) error {
			_, err := c.cs.CoreV1().Secrets(ns).Get(ctx, n, metav1.GetOptions{})
			return err
		},
		"Service": func(n string) error {
			_, err := c.cs.CoreV1().Services(ns).Get(ctx, n, metav1.GetOptions{})
			return err
		},
		"PersistentVolumeClaim": func(n string) error {
			_, err := c.cs.CoreV1().PersistentVolumeClaims(ns).Get(ctx, n, metav1.GetOptions{})
			return err
		},
		"StatefulSet": func(n string) error {
			_, err := c.cs.AppsV1().StatefulSets(ns).Get(ctx, n, metav1.GetOptions{})
			return err
		},
	}
	expectGone := [][2]string{
		{"Deployment", "social-mastodon-web"}, {"Deployment", "social-mastodon-streaming"}, {"Deployment", "social-mastodon-sidekiq-all-queues"},
		{"ConfigMap", "social-mastodon-env"}, {"Service", "social-mastodon-web"}, {"Service", "social-mastodon-streaming"},
		{"PersistentVolumeClaim", "social-mastodon-assets"}, {"PersistentVolumeClaim", "social-mastodon-system"},
	}
	for name := range fx.secrets {
		expectGone = append(expectGone, [2]string{"Secret", name})
	}
	for _, name := range fx.statefulSets {
		expectGone = append(expectGone, [2]string{"StatefulSet", name})
	}
	for _, o := range expectGone {
		// A claim in use is deleted once its Pods are gone.
		err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
			err := gone[o[0]](o[1])
			if apierrors.IsNotFound(err) {
				return true, nil
			}
			return false, err
		})
		if err != nil {
			t.Errorf("%s %s still there after helm uninstall: %v", o[0], o[1], err)
		}
	}
	for _, name := range fx.keptClaims {
		pvc, err := c.cs.CoreV1().PersistentVolumeClaims(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Errorf("PersistentVolumeClaim %s after helm uninstall: %v, want it kept", name, err)
			continue
		}
		if pvc.DeletionTimestamp != nil {
			t.Errorf("PersistentVolumeClaim %s is being deleted, want it kept", name)
		}
	}
}

func checkLabels(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: label %s = %q, want %q", what, k, got[k], v)
		}
	}
}
