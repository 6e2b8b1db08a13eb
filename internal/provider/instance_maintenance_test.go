package provider

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tootform/terraform-provider-mastodon/internal/kube"
	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

// unchanged records what a feature switched on or off must not touch: the
// account's objects, someone else's, the data volumes, the generated
// secrets, and the Deployments (their generations: not rolled, not edited).
type unchanged struct {
	snap        snapshot
	generations map[string]int64
}

func (c *testCluster) unchanged(ns string, s *terraform.State) (unchanged, error) {
	snap, err := c.snapshot(ns, s)
	if err != nil {
		return unchanged{}, err
	}
	deps, err := c.cs.AppsV1().Deployments(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "app.kubernetes.io/instance=social"})
	if err != nil {
		return unchanged{}, err
	}
	u := unchanged{snap: snap, generations: map[string]int64{}}
	for _, d := range deps.Items {
		u.generations[d.Name] = d.Generation
	}
	return u, nil
}

// checkUnchanged records the first time, and compares every later time.
func (c *testCluster) checkUnchanged(ns string, first *unchanged) resource.TestCheckFunc {
	return func(s *terraform.State) error {
		now, err := c.unchanged(ns, s)
		if err != nil {
			return err
		}
		if first.generations == nil {
			*first = now
			return nil
		}
		if !reflect.DeepEqual(now, *first) {
			return fmt.Errorf("changed by switching a scheduled feature:\nbefore %+v\nnow    %+v", *first, now)
		}
		return nil
	}
}

// checkCronJobs checks the instance's CronJobs by name: their Pods are the
// web Pod (image, configuration, volumes, affinity) but for the command.
func (c *testCluster) checkCronJobs(ns string, want ...string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		ctx := context.Background()
		list, err := c.cs.BatchV1().CronJobs(ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/instance=social"})
		if err != nil {
			return err
		}
		var names []string
		for _, cj := range list.Items {
			names = append(names, cj.Name)
		}
		slices.Sort(names)
		slices.Sort(want)
		if !slices.Equal(names, want) {
			return fmt.Errorf("CronJobs %v, want %v", names, want)
		}
		web, err := c.cs.AppsV1().Deployments(ns).Get(ctx, "social-web", metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, cj := range list.Items {
			if cj.Labels[mastodon.LabelComponent] != mastodon.ComponentMaintenance {
				continue
			}
			pod, wp := cj.Spec.JobTemplate.Spec.Template.Spec, web.Spec.Template.Spec
			if pod.Containers[0].Image != wp.Containers[0].Image || !reflect.DeepEqual(pod.Containers[0].EnvFrom, wp.Containers[0].EnvFrom) ||
				!reflect.DeepEqual(pod.Volumes, wp.Volumes) || !reflect.DeepEqual(pod.Affinity, wp.Affinity) ||
				!reflect.DeepEqual(pod.InitContainers, wp.InitContainers) || !reflect.DeepEqual(pod.SecurityContext, wp.SecurityContext) {
				return fmt.Errorf("CronJob %s's Pod is not the web Pod:\n%+v\nweb:\n%+v", cj.Name, pod, wp)
			}
		}
		return nil
	}
}

// A maintenance task whose last Job failed makes ready false at the next
// refresh, with a warning naming the task and the Job.
func TestScheduledFailureWarning(t *testing.T) {
	cj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "batch/v1", "kind": "CronJob",
		"metadata": map[string]any{"name": "social-mt-media", "namespace": "ns", "labels": map[string]any{mastodon.LabelTask: "remote_media"}},
		"status":   map[string]any{"lastScheduleTime": "2026-11-28T03:17:00Z", "lastSuccessfulTime": "2026-11-27T03:18:00Z"},
	}}
	msg := scheduledFailure(cj)
	for _, want := range []string{"Maintenance task remote_media failed", "social-mt-media-29930597", "2026-11-28 03:17 UTC",
		"kubectl logs -n ns job/social-mt-media-29930597", "--from=cronjob/social-mt-media"} {
		if !strings.Contains(msg, want) {
			t.Errorf("warning %q lacks %q", msg, want)
		}
	}
	_ = unstructured.SetNestedField(cj.Object, "2026-11-28T03:18:00Z", "status", "lastSuccessfulTime")
	if msg := scheduledFailure(cj); msg != "" {
		t.Errorf("a CronJob whose last Job succeeded warns %q", msg)
	}
}

