package provider

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/types"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tootform/terraform-provider-mastodon/internal/kube"
	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

// releaseCluster is a fake cluster holding one Helm release "rel" (an
// Ingress and a web Deployment) whose Ingress controller refuses a second
// Ingress for the same host and path, as ingress-nginx's admission webhook
// does.
type releaseCluster struct {
	fakeCluster
	live      map[string]*unstructured.Unstructured
	refused   bool
	sidekiq   []string // the replicas of each apply of the instance's Sidekiq
	revision  int
	listedFor []string
}

func (f *releaseCluster) HelmRelease(_ context.Context, _, name string) (*kube.HelmRelease, error) {
	return &kube.HelmRelease{Name: name, Revision: f.revision, Status: "deployed", Manifest: `---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: rel-mastodon
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: rel-mastodon-web
`}, f.do("read helm release")
}

func (f *releaseCluster) List(_ context.Context, _, selector string, _ []string) (map[string]*unstructured.Unstructured, error) {
	f.listedFor = append(f.listedFor, selector)
	out := map[string]*unstructured.Unstructured{}
	if strings.HasPrefix(selector, mastodon.ChartLabelInstance+"=rel") {
		for k, v := range f.live {
			out[k] = v
		}
	}
	return out, nil
}

func (f *releaseCluster) Apply(ctx context.Context, objs []*unstructured.Unstructured) error {
	for _, o := range objs {
		if o.GetKind() == "Deployment" && strings.Contains(o.GetName(), "-sidekiq-") {
			n, _, _ := unstructured.NestedFieldNoCopy(o.Object, "spec", "replicas")
			f.sidekiq = append(f.sidekiq, fmt.Sprint(n))
		}
	}
	if objs[0].GetKind() == "Ingress" && f.live["Ingress/ns/rel-mastodon"] != nil {
		f.refused = true
		_ = f.do("apply Ingress refused")
		return errors.New(`admission webhook "validate.nginx.ingress.kubernetes.io" denied the request: host "social.example.org" and path "/" is already defined in ingress ns/rel-mastodon`)
	}
	return f.fakeCluster.Apply(ctx, objs)
}

func (f *releaseCluster) Delete(ctx context.Context, kind, ns, name string) error {
	delete(f.live, kind+"/"+ns+"/"+name)
	return f.fakeCluster.Delete(ctx, kind, ns, name)
}

func releaseObject(kind, name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetKind(kind)
	u.SetNamespace("ns")
	u.SetName(name)
	u.SetLabels(map[string]string{mastodon.ChartLabelInstance: "rel", mastodon.ChartLabelName: mastodon.ChartName, mastodon.ChartLabelManagedBy: "Helm"})
	return u
}

// The takeover's steps, in order, on a cluster whose Ingress controller
// refuses two Ingresses for one host: the scheduler is held at zero until
// the release's workloads are gone, the record is marked before anything
// of the release is deleted, the release's Ingress goes first when ours is
// refused beside it; a release upgraded since the import is refused before
// anything of it changes.
func TestTakeoverSteps(t *testing.T) {
	ctx := context.Background()
	run := func(revision int) (*releaseCluster, *applyError) {
		f := &releaseCluster{revision: revision, live: map[string]*unstructured.Unstructured{
			"Ingress/ns/rel-mastodon":        releaseObject("Ingress", "rel-mastodon"),
			"Deployment/ns/rel-mastodon-web": releaseObject("Deployment", "rel-mastodon-web"),
		}}
		m := model("v4.7.2", &databaseModel{Host: types.StringValue("db"), User: types.StringValue("mastodon")})
		m.CreateNamespace = types.BoolValue(false)
		m.Ingress = &ingressModel{ClassName: types.StringValue("nginx"), TLSSecretName: types.StringValue("tls"), Annotations: types.MapNull(types.StringType)}
		m.LoadBalancerIP, m.LoadBalancerHostname = types.StringNull(), types.StringNull()
		s, d := m.spec(ctx)
		if d.HasError() {
			t.Fatal(d)
		}
		a := newInstanceApply(f, s, mastodon.Secrets{}, "", m, m, func(string) {})
		a.takeover = &takeover{adoption: &helmAdoption{Release: "rel", Revision: 2}}
		a.holdBack()
		_, failed := a.run(ctx)
		return f, failed
	}
	f, failed := run(2)
	if failed != nil {
		t.Fatalf("%s: %s", failed.title, failed.detail)
	}
	want := []string{"apply ConfigMap", "apply Deployment", "prune", "read helm release", "keep in helm release", "apply Ingress refused",
		"delete Ingress rel-mastodon", "apply Ingress", "delete Deployment rel-mastodon-web", "apply Deployment"}
	if !slices.Equal(f.did, want) {
		t.Errorf("did %q\nwant %q", f.did, want)
	}
	if !slices.Equal(f.sidekiq, []string{"0", "1"}) {
		t.Errorf("the instance's Sidekiq (which serves the scheduler queue) was applied with replicas %v, want 0 then 1", f.sidekiq)
	}
	if !slices.Contains(f.listedFor, releasePods("rel")) {
		t.Errorf("the release's Pods were not waited for: %v", f.listedFor)
	}
	// Upgraded since the import: refused before anything of it changes.
	f, failed = run(3)
	if failed == nil || !strings.Contains(failed.detail, "revision 3, not 2") {
		t.Fatalf("a release upgraded since the import: %v", failed)
	}
	if slices.ContainsFunc(f.did, func(s string) bool { return strings.HasPrefix(s, "delete") || strings.HasPrefix(s, "keep") }) {
		t.Errorf("a refused takeover changed the release: %q", f.did)
	}
}
