package kube

import (
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func cronJob(status map[string]any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "batch/v1", "kind": "CronJob",
		"metadata": map[string]any{"name": "social-mt-media", "namespace": "ns"},
		"status":   status,
	}}
}

func TestCronJobFailure(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status map[string]any
		job    string
	}{
		{"never ran", map[string]any{}, ""},
		{"running", map[string]any{"lastScheduleTime": "2026-11-28T03:17:00Z", "active": []any{map[string]any{"name": "x"}}}, ""},
		{"succeeded", map[string]any{"lastScheduleTime": "2026-11-28T03:17:00Z", "lastSuccessfulTime": "2026-11-28T03:18:02Z"}, ""},
		// 2026-11-28T03:17:00Z is 1795835820 s after the epoch: minute 29930597.
		{"failed, never succeeded", map[string]any{"lastScheduleTime": "2026-11-28T03:17:00Z"}, "social-mt-media-29930597"},
		{"failed after an earlier success", map[string]any{"lastScheduleTime": "2026-11-28T03:17:00Z", "lastSuccessfulTime": "2026-11-27T03:18:02Z"}, "social-mt-media-29930597"},
	} {
		job, _ := CronJobFailure(cronJob(tc.status))
		if job != tc.job {
			t.Errorf("%s: failed Job %q, want %q", tc.name, job, tc.job)
		}
		if ok, _ := Ready(cronJob(tc.status)); ok != (tc.job == "") {
			t.Errorf("%s: ready %v", tc.name, ok)
		}
	}
}

func TestJobCondition(t *testing.T) {
	job := &unstructured.Unstructured{Object: map[string]any{"status": map[string]any{"conditions": []any{
		map[string]any{"type": "Complete", "status": "False"},
		map[string]any{"type": "Failed", "status": "True", "message": "BackoffLimitExceeded"},
	}}}}
	if ok, _ := JobCondition(job, "Complete"); ok {
		t.Error("a Complete condition with status False counts as complete")
	}
	if ok, msg := JobCondition(job, "Failed"); !ok || msg != "BackoffLimitExceeded" {
		t.Errorf("Failed: %v %q", ok, msg)
	}
}
