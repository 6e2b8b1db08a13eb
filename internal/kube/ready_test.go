package kube

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
)

func TestReady(t *testing.T) {
	dep := func(replicas *int32, gen, observed int64, st appsv1.DeploymentStatus) *appsv1.Deployment {
		st.ObservedGeneration = observed
		return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Generation: gen}, Spec: appsv1.DeploymentSpec{Replicas: replicas}, Status: st}
	}
	all := func(n int32) appsv1.DeploymentStatus {
		return appsv1.DeploymentStatus{Replicas: n, UpdatedReplicas: n, ReadyReplicas: n, AvailableReplicas: n}
	}
	for name, c := range map[string]struct {
		d    *appsv1.Deployment
		want bool
	}{
		"rolled out":                    {dep(ptr.To[int32](2), 3, 3, all(2)), true},
		"replicas unset means 1":        {dep(nil, 1, 1, all(1)), true},
		"new generation not observed":   {dep(ptr.To[int32](2), 4, 3, all(2)), false},
		"an old replica still running":  {dep(ptr.To[int32](2), 1, 1, appsv1.DeploymentStatus{Replicas: 3, UpdatedReplicas: 2, ReadyReplicas: 2, AvailableReplicas: 2}), false},
		"not yet available":             {dep(ptr.To[int32](1), 1, 1, appsv1.DeploymentStatus{Replicas: 1, UpdatedReplicas: 1, ReadyReplicas: 1}), false},
		"scaled to zero and rolled out": {dep(ptr.To[int32](0), 2, 2, all(0)), true},
	} {
		if got := DeploymentReady(c.d); got != c.want {
			t.Errorf("%s: DeploymentReady = %v, want %v", name, got, c.want)
		}
	}
	sts := func(currentRev, updateRev string, ready int64) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{
			"kind": "StatefulSet", "metadata": map[string]any{"generation": int64(1)},
			"spec":   map[string]any{"replicas": int64(1)},
			"status": map[string]any{"observedGeneration": int64(1), "readyReplicas": ready, "updatedReplicas": int64(1), "currentRevision": currentRev, "updateRevision": updateRev},
		}}
	}
	if ok, _ := Ready(sts("r1", "r1", 1)); !ok {
		t.Error("a rolled out StatefulSet is not ready")
	}
	if ok, _ := Ready(sts("r1", "r2", 1)); ok {
		t.Error("a StatefulSet mid-update is ready")
	}
	if ok, _ := Ready(sts("r1", "r1", 0)); ok {
		t.Error("a StatefulSet without ready replicas is ready")
	}
	if ok, _ := Ready(&unstructured.Unstructured{Object: map[string]any{"kind": "Service"}}); !ok {
		t.Error("a Service is not ready")
	}
}
