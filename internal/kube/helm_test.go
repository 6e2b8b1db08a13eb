package kube

import (
	"context"
	"encoding/base64"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

const testManifest = `---
# Source: mastodon/templates/pvc-system.yaml
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: r-mastodon-system
  labels:
    app.kubernetes.io/instance: r
spec:
  accessModes: [ReadWriteOnce]
---
# Source: mastodon/templates/deployment-web.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: r-mastodon-web
---
# Source: mastodon/templates/configmap-env.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: r-mastodon-env
data:
  NOTE: "a value\n---\nthat looks like a separator"
`

// helmRecordSecret stores a release the way Helm's secret driver does.
func helmRecordSecret(t *testing.T, name string, rev int, status string, manifest string) *unstructured.Unstructured {
	t.Helper()
	enc, err := encodeHelmRecord(map[string]any{"name": name, "version": rev, "manifest": manifest,
		"chart": map[string]any{"metadata": map[string]any{"name": "mastodon", "version": "1.0.2", "appVersion": "v4.6.2"}}})
	if err != nil {
		t.Fatal(err)
	}
	s := &unstructured.Unstructured{}
	s.SetAPIVersion("v1")
	s.SetKind("Secret")
	s.SetNamespace("ns")
	s.SetName("sh.helm.release.v1." + name + ".v" + string(rune('0'+rev)))
	s.SetLabels(map[string]string{"owner": "helm", "name": name, "status": status, "version": string(rune('0' + rev))})
	_ = unstructured.SetNestedField(s.Object, "helm.sh/release.v1", "type")
	_ = unstructured.SetNestedField(s.Object, base64.StdEncoding.EncodeToString([]byte(enc)), "data", "release")
	return s
}

func TestHelmReleaseKeep(t *testing.T) {
	ctx := context.Background()
	c := &Client{Dynamic: fakeDynamic(
		helmRecordSecret(t, "r", 1, "superseded", "---\n# Source: old.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: old\n"),
		helmRecordSecret(t, "r", 2, "deployed", testManifest),
		helmRecordSecret(t, "other", 3, "deployed", ""),
	)}
	if r, err := c.HelmRelease(ctx, "ns", "missing"); err != nil || r != nil {
		t.Fatalf("a release Helm does not store: %v, %v", r, err)
	}
	r, err := c.HelmRelease(ctx, "ns", "r")
	if err != nil {
		t.Fatal(err)
	}
	if r.Revision != 2 || r.Status != "deployed" || r.Chart != "mastodon" || r.ChartVersion != "1.0.2" || r.AppVersion != "v4.6.2" {
		t.Fatalf("the last revision: %+v", r)
	}
	objs, err := r.Objects()
	if err != nil {
		t.Fatal(err)
	}
	want := []HelmObject{{"PersistentVolumeClaim", "r-mastodon-system", false}, {"Deployment", "r-mastodon-web", false}, {"ConfigMap", "r-mastodon-env", false}}
	if !slices.Equal(objs, want) {
		t.Fatalf("objects %v, want %v", objs, want)
	}
	marked, err := c.KeepInRelease(ctx, r, func(o *unstructured.Unstructured) bool { return o.GetKind() == "PersistentVolumeClaim" })
	if err != nil || !slices.Equal(marked, []string{"PersistentVolumeClaim/r-mastodon-system"}) {
		t.Fatalf("marked %v, %v", marked, err)
	}
	// Read back from the cluster: the claim is kept, the rest is as it was.
	again, err := c.HelmRelease(ctx, "ns", "r")
	if err != nil {
		t.Fatal(err)
	}
	objs, _ = again.Objects()
	want[0].Keep = true
	if !slices.Equal(objs, want) {
		t.Fatalf("after marking: %v, want %v", objs, want)
	}
	if !strings.Contains(again.Manifest, "# Source: mastodon/templates/pvc-system.yaml\n") ||
		!strings.Contains(again.Manifest, testManifest[strings.LastIndex(testManifest, "\n---\n# Source: mastodon/templates/deployment-web.yaml"):]) {
		t.Fatalf("the manifest lost its Source lines or changed what was not marked:\n%s", again.Manifest)
	}
	// Marking again writes nothing.
	if marked, err := c.KeepInRelease(ctx, again, func(o *unstructured.Unstructured) bool { return o.GetKind() == "PersistentVolumeClaim" }); err != nil || len(marked) != 0 {
		t.Fatalf("second marking: %v, %v", marked, err)
	}
}
