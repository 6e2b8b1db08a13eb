package kube

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// CronJobFailure says, from a CronJob's status alone, whether the last Job
// it started failed: none of its Jobs is running and it has not succeeded
// since it last started one. It returns that Job's name, as the CronJob
// controller names Jobs (<cronjob>-<scheduled time in minutes since the
// epoch>, pkg/controller/cronjob/utils.go getJobName), and when it was
// scheduled; "" when the last Job succeeded, still runs, or none ran yet.
// A Job deleted before it finished counts as failed.
func CronJobFailure(u *unstructured.Unstructured) (job string, scheduled time.Time) {
	if u.GetKind() != "CronJob" {
		return "", time.Time{}
	}
	if active, _, _ := unstructured.NestedSlice(u.Object, "status", "active"); len(active) > 0 {
		return "", time.Time{}
	}
	stamp := func(field string) (time.Time, bool) {
		s, _, _ := unstructured.NestedString(u.Object, "status", field)
		t, err := time.Parse(time.RFC3339, s)
		return t, err == nil
	}
	last, ok := stamp("lastScheduleTime")
	if !ok {
		return "", time.Time{}
	}
	if success, ok := stamp("lastSuccessfulTime"); ok && !success.Before(last) {
		return "", time.Time{}
	}
	return fmt.Sprintf("%s-%d", u.GetName(), last.Unix()/60), last
}

// JobCondition says whether a Job read as unstructured has the condition
// (Complete, Failed) with status True, and its message.
func JobCondition(u *unstructured.Unstructured, condition string) (bool, string) {
	conditions, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conditions {
		if m, _ := c.(map[string]any); m["type"] == condition && m["status"] == "True" {
			msg, _ := m["message"].(string)
			return true, msg
		}
	}
	return false, ""
}
