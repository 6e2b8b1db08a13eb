package kube

import (
	"context"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
)

// ClaimTemplatesAdded says whether applying desired over live would give
// volume claim templates to a StatefulSet that has none. The API server
// refuses it (a StatefulSet's claim templates cannot change), and
// replacing the StatefulSet loses nothing: without claim templates it kept
// no data in volumes of its own.
func ClaimTemplatesAdded(live, desired *unstructured.Unstructured) bool {
	if live == nil || desired == nil || live.GetKind() != "StatefulSet" || desired.GetKind() != "StatefulSet" {
		return false
	}
	have, _, _ := unstructured.NestedSlice(live.Object, "spec", "volumeClaimTemplates")
	want, _, _ := unstructured.NestedSlice(desired.Object, "spec", "volumeClaimTemplates")
	return len(have) == 0 && len(want) > 0
}

// ReplaceStatefulSetsGainingClaims deletes each StatefulSet of objs that
// lives without claim templates while objs gives it some (see
// ClaimTemplatesAdded), with its Pods, and waits until it is gone, so that
// the next Apply creates it anew. Only a live StatefulSet whose labels
// owned accepts is deleted. It returns the keys of those it deleted.
func (c *Client) ReplaceStatefulSetsGainingClaims(ctx context.Context, objs []*unstructured.Unstructured, owned func(labels map[string]string) bool) ([]string, error) {
	var replaced []string
	for _, o := range objs {
		if o.GetKind() != "StatefulSet" {
			continue
		}
		live, err := c.Get(ctx, "StatefulSet", o.GetNamespace(), o.GetName())
		if err != nil {
			return replaced, err
		}
		if !ClaimTemplatesAdded(live, o) || !owned(live.GetLabels()) {
			continue
		}
		ri, err := c.resource("StatefulSet", o.GetNamespace())
		if err != nil {
			return replaced, err
		}
		// Foreground: the StatefulSet goes only once its Pods are gone, so
		// the new one never runs beside an old Pod.
		policy := metav1.DeletePropagationForeground
		err = ri.Delete(ctx, o.GetName(), metav1.DeleteOptions{PropagationPolicy: &policy, Preconditions: &metav1.Preconditions{UID: ptrUID(live)}})
		if err != nil && !apierrors.IsNotFound(err) {
			return replaced, c.Explain(err, "replacing "+Key(o)+" (its volume claim templates cannot change in place)", o.GetNamespace())
		}
		if err := c.WaitDeleted(ctx, "StatefulSet", o.GetNamespace(), o.GetName()); err != nil {
			return replaced, err
		}
		replaced = append(replaced, Key(o))
	}
	return replaced, nil
}

func ptrUID(o *unstructured.Unstructured) *types.UID {
	uid := o.GetUID()
	return &uid
}
