package kube

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"sort"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
)

// FieldManager owns every field the provider applies.
const FieldManager = "terraform-provider-mastodon"

// Kind is a resource kind the provider manages, with what is needed to reach
// it without discovery.
type Kind struct {
	Name       string
	GVR        schema.GroupVersionResource
	Namespaced bool
}

// Kinds are the kinds the provider manages, in the order they are applied
// (and the reverse of the order they are deleted).
var Kinds = []Kind{
	{"Namespace", schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}, false},
	{"ServiceAccount", schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"}, true},
	{"ConfigMap", schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, true},
	{"Secret", schema.GroupVersionResource{Version: "v1", Resource: "secrets"}, true},
	{"PersistentVolumeClaim", schema.GroupVersionResource{Version: "v1", Resource: "persistentvolumeclaims"}, true},
	{"NetworkPolicy", schema.GroupVersionResource{Group: "networking.k8s.io", Version: "v1", Resource: "networkpolicies"}, true},
	{"Service", schema.GroupVersionResource{Version: "v1", Resource: "services"}, true},
	{"StatefulSet", schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "statefulsets"}, true},
	{"Job", schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "jobs"}, true},
	{"Deployment", schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, true},
	{"HorizontalPodAutoscaler", schema.GroupVersionResource{Group: "autoscaling", Version: "v2", Resource: "horizontalpodautoscalers"}, true},
	{"PodDisruptionBudget", schema.GroupVersionResource{Group: "policy", Version: "v1", Resource: "poddisruptionbudgets"}, true},
	{"Ingress", schema.GroupVersionResource{Group: "networking.k8s.io", Version: "v1", Resource: "ingresses"}, true},
	{"HTTPRoute", schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "httproutes"}, true},
	{"BackendConfig", schema.GroupVersionResource{Group: "cloud.google.com", Version: "v1", Resource: "backendconfigs"}, true},
	{"CronJob", schema.GroupVersionResource{Group: "batch", Version: "v1", Resource: "cronjobs"}, true},
	{"ServiceMonitor", schema.GroupVersionResource{Group: "monitoring.coreos.com", Version: "v1", Resource: "servicemonitors"}, true},
	// Pods are never applied, only waited for.
	{"Pod", schema.GroupVersionResource{Version: "v1", Resource: "pods"}, true},
	// Gateways are someone else's: only read (GatewayStatus).
	{"Gateway", schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "gateways"}, true},
}

// optionalKinds come from a CRD that not every cluster serves (GKE's
// BackendConfig, the Prometheus Operator's ServiceMonitor, the Gateway
// API's HTTPRoute and Gateway): a list that the cluster does not serve, or
// that the credentials may not read, finds nothing.
var optionalKinds = map[string]bool{"BackendConfig": true, "ServiceMonitor": true, "HTTPRoute": true, "Gateway": true}

// NamespacedKinds are the namespaced kinds the provider applies (all of
// Kinds but the Namespace, the Pods, which are only waited for, and the
// Gateways, which are only read).
func NamespacedKinds() []string {
	var out []string
	for _, k := range Kinds {
		if k.Namespaced && k.Name != "Pod" && k.Name != "Gateway" {
			out = append(out, k.Name)
		}
	}
	return out
}

// KindOf finds a managed kind by name.
func KindOf(name string) (Kind, bool) {
	for _, k := range Kinds {
		if k.Name == name {
			return k, true
		}
	}
	return Kind{}, false
}

// Key identifies an object: Kind/namespace/name.
func Key(o *unstructured.Unstructured) string {
	return o.GetKind() + "/" + o.GetNamespace() + "/" + o.GetName()
}

func (c *Client) resource(kindName, namespace string) (dynamic.ResourceInterface, error) {
	k, ok := KindOf(kindName)
	if !ok {
		return nil, fmt.Errorf("kind %s is not one the provider manages", kindName)
	}
	if k.Namespaced {
		return c.Dynamic.Resource(k.GVR).Namespace(namespace), nil
	}
	return c.Dynamic.Resource(k.GVR), nil
}

// Apply server-side applies each object in order, with one field manager
// and forced ownership: create and update are the same idempotent call.
func (c *Client) Apply(ctx context.Context, objs []*unstructured.Unstructured) error {
	for _, o := range objs {
		if err := c.ApplyOne(ctx, o); err != nil {
			return err
		}
	}
	return nil
}

// ApplyOne server-side applies one object. An optional kind the cluster
// does not serve is skipped where that is its rule (appliedWhereServed); a
// Deployment applied without replicas keeps its current ones, within its
// autoscaler's bounds, and a new one starts at the lower bound
// (replicasToKeep).
func (c *Client) ApplyOne(ctx context.Context, o *unstructured.Unstructured) error {
	if appliedWhereServed[o.GetKind()] {
		if served, err := c.Serves(ctx, o.GetKind()); err != nil || !served {
			return err
		}
	}
	replicas, exists, handover, err := c.replicasToKeep(ctx, o)
	if err != nil {
		return err
	}
	if handover && exists {
		if err := c.setReplicas(ctx, o, replicas); err != nil {
			return err
		}
	}
	ri, err := c.resource(o.GetKind(), o.GetNamespace())
	if err != nil {
		return err
	}
	_, err = ri.Apply(ctx, o.GetName(), o, metav1.ApplyOptions{FieldManager: FieldManager, Force: true})
	if err != nil {
		return c.Explain(err, "applying "+Key(o), o.GetNamespace())
	}
	if handover && !exists {
		return c.setReplicas(ctx, o, replicas)
	}
	return nil
}

