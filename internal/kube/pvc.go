package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
)

// annBindCompleted is the mark the volume controller leaves on a claim
// once it bound a volume to it; it stays when the volume is lost.
const annBindCompleted = "pv.kubernetes.io/bind-completed"

// ClaimNeverBound says whether a PersistentVolumeClaim never had a volume:
// pending, naming no volume, without the mark binding leaves. Such a claim
// holds no data, so deleting it loses nothing.
func ClaimNeverBound(pvc *unstructured.Unstructured) bool {
	volume, _, _ := unstructured.NestedString(pvc.Object, "spec", "volumeName")
	phase, _, _ := unstructured.NestedString(pvc.Object, "status", "phase")
	_, bound := pvc.GetAnnotations()[annBindCompleted]
	return volume == "" && !bound && (phase == "" || phase == string(corev1.ClaimPending))
}

// ClaimStorage is the storage class ("" for none) and size a claim asks for.
func ClaimStorage(pvc *unstructured.Unstructured) (class, size string) {
	class, _, _ = unstructured.NestedString(pvc.Object, "spec", "storageClassName")
	size, _, _ = unstructured.NestedString(pvc.Object, "spec", "resources", "requests", "storage")
	return class, size
}

// StorageClasses are the storage classes of a cluster: each one's
// provisioner, and the default class ("" when there is none).
type StorageClasses struct {
	Provisioners map[string]string
	Default      string
}

// StorageClasses reads the cluster's storage classes (cluster-wide: an
// error that apierrors.IsForbidden recognises where the credentials may
// not list them).
func (c *Client) StorageClasses(ctx context.Context) (*StorageClasses, error) {
	list, err := c.Clientset.StorageV1().StorageClasses().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, c.Explain(err, "listing storage classes", "")
	}
	out := &StorageClasses{Provisioners: map[string]string{}}
	for _, sc := range list.Items {
		out.Provisioners[sc.Name] = sc.Provisioner
		a := sc.Annotations
		if a["storageclass.kubernetes.io/is-default-class"] == "true" || a["storageclass.beta.kubernetes.io/is-default-class"] == "true" {
			out.Default = sc.Name
		}
	}
	return out, nil
}

// Exists says whether a claim asking for class ("" for the default) can
// be given a volume by a class of the cluster.
func (s *StorageClasses) Exists(class string) bool {
	if class == "" {
		return s.Default != ""
	}
	_, ok := s.Provisioners[class]
	return ok
}

// Resolve is the class a claim asking for class ends up with: the default
// one for "".
func (s *StorageClasses) Resolve(class string) string {
	if class == "" {
		return s.Default
	}
	return class
}

// Describe says what the cluster has of class ("" for the default).
func (s *StorageClasses) Describe(class string) string {
	var have []string
	for _, name := range slices.Sorted(maps.Keys(s.Provisioners)) {
		if name == s.Default {
			name += " (default)"
		}
		have = append(have, name)
	}
	list := "none"
	if len(have) > 0 {
		list = strings.Join(have, ", ")
	}
	switch {
	case class == "" && s.Default == "":
		return "no storage class, and the cluster has no default StorageClass (it has: " + list + ")"
	case class == "":
		return fmt.Sprintf("no storage class: the cluster's default, %q (provisioner %s)", s.Default, s.Provisioners[s.Default])
	case !s.Exists(class):
		return fmt.Sprintf("storage class %q, which does not exist in the cluster (it has: %s)", class, list)
	}
	return fmt.Sprintf("storage class %q, which exists (provisioner %s)", class, s.Provisioners[class])
}

