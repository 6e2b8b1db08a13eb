package kube

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestAppliesReplicas(t *testing.T) {
	entry := func(manager string, op metav1.ManagedFieldsOperationType, fields string) metav1.ManagedFieldsEntry {
		return metav1.ManagedFieldsEntry{Manager: manager, Operation: op, FieldsV1: metav1.NewFieldsV1(fields)}
	}
	const withReplicas = `{"f:spec":{"f:replicas":{},"f:template":{}}}`
	const without = `{"f:spec":{"f:template":{}}}`
	for name, tc := range map[string]struct {
		fields []metav1.ManagedFieldsEntry
		want   bool
	}{
		"ours":                  {[]metav1.ManagedFieldsEntry{entry(FieldManager, metav1.ManagedFieldsOperationApply, withReplicas)}, true},
		"ours without replicas": {[]metav1.ManagedFieldsEntry{entry(FieldManager, metav1.ManagedFieldsOperationApply, without)}, false},
		"an autoscaler's":       {[]metav1.ManagedFieldsEntry{entry(FieldManager, metav1.ManagedFieldsOperationApply, without), entry("kube-controller-manager", metav1.ManagedFieldsOperationUpdate, withReplicas)}, false},
		"handed over":           {[]metav1.ManagedFieldsEntry{entry(ReplicasManager, metav1.ManagedFieldsOperationApply, withReplicas)}, false},
		"none":                  {nil, false},
	} {
		if got := appliesReplicas(tc.fields); got != tc.want {
			t.Errorf("%s: %v, want %v", name, got, tc.want)
		}
	}
}

func TestReplicaBounds(t *testing.T) {
	for v, want := range map[string][3]int64{"2-5": {2, 5, 1}, "1-1": {1, 1, 1}, "": {}, "3-2": {}, "0-4": {}, "x-4": {}, "4": {}} {
		lo, hi, ok := replicaBounds(v)
		if got := [3]int64{lo, hi, map[bool]int64{true: 1}[ok]}; got != want {
			t.Errorf("%q: %v, want %v", v, got, want)
		}
	}
}