// List returns the objects of the given kinds that match a label selector
// in a namespace, one list request per kind, keyed by Key.
func (c *Client) List(ctx context.Context, namespace, selector string, kinds []string) (map[string]*unstructured.Unstructured, error) {
	out := map[string]*unstructured.Unstructured{}
	for _, name := range kinds {
		ri, err := c.resource(name, namespace)
		if err != nil {
			return nil, err
		}
		list, err := ri.List(ctx, metav1.ListOptions{LabelSelector: selector})
		if optionalKinds[name] && (apierrors.IsNotFound(err) || apierrors.IsForbidden(err)) {
			continue
		}
		if err != nil {
			return nil, c.Explain(err, "listing "+name+"s", namespace)
		}
		for i := range list.Items {
			o := listed(&list.Items[i], name)
			out[Key(o)] = o
		}
	}
	return out, nil
}

// Get returns one object, or nil when it does not exist.
func (c *Client) Get(ctx context.Context, kind, namespace, name string) (*unstructured.Unstructured, error) {
	ri, err := c.resource(kind, namespace)
	if err != nil {
		return nil, err
	}
	o, err := ri.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, c.Explain(err, "reading "+kind+" "+name, namespace)
	}
	o.SetKind(kind)
	return o, nil
}

// Delete deletes an object (with its dependents, in the background); an
// object already gone is not an error.
func (c *Client) Delete(ctx context.Context, kind, namespace, name string) error {
	ri, err := c.resource(kind, namespace)
	if err != nil {
		return err
	}
	policy := metav1.DeletePropagationBackground
	err = ri.Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &policy})
	if err != nil && !apierrors.IsNotFound(err) {
		return c.Explain(err, "deleting "+kind+" "+name, namespace)
	}
	return nil
}

// Prune deletes the objects in live that are not in keep, of the given
// kinds only, and only those whose labels owned accepts: what a resource
// may delete is proven by its own marks, never assumed from a listing.
func (c *Client) Prune(ctx context.Context, live map[string]*unstructured.Unstructured, keep map[string]bool, kinds []string, owned func(labels map[string]string) bool) ([]string, error) {
	var pruned []string
	for key, o := range live {
		if keep[key] || !slices.Contains(kinds, o.GetKind()) || !owned(o.GetLabels()) {
			continue
		}
		if err := c.Delete(ctx, o.GetKind(), o.GetNamespace(), o.GetName()); err != nil {
			return pruned, err
		}
		pruned = append(pruned, key)
	}
	sort.Strings(pruned)
	return pruned, nil
}

// CreateIfMissing creates an object that does not exist yet and never
// changes one that does: it returns the live object and whether this call
// created it.
func (c *Client) CreateIfMissing(ctx context.Context, o *unstructured.Unstructured) (*unstructured.Unstructured, bool, error) {
	live, err := c.Get(ctx, o.GetKind(), o.GetNamespace(), o.GetName())
	if err != nil || live != nil {
		return live, false, err
	}
	ri, err := c.resource(o.GetKind(), o.GetNamespace())
	if err != nil {
		return nil, false, err
	}
	created, err := ri.Create(ctx, o, metav1.CreateOptions{FieldManager: FieldManager})
	if apierrors.IsAlreadyExists(err) {
		live, err = c.Get(ctx, o.GetKind(), o.GetNamespace(), o.GetName())
		return live, false, err
	}
	if err != nil {
		return nil, false, c.Explain(err, "creating "+Key(o), o.GetNamespace())
	}
	return created, true, nil
}

// NamespaceContents names up to a few objects of each kind the provider
// knows that live in a namespace, leaving out what Kubernetes itself puts
// in every namespace (the default ServiceAccount, the root CA ConfigMap)
// and what is already being deleted. An empty answer means the namespace
// holds nothing of anyone's that the provider could see.
func (c *Client) NamespaceContents(ctx context.Context, namespace string) ([]string, error) {
	var out []string
	for _, k := range Kinds {
		if !k.Namespaced || k.Name == "Gateway" { // Gateways are only read: a Role may not list them
			continue
		}
		list, err := c.Dynamic.Resource(k.GVR).Namespace(namespace).List(ctx, metav1.ListOptions{Limit: 5})
		if optionalKinds[k.Name] && apierrors.IsNotFound(err) {
			continue // a kind the cluster does not serve has no objects
		}
		if err != nil {
			return nil, c.Explain(err, "listing "+k.Name+"s", namespace)
		}
		for _, o := range list.Items {
			switch {
			case o.GetDeletionTimestamp() != nil,
				k.Name == "ServiceAccount" && o.GetName() == "default",
				k.Name == "ConfigMap" && o.GetName() == "kube-root-ca.crt":
				continue
			}
			out = append(out, k.Name+" "+o.GetName())
		}
	}
	return out, nil
}

// SecretData decodes the data of a Secret read as unstructured.
func SecretData(u *unstructured.Unstructured) map[string]string {
	out := map[string]string{}
	data, _, _ := unstructured.NestedStringMap(u.Object, "data")
	for k, v := range data {
		if b, err := base64.StdEncoding.DecodeString(v); err == nil {
			out[k] = string(b)
		}
	}
	return out
}

// IngressAddress is the first load balancer IP and host name an Ingress
// reports ("" when none).
func IngressAddress(ing *unstructured.Unstructured) (ip, hostname string) {
	lbs, _, _ := unstructured.NestedSlice(ing.Object, "status", "loadBalancer", "ingress")
	if len(lbs) > 0 {
		m, _ := lbs[0].(map[string]any)
		ip, _ = m["ip"].(string)
		hostname, _ = m["hostname"].(string)
	}
	return ip, hostname
}
