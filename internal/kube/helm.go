package kube

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// Helm keeps each revision of a release in a Secret of its namespace
// (its default "secret" storage driver): type helm.sh/release.v1, named
// sh.helm.release.v1.<release>.v<revision>, labelled owner=helm,
// name=<release>, version=<revision>, status=<status>; its key "release"
// holds the release as base64 of gzip of JSON. `helm uninstall` deletes
// what the manifest of the last revision lists, except the objects whose
// manifest carries the annotation helm.sh/resource-policy: keep (Helm
// reads the annotation from the stored manifest, not from the live
// object).

// HelmKeep is the annotation (and its value) that makes `helm uninstall`
// leave an object in place.
const (
	HelmKeep      = "helm.sh/resource-policy"
	HelmKeepValue = "keep"
)

// HelmRelease is the last revision of a Helm release.
type HelmRelease struct {
	Name, Namespace string
	Revision        int
	Status          string
	Chart           string // the chart's name
	ChartVersion    string
	AppVersion      string
	Manifest        string
	secret          *unstructured.Unstructured
	record          map[string]any
}

// HelmObject is an object the manifest of a release lists.
type HelmObject struct {
	Kind, Name string
	Keep       bool // annotated helm.sh/resource-policy: keep
}

// HelmRelease reads the last revision of release name in namespace; nil
// when Helm stores no such release there.
func (c *Client) HelmRelease(ctx context.Context, namespace, name string) (*HelmRelease, error) {
	live, err := c.List(ctx, namespace, "owner=helm,name="+name, []string{"Secret"})
	if err != nil {
		return nil, err
	}
	var last *unstructured.Unstructured
	lastRev := -1
	for _, s := range live {
		rev, err := strconv.Atoi(s.GetLabels()["version"])
		if err != nil || !strings.HasPrefix(s.GetName(), "sh.helm.release.v1.") {
			continue
		}
		if rev > lastRev {
			last, lastRev = s, rev
		}
	}
	if last == nil {
		return nil, nil
	}
	rec, err := decodeHelmRecord(SecretData(last)["release"])
	if err != nil {
		return nil, fmt.Errorf("the Helm release record %s/%s: %w", namespace, last.GetName(), err)
	}
	r := &HelmRelease{Name: name, Namespace: namespace, Revision: lastRev, secret: last, record: rec}
	r.Status = last.GetLabels()["status"]
	r.Manifest, _ = rec["manifest"].(string)
	if chart, ok := rec["chart"].(map[string]any); ok {
		if md, ok := chart["metadata"].(map[string]any); ok {
			r.Chart, _ = md["name"].(string)
			r.ChartVersion, _ = md["version"].(string)
			r.AppVersion, _ = md["appVersion"].(string)
		}
	}
	return r, nil
}

// Objects are the objects the release's manifest lists.
func (r *HelmRelease) Objects() ([]HelmObject, error) {
	var out []HelmObject
	err := r.eachDocument(func(doc map[string]any) bool {
		o := unstructured.Unstructured{Object: doc}
		out = append(out, HelmObject{Kind: o.GetKind(), Name: o.GetName(), Keep: o.GetAnnotations()[HelmKeep] == HelmKeepValue})
		return false
	})
	return out, err
}

// KeepInRelease marks, in the stored manifest of the release's last
// revision, the objects keep selects with helm.sh/resource-policy: keep,
// so that `helm uninstall` leaves them in place. It says which objects
// it marked ("Kind/name"); a release where all of them carry the mark
// already is not written.
func (c *Client) KeepInRelease(ctx context.Context, r *HelmRelease, keep func(o *unstructured.Unstructured) bool) ([]string, error) {
	var marked []string
	var docs []string
	err := r.eachDocument(func(doc map[string]any) bool {
		o := unstructured.Unstructured{Object: doc}
		if !keep(&o) {
			return false
		}
		a := o.GetAnnotations()
		if a[HelmKeep] == HelmKeepValue {
			return false
		}
		if a == nil {
			a = map[string]string{}
		}
		a[HelmKeep] = HelmKeepValue
		o.SetAnnotations(a)
		marked = append(marked, o.GetKind()+"/"+o.GetName())
		return true
	}, &docs)
	if err != nil || len(marked) == 0 {
		return marked, err
	}
	r.Manifest = strings.Join(docs, "")
	r.record["manifest"] = r.Manifest
	enc, err := encodeHelmRecord(r.record)
	if err != nil {
		return nil, err
	}
	s := r.secret.DeepCopy()
	if err := unstructured.SetNestedField(s.Object, base64.StdEncoding.EncodeToString([]byte(enc)), "data", "release"); err != nil {
		return nil, err
	}
	ri, err := c.resource("Secret", r.Namespace)
	if err != nil {
		return nil, err
	}
	// An update, not an apply: the record is Helm's, and the update
	// fails if Helm wrote it since it was read (resourceVersion).
	updated, err := ri.Update(ctx, s, metav1.UpdateOptions{FieldManager: FieldManager})
	if err != nil {
		return nil, c.Explain(err, "marking what `helm uninstall` keeps in Secret "+s.GetName(), r.Namespace)
	}
	r.secret = updated
	return marked, nil
}

// eachDocument calls f on each object of the manifest. When out is given
// it receives every document again, as YAML, rewritten where f changed
// it (said by its result) and as it was elsewhere.
func (r *HelmRelease) eachDocument(f func(doc map[string]any) bool, out ...*[]string) error {
	for _, raw := range splitManifest(r.Manifest) {
		var doc map[string]any
		if err := yaml.Unmarshal([]byte(raw), &doc); err != nil {
			return fmt.Errorf("the manifest of Helm release %s/%s: %w", r.Namespace, r.Name, err)
		}
		changed := doc != nil && f(doc)
		if len(out) == 0 {
			continue
		}
		if !changed {
			*out[0] = append(*out[0], raw)
			continue
		}
		y, err := yaml.Marshal(doc)
		if err != nil {
			return err
		}
		*out[0] = append(*out[0], sourceComment(raw)+string(y))
	}
	return nil
}

// splitManifest splits a manifest into its documents, each starting with
// the "---" line that Helm writes before it.
func splitManifest(m string) []string {
	var docs []string
	for part := range strings.SplitSeq(m, "\n---") {
		if strings.TrimSpace(part) == "" || strings.TrimSpace(part) == "---" {
			continue
		}
		if !strings.HasPrefix(part, "---") {
			part = "\n---" + part
		}
		docs = append(docs, part)
	}
	return docs
}

// sourceComment is the document's "---" line and Helm's "# Source:" line.
func sourceComment(doc string) string {
	var head strings.Builder
	for line := range strings.Lines(doc) {
		t := strings.TrimSpace(line)
		if t != "" && t != "---" && !strings.HasPrefix(t, "#") {
			break
		}
		head.WriteString(line)
	}
	return head.String()
}

func decodeHelmRecord(s string) (map[string]any, error) {
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, err
	}
	if bytes.HasPrefix(raw, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, err
		}
		if raw, err = io.ReadAll(zr); err != nil {
			return nil, err
		}
	}
	// Numbers stay as written (json.Number): the record is written back,
	// and a chart's values may hold integers beyond float64's precision.
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var rec map[string]any
	return rec, dec.Decode(&rec)
}

func encodeHelmRecord(rec map[string]any) (string, error) {
	raw, err := json.Marshal(rec)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if _, err := zw.Write(raw); err != nil {
		return "", err
	}
	if err := zw.Close(); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}
