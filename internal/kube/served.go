package kube

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// appliedWhereServed are optional kinds that an apply skips, without an
// error, where the cluster does not serve them: the Prometheus Operator's
// ServiceMonitor goes with metrics wherever the operator runs, and nowhere
// else. (BackendConfig, asked for by name, is an error where not served.)
var appliedWhereServed = map[string]bool{"ServiceMonitor": true}

// servedEntry is what discovery said of a kind, and when.
type servedEntry struct {
	ok bool
	at time.Time
}

// Serves says whether the cluster serves a kind. Every kind the provider
// manages is served but the optional ones (from CRDs), which discovery is
// asked about: one request per kind, kept as long as the shared view
// (ViewTTL), so that a CRD installed meanwhile is found soon.
func (c *Client) Serves(ctx context.Context, kind string) (bool, error) {
	k, ok := KindOf(kind)
	if !ok || !optionalKinds[kind] {
		return ok, nil
	}
	if e, ok := c.served.Load(kind); ok && time.Since(e.(servedEntry).at) < ViewTTL {
		return e.(servedEntry).ok, nil
	}
	list, err := c.Clientset.Discovery().ServerResourcesForGroupVersion(k.GVR.GroupVersion().String())
	if err != nil && !apierrors.IsNotFound(err) {
		return false, c.Explain(err, "asking whether the cluster serves "+kind+"s", "")
	}
	served := false
	if err == nil {
		for _, r := range list.APIResources {
			served = served || r.Name == k.GVR.Resource
		}
	}
	c.served.Store(kind, servedEntry{ok: served, at: time.Now()})
	return served, nil
}

// ReplicasManager is the field manager that holds a Deployment's replicas
// when the provider stops setting them (an autoscaler takes over).
const ReplicasManager = FieldManager + "-replicas-handover"

// AnnotationReplicaBounds on a Deployment applied without replicas gives
// the bounds its autoscaler keeps them in, "min-max".
const AnnotationReplicaBounds = "mastodon.tootform.dev/replica-bounds"

// replicasToKeep says what a Deployment applied without replicas must have,
// read before the apply: its current number, within the bounds of its
// autoscaler (AnnotationReplicaBounds), or the lower bound for a new one.
// Server-side apply deletes a field its last owner drops, and the
// Deployment would fall back to the default, one Pod, until the autoscaler
// scales it up again (Kubernetes' server-side apply documentation,
// "Transferring ownership"); a new Deployment would start with one Pod.
// handover is false when nothing is to be set: the replicas are another
// manager's already, within bounds.
func (c *Client) replicasToKeep(ctx context.Context, o *unstructured.Unstructured) (n int64, exists, handover bool, err error) {
	if o.GetKind() != "Deployment" {
		return 0, false, false, nil
	}
	if _, set, _ := unstructured.NestedFieldNoCopy(o.Object, "spec", "replicas"); set {
		return 0, false, false, nil
	}
	lo, hi, bounded := replicaBounds(o.GetAnnotations()[AnnotationReplicaBounds])
	live, err := c.Get(ctx, "Deployment", o.GetNamespace(), o.GetName())
	if err != nil {
		return 0, false, false, err
	}
	if live == nil {
		return lo, false, bounded, nil
	}
	n, found, _ := unstructured.NestedInt64(live.Object, "spec", "replicas")
	if !found {
		n = 1
	}
	handover = appliesReplicas(live.GetManagedFields())
	if bounded && (n < lo || n > hi) {
		n, handover = min(max(n, lo), hi), true
	}
	return n, true, handover, nil
}

// replicaBounds reads "min-max".
func replicaBounds(v string) (lo, hi int64, ok bool) {
	a, b, found := strings.Cut(v, "-")
	lo, err1 := strconv.ParseInt(a, 10, 32)
	hi, err2 := strconv.ParseInt(b, 10, 32)
	if !found || err1 != nil || err2 != nil || lo < 1 || hi < lo {
		return 0, 0, false
	}
	return lo, hi, true
}

// setReplicas applies a Deployment's replicas as ReplicasManager.
func (c *Client) setReplicas(ctx context.Context, o *unstructured.Unstructured, n int64) error {
	handover := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": o.GetName(), "namespace": o.GetNamespace()},
		"spec":     map[string]any{"replicas": n},
	}}
	ri, err := c.resource("Deployment", o.GetNamespace())
	if err != nil {
		return err
	}
	if _, err := ri.Apply(ctx, o.GetName(), handover, metav1.ApplyOptions{FieldManager: ReplicasManager, Force: true}); err != nil {
		return c.Explain(err, "setting the replicas of "+Key(o), o.GetNamespace())
	}
	return nil
}

// appliesReplicas says whether the provider's apply owns spec.replicas.
func appliesReplicas(fields []metav1.ManagedFieldsEntry) bool {
	for _, f := range fields {
		if f.Manager != FieldManager || f.Operation != metav1.ManagedFieldsOperationApply || f.FieldsV1 == nil {
			continue
		}
		var set struct {
			Spec map[string]any `json:"f:spec"`
		}
		if json.Unmarshal(f.FieldsV1.GetRawBytes(), &set) == nil {
			if _, ok := set.Spec["f:replicas"]; ok {
				return true
			}
		}
	}
	return false
}