// Maintenance on by default, off, on again, with an account present: the
// CronJobs come and go with the web Pod's spec, nothing else changes; then
// a task whose Jobs fail shows at the next refresh as ready = false.
func TestAccInstance_maintenanceOnOffOn(t *testing.T) {
	c := newTestCluster(t)
	ns := c.namespace(t, "maint")
	ctx := context.Background()
	if _, err := c.cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "someone-elses"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	defaults := []string{"social-mt-cards", "social-mt-media", "social-mt-orphans"}
	var first unchanged
	const failing = `maintenance = {
    remote_media   = { schedule = "* * * * *", retention_days = 7 }
    preview_cards  = { enabled = false }
    orphaned_media = { enabled = false }
  }`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{
				Config: lifecycleConfig(ns, mastodon.DefaultVersion, ""),
				Check:  resource.ComposeAggregateTestCheckFunc(c.checkCronJobs(ns, defaults...), c.checkUnchanged(ns, &first)),
			},
			{
				Config: lifecycleConfig(ns, mastodon.DefaultVersion, "maintenance = { enabled = false }"),
				Check:  resource.ComposeAggregateTestCheckFunc(c.checkCronJobs(ns), c.checkUnchanged(ns, &first)),
			},
			{
				Config: lifecycleConfig(ns, mastodon.DefaultVersion, "maintenance = {}"),
				Check:  resource.ComposeAggregateTestCheckFunc(c.checkCronJobs(ns, defaults...), c.checkUnchanged(ns, &first)),
			},
			{
				// Every minute, and its Pods fail: once a Job failed, the
				// CronJob is suspended (by the test, as another field
				// manager) so that no new Job runs while the refresh reads.
				PreConfig: func() { c.failPods(t, ns, mastodon.ComponentMaintenance, "tootctl-failed") },
				Config:    lifecycleConfig(ns, mastodon.DefaultVersion, failing),
				Check: resource.ComposeAggregateTestCheckFunc(
					c.checkCronJobs(ns, "social-mt-media"),
					c.checkUnchanged(ns, &first),
					c.waitCronJobFailure(ns, "social-mt-media"),
				),
			},
			{
				RefreshState: true,
				Check:        resource.TestCheckResourceAttr("mastodon_instance.test", "ready", "false"),
			},
			{
				// Switched off, the failed task goes and ready is true.
				Config: lifecycleConfig(ns, mastodon.DefaultVersion, "maintenance = { enabled = false }"),
				Check: resource.ComposeAggregateTestCheckFunc(c.checkCronJobs(ns), c.checkUnchanged(ns, &first),
					resource.TestCheckResourceAttr("mastodon_instance.test", "ready", "true")),
			},
		},
	})
}

// waitCronJobFailure waits (3 minutes at most) until the CronJob's last Job
// failed, then suspends it.
func (c *testCluster) waitCronJobFailure(ns, name string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		ctx := context.Background()
		deadline := time.Now().Add(3 * time.Minute)
		for {
			cj, err := c.cs.BatchV1().CronJobs(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			u := &unstructured.Unstructured{}
			u.SetKind("CronJob")
			u.SetName(cj.Name)
			status := map[string]any{}
			if t := cj.Status.LastScheduleTime; t != nil {
				status["lastScheduleTime"] = t.UTC().Format(time.RFC3339)
			}
			if t := cj.Status.LastSuccessfulTime; t != nil {
				status["lastSuccessfulTime"] = t.UTC().Format(time.RFC3339)
			}
			if len(cj.Status.Active) > 0 {
				status["active"] = []any{map[string]any{"name": cj.Status.Active[0].Name}}
			}
			u.Object["status"] = status
			if job, _ := kube.CronJobFailure(u); job != "" {
				j, err := c.cs.BatchV1().Jobs(ns).Get(ctx, job, metav1.GetOptions{})
				if err != nil {
					return fmt.Errorf("the failed Job's name %s, as CronJobFailure gives it: %w", job, err)
				}
				if j.Status.Failed == 0 {
					return fmt.Errorf("Job %s has not failed: %+v", job, j.Status)
				}
				_, err = c.cs.BatchV1().CronJobs(ns).Patch(ctx, name, types.MergePatchType, []byte(`{"spec":{"suspend":true}}`),
					metav1.PatchOptions{FieldManager: "test"})
				return err
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("CronJob %s: no failed Job after 3 minutes: %+v", name, cj.Status)
			}
			time.Sleep(2 * time.Second)
		}
	}
}

