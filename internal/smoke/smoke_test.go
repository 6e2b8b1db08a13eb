package smoke

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/tootform/terraform-provider-mastodon/internal/kube"
	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
	"github.com/tootform/terraform-provider-mastodon/internal/provider"
)

const domain = "smoke.social.example"

// TestSmoke applies an instance with real images on a real cluster (kind),
// then accepts it as the seed deployment's author did. It runs only with
// MASTODON_REAL_CLUSTER=1 (make smoke): simulated nodes run no container.
func TestSmoke(t *testing.T) {
	if os.Getenv("MASTODON_REAL_CLUSTER") != "1" {
		t.Skip("set MASTODON_REAL_CLUSTER=1 and KUBECONFIG to a real cluster (kind) to run the smoke test")
	}
	if os.Getenv("TF_ACC") == "" {
		t.Setenv("TF_ACC", "1")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", os.Getenv("KUBECONFIG"))
	if err != nil {
		t.Fatal(err)
	}
	cs := kubernetes.NewForConfigOrDie(cfg)
	ns := fmt.Sprintf("smoke-%d", time.Now().Unix())
	t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: map[string]func() (tfprotov6.ProviderServer, error){
			"mastodon": providerserver.NewProtocol6WithError(provider.New("smoke")()),
		},
		Steps: []resource.TestStep{{
			Config: fmt.Sprintf(`
resource "mastodon_instance" "smoke" {
  name                = "social"
  namespace           = %q
  local_domain        = %q
  deletion_protection = false
  embedded_database   = { delete_volume_on_destroy = true }
  media               = { delete_volume_on_destroy = true }
  # The owner's address needs no MX record on this throwaway instance.
  settings = { extra_env = { EMAIL_DOMAIN_ALLOWLIST = %q } }
  timeouts = { create = "30m" }
}

resource "mastodon_admin_user" "owner" {
  instance = mastodon_instance.smoke.id
  username = "owner"
  email    = "owner@%s"
  timeouts = { create = "10m" }
}
`, ns, domain, domain, domain),
			Check: func(*terraform.State) error { accept(t, cfg, cs, ns); return nil },
		}},
	})
}

// accept is the seed author's acceptance, every request through the API server.
func accept(t *testing.T, cfg *rest.Config, cs kubernetes.Interface, ns string) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	web := forward(ctx, t, cfg, cs, ns, "web", 3000)
	streaming := forward(ctx, t, cfg, cs, ns, "streaming", 4000)

	expect(t, must(t)(web.Health("/health")), http.StatusOK, nil)
	var inst struct{ Domain string }
	expect(t, must(t)(web.Instance()), http.StatusOK, &inst)
	if inst.Domain != domain {
		t.Fatalf("/api/v2/instance says domain %q, want %q", inst.Domain, domain)
	}
	expect(t, must(t)(streaming.Health("/api/v1/streaming/health")), http.StatusOK, nil)

	web.Token = ownerToken(ctx, t, cs, ns)
	img := TestImage(uint8(time.Now().Unix()))
	var media struct{ ID, URL string }
	expect(t, must(t)(web.UploadMedia("smoke.png", img)), 0, &media)
	for media.URL == "" { // 202: still processing
		time.Sleep(2 * time.Second)
		expect(t, must(t)(web.Media(media.ID)), 0, &media)
	}
	text := "smoke test " + strconv.FormatInt(time.Now().UnixNano(), 36)
	var posted struct {
		ID              string
		MediaAttachment []struct{ ID, URL string } `json:"media_attachments"`
	}
	expect(t, must(t)(web.PostStatus(text, media.ID)), http.StatusOK, &posted)
	var read struct {
		Content         string
		MediaAttachment []struct{ URL string } `json:"media_attachments"`
	}
	expect(t, must(t)(web.Status(posted.ID)), http.StatusOK, &read)
	if !strings.Contains(read.Content, text) || len(read.MediaAttachment) != 1 {
		t.Fatalf("status %s served back as %q with %d attachments", posted.ID, read.Content, len(read.MediaAttachment))
	}
	r, err := web.Asset(read.MediaAttachment[0].URL)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "image/") || len(body) == 0 {
		t.Fatalf("the image at %s: %s %s, %d bytes", read.MediaAttachment[0].URL, resp.Status, resp.Header.Get("Content-Type"), len(body))
	}
}

// forward port-forwards to a ready Pod of one component.
func forward(ctx context.Context, t *testing.T, cfg *rest.Config, cs kubernetes.Interface, ns, component string, port int) Client {
	t.Helper()
	pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: mastodon.LabelComponent + "=" + component})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		if p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil {
			local, err := kube.PortForward(ctx, cfg, ns, p.Name, port)
			if err != nil {
				t.Fatal(err)
			}
			return Client{Base: "http://127.0.0.1:" + strconv.Itoa(local), Domain: domain}
		}
	}
	t.Fatalf("no running %s Pod in %s", component, ns)
	return Client{}
}

// ownerToken runs the token Job from the web Deployment's Pod and reads
// the token from its log.
func ownerToken(ctx context.Context, t *testing.T, cs kubernetes.Interface, ns string) string {
	t.Helper()
	spec := mastodon.Spec{Name: "social", Namespace: ns}
	dep, err := cs.AppsV1().Deployments(ns).Get(ctx, spec.WebName(), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	o := mastodon.TokenJob(ns, "social", "social-smoke-token", mastodon.JobBaseOf(dep), "owner", "smoke test")
	var job batchv1.Job
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Body, &job); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.BatchV1().Jobs(ns).Create(ctx, &job, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var token string
	err = wait.PollUntilContextTimeout(ctx, 3*time.Second, 10*time.Minute, true, func(ctx context.Context) (bool, error) {
		pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "job-name=social-smoke-token"})
		if err != nil || len(pods.Items) == 0 {
			return false, err
		}
		p := pods.Items[0]
		if p.Status.Phase == corev1.PodFailed {
			return false, fmt.Errorf("the token Job's Pod failed")
		}
		if p.Status.Phase != corev1.PodSucceeded {
			return false, nil
		}
		log, err := cs.CoreV1().Pods(ns).GetLogs(p.Name, &corev1.PodLogOptions{}).DoRaw(ctx)
		if err != nil {
			return false, err
		}
		token, err = mastodon.TokenFromLog(string(log))
		return err == nil, err
	})
	if err != nil {
		t.Fatalf("making the owner's token: %v", err)
	}
	return token
}

func must(t *testing.T) func(*http.Request, error) *http.Request {
	return func(r *http.Request, err error) *http.Request {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
}

// expect sends a request and decodes its JSON answer; want 0 accepts any 2xx.
func expect(t *testing.T, r *http.Request, want int, into any) {
	t.Helper()
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatalf("%s %s: %v", r.Method, r.URL.Path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	if (want != 0 && resp.StatusCode != want) || resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s: %s: %s", r.Method, r.URL.Path, resp.Status, bytes.TrimSpace(body))
	}
	if into != nil {
		if err := json.Unmarshal(body, into); err != nil {
			t.Fatalf("%s %s: %v in %s", r.Method, r.URL.Path, err, body)
		}
	}
}
