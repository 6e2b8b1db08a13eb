package kube

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
)

// ErrJobFailed marks a Job that failed (as opposed to one still running
// when the time ran out).
var ErrJobFailed = errors.New("job failed")

// waitFor watches one object until done says so, the object's condition
// fails, or ctx ends. It lists first, so an object already done returns at once.
func (c *Client) waitFor(ctx context.Context, kind, namespace, name string, done func(*unstructured.Unstructured) (bool, error)) error {
	ri, err := c.resource(kind, namespace)
	if err != nil {
		return err
	}
	lw := listWatch(ri, fields.OneTermEqualSelector("metadata.name", name).String(), "")
	var last *unstructured.Unstructured
	_, err = watchtools.UntilWithSync(ctx, lw, &unstructured.Unstructured{}, nil, func(ev watch.Event) (bool, error) {
		if ev.Type == watch.Deleted {
			return false, fmt.Errorf("%s %s/%s was deleted while waiting for it", kind, namespace, name)
		}
		o, ok := ev.Object.(*unstructured.Unstructured)
		if !ok {
			return false, nil
		}
		last = o
		return done(o)
	})
	if err != nil && last == nil && ctx.Err() != nil {
		return fmt.Errorf("%s %s/%s did not appear: %w", kind, namespace, name, ctx.Err())
	}
	return err
}

// WaitJob waits until a Job completes. A failed Job returns an error
// wrapping ErrJobFailed with its diagnostics; a Job still running at the
// deadline returns the deadline error with its diagnostics.
func (c *Client) WaitJob(ctx context.Context, namespace, name string) error {
	err := c.waitFor(ctx, "Job", namespace, name, func(u *unstructured.Unstructured) (bool, error) {
		var job batchv1.Job
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &job); err != nil {
			return false, err
		}
		for _, cond := range job.Status.Conditions {
			if cond.Status != corev1.ConditionTrue {
				continue
			}
			switch cond.Type {
			case batchv1.JobComplete:
				return true, nil
			case batchv1.JobFailed:
				return false, fmt.Errorf("%w: Job %s/%s: %s: %s", ErrJobFailed, namespace, name, cond.Reason, cond.Message)
			}
		}
		return false, nil
	})
	if err == nil {
		return nil
	}
	if !errors.Is(err, ErrJobFailed) {
		err = fmt.Errorf("job %s/%s did not complete: %w", namespace, name, err)
	}
	return c.withDiagnostics(err, namespace, labels.SelectorFromSet(labels.Set{"job-name": name}).String())
}

// JobState says whether a Job exists, completed, or failed.
func (c *Client) JobState(ctx context.Context, namespace, name string) (exists, complete, failed bool, err error) {
	job, err := c.Clientset.BatchV1().Jobs(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		if isNotFound(err) {
			return false, false, false, nil
		}
		return false, false, false, c.Explain(err, "reading Job "+name, namespace)
	}
	for _, cond := range job.Status.Conditions {
		if cond.Status == corev1.ConditionTrue && cond.Type == batchv1.JobComplete {
			complete = true
		}
		if cond.Status == corev1.ConditionTrue && cond.Type == batchv1.JobFailed {
			failed = true
		}
	}
	return true, complete, failed, nil
}

// RunJobOnce runs a Job to completion once: a Job of that name already
// complete is not run again, a failed one is deleted (and waited for) and
// replaced by a fresh one.
func (c *Client) RunJobOnce(ctx context.Context, job *unstructured.Unstructured) error {
	ns, name := job.GetNamespace(), job.GetName()
	exists, complete, failed, err := c.JobState(ctx, ns, name)
	switch {
	case err != nil:
		return err
	case complete:
		return nil
	case failed:
		if err := c.Delete(ctx, "Job", ns, name); err != nil {
			return err
		}
		if err := c.WaitDeleted(ctx, "Job", ns, name); err != nil {
			return err
		}
		// Its Pods, so that the new Job's diagnostics are its own.
		if err := c.WaitGone(ctx, ns, "job-name="+name, []string{"Pod"}); err != nil {
			return err
		}
		exists = false
	}
	if !exists {
		if err := c.ApplyOne(ctx, job); err != nil {
			return err
		}
	}
	return c.WaitJob(ctx, ns, name)
}

// DeploymentReady says whether a Deployment has rolled out its current
// template with every replica updated, available and ready (the rule of
// Ready, for a typed Deployment).
func DeploymentReady(d *appsv1.Deployment) bool {
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(d)
	if err != nil {
		return false
	}
	u := &unstructured.Unstructured{Object: obj}
	u.SetKind("Deployment")
	ok, _ := Ready(u)
	return ok
}