// The backup on, off, on again, with an account present: the volume stays
// (the same claim), the CronJob goes and comes back; nothing else changes.
func TestAccInstance_backupOnOffOn(t *testing.T) {
	c := newTestCluster(t)
	ns := c.namespace(t, "maint-backup")
	ctx := context.Background()
	if _, err := c.cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "someone-elses"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var first unchanged
	var volume string
	backupVolume := func(*terraform.State) error {
		pvc, err := c.cs.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "social-db-backup", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if volume == "" {
			volume = string(pvc.UID)
		} else if string(pvc.UID) != volume {
			return fmt.Errorf("the backup volume was replaced")
		}
		return nil
	}
	backupJob := func(*terraform.State) error {
		cj, err := c.cs.BatchV1().CronJobs(ns).Get(ctx, "social-db-backup", metav1.GetOptions{})
		if err != nil {
			return err
		}
		pod := cj.Spec.JobTemplate.Spec.Template.Spec
		if cj.Spec.Schedule != "0 1 * * *" || pod.Containers[0].Image != mastodon.PostgresImage || pod.Volumes[0].PersistentVolumeClaim.ClaimName != "social-db-backup" {
			return fmt.Errorf("backup CronJob %+v", cj.Spec)
		}
		return nil
	}
	withoutMaintenance := "maintenance = { enabled = false }\n"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		CheckDestroy: func(*terraform.State) error {
			// Kept with the instance, like the data volumes.
			_, err := c.cs.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "social-db-backup", metav1.GetOptions{})
			return err
		},
		Steps: []resource.TestStep{
			{
				Config: lifecycleConfig(ns, mastodon.DefaultVersion, withoutMaintenance+`backup = { schedule = "0 1 * * *", keep = 3 }`),
				Check:  resource.ComposeAggregateTestCheckFunc(c.checkCronJobs(ns, "social-db-backup"), backupJob, backupVolume, c.checkUnchanged(ns, &first)),
			},
			{
				Config: lifecycleConfig(ns, mastodon.DefaultVersion, withoutMaintenance),
				// The CronJob goes, its volume (data) stays.
				Check: resource.ComposeAggregateTestCheckFunc(c.checkCronJobs(ns), backupVolume, c.checkUnchanged(ns, &first)),
			},
			{
				Config: lifecycleConfig(ns, mastodon.DefaultVersion, withoutMaintenance+`backup = { schedule = "0 1 * * *", keep = 3 }`),
				Check:  resource.ComposeAggregateTestCheckFunc(c.checkCronJobs(ns, "social-db-backup"), backupJob, backupVolume, c.checkUnchanged(ns, &first)),
			},
			{
				// With a bucket: dumped by the postgres image into a scratch
				// volume, uploaded by Mastodon's; the backup volume is kept.
				Config: lifecycleConfig(ns, mastodon.DefaultVersion, withoutMaintenance+`backup = {}
  media_bucket = { bucket = "media", endpoint = "http://127.0.0.1:9", access_key_id = "key", secret_access_key = "secret", path_style = true }`),
				Check: resource.ComposeAggregateTestCheckFunc(c.checkCronJobs(ns, "social-db-backup"), backupVolume, func(*terraform.State) error {
					cj, err := c.cs.BatchV1().CronJobs(ns).Get(ctx, "social-db-backup", metav1.GetOptions{})
					if err != nil {
						return err
					}
					pod := cj.Spec.JobTemplate.Spec.Template.Spec
					if len(pod.InitContainers) != 1 || pod.InitContainers[0].Image != mastodon.PostgresImage || pod.Containers[0].Name != "upload" ||
						pod.Containers[0].Image != "ghcr.io/mastodon/mastodon:"+mastodon.DefaultVersion || pod.Volumes[len(pod.Volumes)-1].EmptyDir == nil {
						return fmt.Errorf("backup to the bucket: %+v", pod)
					}
					return nil
				}),
			},
			{
				ResourceName:      "mastodon_instance.test",
				ImportState:       true,
				ImportStateId:     ns + "/social",
				ImportStateVerify: true,
			},
		},
	})
}
