package provider

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"

	"github.com/tootform/terraform-provider-mastodon/internal/kube"
	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

var testAccProviders = map[string]func() (tfprotov6.ProviderServer, error){
	"mastodon": providerserver.NewProtocol6WithError(New("test")()),
}

// testAccPreCheck fails acceptance tests that have no cluster to talk to.
func testAccPreCheck(t *testing.T) {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: runs with TF_ACC=1 (make testacc)")
	}
	if os.Getenv("KUBECONFIG") == "" {
		t.Fatal("KUBECONFIG must point to a cluster for acceptance tests; `make testacc` starts the local one")
	}
}

// testCluster is the test's own admin view of the cluster.
type testCluster struct {
	kubeconfig string
	rest       *rest.Config
	cs         kubernetes.Interface
}

func newTestCluster(t *testing.T) *testCluster {
	t.Helper()
	testAccPreCheck(t)
	path := os.Getenv("KUBECONFIG")
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatalf("loading KUBECONFIG: %v", err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &testCluster{kubeconfig: path, rest: cfg, cs: cs}
}

func randomSuffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// namespace creates a namespace that is deleted when the test ends.
func (c *testCluster) namespace(t *testing.T, prefix string) string {
	t.Helper()
	name := prefix + "-" + randomSuffix()
	ctx := context.Background()
	if _, err := c.cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
	t.Cleanup(func() {
		_ = c.cs.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	return name
}

// fakeInstance creates the labelled objects by which the provider recognises
// an instance: its ConfigMap and one Deployment, and waits until the
// Deployment is ready when ready is true.
func (c *testCluster) fakeInstance(t *testing.T, ns, name, domain, version string, ready bool) {
	t.Helper()
	ctx := context.Background()
	cmLabels := mastodon.Labels(name, mastodon.ComponentConfig, mastodon.OwnerInstance)
	cmLabels[mastodon.LabelVersion] = version
	_, err := c.cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: name + "-env", Labels: cmLabels},
		Data:       map[string]string{mastodon.KeyLocalDomain: domain},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	labels := mastodon.Labels(name, "web", mastodon.OwnerInstance)
	replicas := int32(1)
	if !ready {
		replicas = 0
	}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name + "-web", Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					Containers: []corev1.Container{{Name: "web", Image: "ghcr.io/mastodon/mastodon:" + version}},
				},
			},
		},
	}
	if !ready {
		// Asks for a replica that no node can ever run.
		dep.Spec.Replicas = ptr.To[int32](1)
		dep.Spec.Template.Spec.NodeSelector = map[string]string{"no-such-node": "true"}
	}
	if _, err := c.cs.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if !ready {
		return
	}
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		d, err := c.cs.AppsV1().Deployments(ns).Get(ctx, dep.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return kube.DeploymentReady(d), nil
	})
	if err != nil {
		t.Fatalf("deployment %s/%s did not become ready: %v", ns, dep.Name, err)
	}
}

// hclString quotes a value for HCL, as a heredoc when it spans lines.
func hclString(s string) string {
	if strings.Contains(s, "\n") {
		return "<<-EOT\n" + strings.TrimRight(s, "\n") + "\nEOT\n"
	}
	return fmt.Sprintf("%q", s)
}