// Ready says whether an object of a kind with replicas is ready; other
// kinds are ready once they exist. It reads the fields it needs in place
// (a refresh calls it for every workload of every instance).
func Ready(u *unstructured.Unstructured) (bool, error) {
	kind := u.GetKind()
	if kind != "Deployment" && kind != "StatefulSet" {
		return true, nil
	}
	num := func(fields ...string) int64 {
		v, _, _ := unstructured.NestedInt64(u.Object, fields...)
		return v
	}
	want, found, err := unstructured.NestedInt64(u.Object, "spec", "replicas")
	if err != nil {
		return false, err
	}
	if !found {
		want = 1
	}
	ready := num("status", "observedGeneration") >= u.GetGeneration() &&
		num("status", "readyReplicas") == want && num("status", "updatedReplicas") == want
	if kind == "Deployment" {
		return ready && num("status", "availableReplicas") == want && num("status", "replicas") == want, nil
	}
	cur, _, _ := unstructured.NestedString(u.Object, "status", "currentRevision")
	upd, _, _ := unstructured.NestedString(u.Object, "status", "updateRevision")
	return ready && cur == upd, nil
}

// WaitReady waits until every Deployment and StatefulSet among objs is
// ready; on timeout it says which are not, with their diagnostics.
func (c *Client) WaitReady(ctx context.Context, objs []*unstructured.Unstructured) error {
	for _, o := range objs {
		kind := o.GetKind()
		if kind != "Deployment" && kind != "StatefulSet" {
			continue
		}
		var last *unstructured.Unstructured
		err := c.waitFor(ctx, kind, o.GetNamespace(), o.GetName(), func(u *unstructured.Unstructured) (bool, error) {
			u.SetKind(kind)
			last = u
			return Ready(u)
		})
		if err != nil {
			msg := fmt.Sprintf("%s %s/%s did not become ready: %v", kind, o.GetNamespace(), o.GetName(), err)
			if last != nil {
				msg += "\n" + describeWorkload(last)
			}
			sel, _, _ := unstructured.NestedStringMap(o.Object, "spec", "selector", "matchLabels")
			return c.withDiagnostics(errors.New(msg), o.GetNamespace(), labels.SelectorFromSet(sel).String())
		}
	}
	return nil
}

func describeWorkload(u *unstructured.Unstructured) string {
	var b strings.Builder
	replicas, _, _ := unstructured.NestedInt64(u.Object, "spec", "replicas")
	ready, _, _ := unstructured.NestedInt64(u.Object, "status", "readyReplicas")
	updated, _, _ := unstructured.NestedInt64(u.Object, "status", "updatedReplicas")
	fmt.Fprintf(&b, "  replicas: %d wanted, %d updated, %d ready", replicas, updated, ready)
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		fmt.Fprintf(&b, "\n  condition %v=%v: %v %v", m["type"], m["status"], m["reason"], m["message"])
	}
	return b.String()
}

// withDiagnostics adds to err what the cluster says of the Pods matching
// selector: their phase and container states, their events and, where the
// node is a real kubelet, the last lines of their logs.
func (c *Client) withDiagnostics(err error, namespace, selector string) error {
	ctx, cancel := context.WithTimeout(context.Background(), DialTimeout*2)
	defer cancel()
	d := c.Diagnose(ctx, namespace, selector)
	if d == "" {
		return err
	}
	return fmt.Errorf("%w\n%s", err, d)
}

