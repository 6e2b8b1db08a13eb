package mastodon

import (
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Object is one rendered Kubernetes object: its identity and its body as
// plain JSON-shaped data, without the nulls and empty structs that Go's
// typed objects carry, so a server-side apply claims only what we set.
type Object struct {
	APIVersion string
	Kind       string
	Namespace  string
	Name       string
	Body       map[string]any
}

// NewObject turns a typed Kubernetes object (with TypeMeta set) into an Object.
func NewObject(typed any) Object {
	raw, err := json.Marshal(typed)
	if err != nil {
		panic(fmt.Sprintf("rendering %T: %v", typed, err))
	}
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		panic(fmt.Sprintf("rendering %T: %v", typed, err))
	}
	body = compact(body).(map[string]any)
	delete(body, "status")
	withoutDeprecatedServiceAccount(body)
	meta, _ := body["metadata"].(map[string]any)
	o := Object{Body: body}
	o.APIVersion, _ = body["apiVersion"].(string)
	o.Kind, _ = body["kind"].(string)
	o.Name, _ = meta["name"].(string)
	o.Namespace, _ = meta["namespace"].(string)
	return o
}

// Unstructured is the object as client-go's unstructured type.
func (o Object) Unstructured() *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: o.Body}
}

// RunsRails says whether the object runs Mastodon's processes (or routes or
// guards them): it must wait until the database is prepared and migrated.
func (o Object) RunsRails() bool {
	switch o.Kind {
	case "Deployment", "PodDisruptionBudget", "Ingress", "HTTPRoute", "CronJob", "HorizontalPodAutoscaler", "ServiceMonitor":
		return true
	}
	return false
}

// Key identifies the object: Kind/namespace/name.
func (o Object) Key() string { return o.Kind + "/" + o.Namespace + "/" + o.Name }

// compact drops nulls and empty maps (but an emptyDir volume source),
// recursively.
// withoutDeprecatedServiceAccount says, in a Pod template without a
// ServiceAccount, that its deprecated twin is empty too. The API server
// copies serviceAccountName into serviceAccount on every write, and back
// when serviceAccountName is empty: a server-side apply that stops giving
// serviceAccountName (service_account switched off) would otherwise leave
// the Pods on the ServiceAccount it had, which the same apply deletes.
// An empty value and an absent one are the same to the API and to Diff.
func withoutDeprecatedServiceAccount(body map[string]any) {
	spec, _ := body["spec"].(map[string]any)
	if jt, ok := spec["jobTemplate"].(map[string]any); ok {
		spec, _ = jt["spec"].(map[string]any)
	}
	tmpl, _ := spec["template"].(map[string]any)
	pod, ok := tmpl["spec"].(map[string]any)
	if !ok {
		return
	}
	if _, named := pod["serviceAccountName"]; !named {
		pod["serviceAccount"] = ""
	}
}

func compact(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			c := compact(e)
			if c == nil {
				delete(t, k)
				continue
			}
			if m, ok := c.(map[string]any); ok && len(m) == 0 && k != "emptyDir" {
				delete(t, k)
				continue
			}
			t[k] = c
		}
		return t
	case []any:
		for i, e := range t {
			t[i] = compact(e)
		}
		return t
	default:
		return v
	}
}

// PrunableKinds are the kinds of the objects Render produces that an apply
// deletes once they are no longer rendered (an Ingress switched off, an
// embedded service replaced by an external one). Jobs are history and
// volumes are data: neither is ever pruned. The namespace is apart.
var PrunableKinds = []string{"ServiceAccount", "ConfigMap", "Secret", "NetworkPolicy", "Service", "StatefulSet", "Deployment", "PodDisruptionBudget", "Ingress", "HTTPRoute", "BackendConfig", "CronJob", "HorizontalPodAutoscaler", "ServiceMonitor"}
