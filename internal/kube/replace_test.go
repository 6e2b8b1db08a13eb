package kube

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func statefulSet(claims ...string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": map[string]any{"name": "redis"}}}
	var templates []any
	for _, c := range claims {
		templates = append(templates, map[string]any{"metadata": map[string]any{"name": c}})
	}
	if templates != nil {
		_ = unstructured.SetNestedSlice(u.Object, templates, "spec", "volumeClaimTemplates")
	}
	return u
}

// A StatefulSet's claim templates are immutable: only one that has none
// may be replaced to gain some, since it kept no data in claims.
func TestClaimTemplatesAdded(t *testing.T) {
	for _, tc := range []struct {
		name          string
		live, desired *unstructured.Unstructured
		want          bool
	}{
		{"gains a claim", statefulSet(), statefulSet("data"), true},
		{"keeps its claim", statefulSet("data"), statefulSet("data"), false},
		{"had a claim (data: never replaced)", statefulSet("data"), statefulSet("other"), false},
		{"not there yet", nil, statefulSet("data"), false},
		{"still none", statefulSet(), statefulSet(), false},
	} {
		if got := ClaimTemplatesAdded(tc.live, tc.desired); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