// Diagnose describes the Pods matching a selector.
func (c *Client) Diagnose(ctx context.Context, namespace, selector string) string {
	pods, err := c.Clientset.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil || len(pods.Items) == 0 {
		return ""
	}
	sort.Slice(pods.Items, func(i, j int) bool {
		return pods.Items[j].CreationTimestamp.Before(&pods.Items[i].CreationTimestamp)
	})
	var b strings.Builder
	for i := range pods.Items {
		if i == 3 {
			fmt.Fprintf(&b, "... and %d more Pods\n", len(pods.Items)-3)
			break
		}
		p := &pods.Items[i]
		fmt.Fprintf(&b, "Pod %s: phase %s", p.Name, p.Status.Phase)
		if p.Status.Reason != "" || p.Status.Message != "" {
			fmt.Fprintf(&b, " (%s %s)", p.Status.Reason, p.Status.Message)
		}
		b.WriteString("\n")
		for _, cs := range append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
			switch {
			case cs.State.Terminated != nil:
				t := cs.State.Terminated
				fmt.Fprintf(&b, "  container %s: terminated, exit code %d, %s %s\n", cs.Name, t.ExitCode, t.Reason, t.Message)
			case cs.State.Waiting != nil:
				fmt.Fprintf(&b, "  container %s: waiting, %s %s\n", cs.Name, cs.State.Waiting.Reason, cs.State.Waiting.Message)
			}
		}
		events, err := c.Clientset.CoreV1().Events(namespace).List(ctx, metav1.ListOptions{
			FieldSelector: fields.AndSelectors(fields.OneTermEqualSelector("involvedObject.name", p.Name),
				fields.OneTermEqualSelector("involvedObject.kind", "Pod")).String(),
		})
		if err == nil {
			for _, e := range lastEvents(events.Items, 5) {
				fmt.Fprintf(&b, "  event %s %s: %s\n", e.Type, e.Reason, e.Message)
			}
		}
		if logs := c.lastLogLines(ctx, p, 20); logs != "" {
			fmt.Fprintf(&b, "  last log lines:\n%s\n", indent(logs, "    "))
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

func lastEvents(events []corev1.Event, n int) []corev1.Event {
	sort.Slice(events, func(i, j int) bool { return events[i].LastTimestamp.Before(&events[j].LastTimestamp) })
	if len(events) > n {
		events = events[len(events)-n:]
	}
	return events
}

// lastLogLines reads the tail of a Pod's first container log through the
// API server. Simulated (kwok) nodes have no kubelet to serve logs, so they
// are not asked.
func (c *Client) lastLogLines(ctx context.Context, p *corev1.Pod, n int64) string {
	if p.Spec.NodeName == "" || len(p.Spec.Containers) == 0 {
		return ""
	}
	node, err := c.Clientset.CoreV1().Nodes().Get(ctx, p.Spec.NodeName, metav1.GetOptions{})
	if err != nil || node.Annotations["kwok.x-k8s.io/node"] == "fake" {
		return ""
	}
	raw, err := c.Clientset.CoreV1().Pods(p.Namespace).GetLogs(p.Name, &corev1.PodLogOptions{
		Container: p.Spec.Containers[0].Name, TailLines: &n,
	}).DoRaw(ctx)
	if err != nil {
		return ""
	}
	return strings.TrimRight(string(raw), "\n")
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}

// WaitGone waits until no object of the given kinds matches selector.
func (c *Client) WaitGone(ctx context.Context, namespace, selector string, kinds []string) error {
	for _, kind := range kinds {
		ri, err := c.resource(kind, namespace)
		if err != nil {
			return err
		}
		lw := listWatch(ri, "", selector)
		list, err := ri.List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return c.Explain(err, "listing "+kind+"s", namespace)
		}
		if len(list.Items) == 0 {
			continue
		}
		// What is left is the watch's own view: its store once synced, then
		// every event after (an object gone before the sync never sends one).
		left := map[string]bool{}
		_, err = watchtools.UntilWithSync(ctx, lw, &unstructured.Unstructured{}, func(store cache.Store) (bool, error) {
			for _, key := range store.ListKeys() {
				left[key] = true
			}
			return len(left) == 0, nil
		}, func(ev watch.Event) (bool, error) {
			u, ok := ev.Object.(*unstructured.Unstructured)
			if !ok {
				return false, nil
			}
			key := u.GetNamespace() + "/" + u.GetName()
			if ev.Type == watch.Deleted {
				delete(left, key)
			} else {
				left[key] = true
			}
			return len(left) == 0, nil
		})
		if err != nil {
			names := make([]string, 0, len(left))
			for key := range left {
				names = append(names, key[strings.Index(key, "/")+1:])
			}
			sort.Strings(names)
			return fmt.Errorf("%ss %s in namespace %s are still there: %w", kind, strings.Join(names, ", "), namespace, err)
		}
	}
	return nil
}

// WaitDeleted waits until one object is gone.
func (c *Client) WaitDeleted(ctx context.Context, kind, namespace, name string) error {
	ri, err := c.resource(kind, namespace)
	if err != nil {
		return err
	}
	lw := listWatch(ri, fields.OneTermEqualSelector("metadata.name", name).String(), "")
	_, err = watchtools.UntilWithSync(ctx, lw, &unstructured.Unstructured{}, func(store cache.Store) (bool, error) {
		return len(store.List()) == 0, nil
	}, func(ev watch.Event) (bool, error) {
		return ev.Type == watch.Deleted, nil
	})
	if err != nil {
		return fmt.Errorf("%s %s/%s is still there: %w", kind, namespace, name, err)
	}
	return nil
}

// listWatch lists and watches the objects matching a field and a label selector.
func listWatch(ri dynamic.ResourceInterface, fieldSelector, labelSelector string) *cache.ListWatch {
	return &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector, o.LabelSelector = fieldSelector, labelSelector
			return ri.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector, o.LabelSelector = fieldSelector, labelSelector
			return ri.Watch(ctx, o)
		},
	}
}