// DeleteNeverBoundClaim deletes a claim that never bound (ClaimNeverBound)
// and waits until it is gone; first the StatefulSet whose Pod uses it, when
// statefulSet is not "" and it exists, so that no Pod holds the claim and
// the next apply creates both anew (a StatefulSet's claim templates cannot
// change). The claim is deleted only if it is still the one read (its UID),
// and still unbound.
func (c *Client) DeleteNeverBoundClaim(ctx context.Context, pvc *unstructured.Unstructured, statefulSet string) error {
	ns := pvc.GetNamespace()
	if statefulSet != "" {
		sts, err := c.Get(ctx, "StatefulSet", ns, statefulSet)
		if err != nil {
			return err
		}
		if sts != nil {
			ri, err := c.resource("StatefulSet", ns)
			if err != nil {
				return err
			}
			policy := metav1.DeletePropagationForeground
			err = ri.Delete(ctx, statefulSet, metav1.DeleteOptions{PropagationPolicy: &policy, Preconditions: &metav1.Preconditions{UID: ptrUID(sts)}})
			if err != nil && !apierrors.IsNotFound(err) {
				return c.Explain(err, "deleting StatefulSet "+statefulSet+" (its claim "+pvc.GetName()+" is replaced)", ns)
			}
			if err := c.WaitDeleted(ctx, "StatefulSet", ns, statefulSet); err != nil {
				return err
			}
		}
	}
	cur, err := c.Get(ctx, "PersistentVolumeClaim", ns, pvc.GetName())
	if err != nil || cur == nil {
		return err
	}
	if cur.GetUID() != pvc.GetUID() || !ClaimNeverBound(cur) {
		return fmt.Errorf("claim %s/%s changed while it was being replaced (it is now bound, or another claim): apply again", ns, pvc.GetName())
	}
	ri, err := c.resource("PersistentVolumeClaim", ns)
	if err != nil {
		return err
	}
	err = ri.Delete(ctx, pvc.GetName(), metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: ptrUID(cur)}})
	if err != nil && !apierrors.IsNotFound(err) {
		return c.Explain(err, "deleting claim "+pvc.GetName(), ns)
	}
	return c.WaitDeleted(ctx, "PersistentVolumeClaim", ns, pvc.GetName())
}

// describeClaims says, for each claim of a Pod that is not bound, its
// class and whether the cluster has it, with the claim's last events.
func (c *Client) describeClaims(ctx context.Context, p *corev1.Pod) string {
	var b strings.Builder
	var classes *StorageClasses
	var classErr error
	for _, v := range p.Spec.Volumes {
		if v.PersistentVolumeClaim == nil {
			continue
		}
		name := v.PersistentVolumeClaim.ClaimName
		pvc, err := c.Clientset.CoreV1().PersistentVolumeClaims(p.Namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			if apierrors.IsNotFound(err) {
				fmt.Fprintf(&b, "  claim %s: does not exist\n", name)
			}
			continue
		}
		if pvc.Status.Phase == corev1.ClaimBound {
			continue
		}
		if classes == nil && classErr == nil {
			classes, classErr = c.StorageClasses(ctx)
		}
		class := ""
		if pvc.Spec.StorageClassName != nil {
			class = *pvc.Spec.StorageClassName
		}
		what := fmt.Sprintf("storage class %q (cannot tell whether the cluster has it: %v)", class, classErr)
		if classErr == nil {
			what = classes.Describe(class)
		}
		fmt.Fprintf(&b, "  claim %s: %s, asking for %s\n", name, pvc.Status.Phase, what)
		events, err := c.Clientset.CoreV1().Events(p.Namespace).List(ctx, metav1.ListOptions{
			FieldSelector: "involvedObject.kind=PersistentVolumeClaim,involvedObject.name=" + name,
		})
		if err == nil {
			for _, e := range lastEvents(events.Items, 3) {
				fmt.Fprintf(&b, "    event %s %s: %s\n", e.Type, e.Reason, e.Message)
			}
		}
	}
	return b.String()
}

// Annotate sets annotations on an object that exists, with a merge patch
// (no server-side apply: the fields stay out of what the provider applies,
// so they are neither compared on refresh nor removed by the next apply).
// It writes only when an annotation differs, and says whether it did; a
// missing object is left alone.
func (c *Client) Annotate(ctx context.Context, kind, namespace, name string, annotations map[string]string) (bool, error) {
	cur, err := c.Get(ctx, kind, namespace, name)
	if err != nil || cur == nil {
		return false, err
	}
	have := cur.GetAnnotations()
	differs := false
	for k, v := range annotations {
		if have[k] != v {
			differs = true
		}
	}
	if !differs {
		return false, nil
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": annotations}})
	if err != nil {
		return false, err
	}
	ri, err := c.resource(kind, namespace)
	if err != nil {
		return false, err
	}
	if _, err := ri.Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: FieldManager}); err != nil && !apierrors.IsNotFound(err) {
		return false, c.Explain(err, "annotating "+kind+" "+name, namespace)
	}
	return true, nil
}

// Label sets labels on an object (a merge patch of its metadata only); an
// object gone is not an error.
func (c *Client) Label(ctx context.Context, kind, namespace, name string, labels map[string]string) error {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"labels": labels}})
	if err != nil {
		return err
	}
	ri, err := c.resource(kind, namespace)
	if err != nil {
		return err
	}
	if _, err := ri.Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: FieldManager}); err != nil && !apierrors.IsNotFound(err) {
		return c.Explain(err, "labelling "+kind+" "+name, namespace)
	}
	return nil
}
