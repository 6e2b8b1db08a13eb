package kube

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
)

// ErrJobFailed marks a Job that failed (as opposed to one still running
// when the time ran out).
var ErrJobFailed = errors.New("job failed")

// waitFor follows one object until done says so, done fails, check (run
// every CheckInterval, may be nil) finds the wait cannot succeed, or ctx
// ends. It lists first, so an object already done returns at once.
func (c *Client) waitFor(ctx context.Context, kind, namespace, name string, done func(*unstructured.Unstructured) (bool, error), check func(context.Context) error) error {
	ri, err := c.resource(kind, namespace)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if check != nil {
		go watchdog(ctx, cancel, check)
	}
	seen := false
	opts := metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", name).String()}
	err = c.follow(ctx, ri, kind+" "+name, namespace, opts, func(items []unstructured.Unstructured) (bool, error) {
		if len(items) == 0 {
			return false, nil
		}
		seen = true
		return done(&items[0])
	}, func(ev watch.Event) (bool, error) {
		if ev.Type == watch.Deleted {
			return false, fmt.Errorf("%s %s/%s was deleted while waiting for it", kind, namespace, name)
		}
		o, ok := ev.Object.(*unstructured.Unstructured)
		if !ok {
			return false, nil
		}
		seen = true
		return done(o)
	})
	if cause, ok := asFailFast(context.Cause(ctx)); ok {
		return cause
	}
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	if err != nil && !seen && ctx.Err() != nil {
		return fmt.Errorf("%s %s/%s did not appear: %w", kind, namespace, name, err)
	}
	return err
}

// WaitJob waits until a Job completes. A failed Job returns an error
// wrapping ErrJobFailed with its diagnostics; so does a Job whose Pods
// cannot run or that nothing completes (see FailFastAfter); a Job still
// running at the deadline returns the deadline error with its diagnostics.
func (c *Client) WaitJob(ctx context.Context, namespace, name string) error {
	selector := labels.SelectorFromSet(labels.Set{"job-name": name}).String()
	stuck := persistent{}
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
	}, func(ctx context.Context) error {
		err := c.podTrouble(ctx, namespace, selector, stuck, "the Job's Pods")
		if err != nil {
			return fmt.Errorf("%w: Job %s/%s cannot complete: %w", ErrJobFailed, namespace, name, err)
		}
		return nil
	})
	if err == nil {
		return nil
	}
	if !errors.Is(err, ErrJobFailed) {
		err = fmt.Errorf("job %s/%s did not complete: %w", namespace, name, err)
	}
	return c.withDiagnostics(err, namespace, selector)
}

// badWaiting are the reasons a container waits that do not resolve by
// themselves: an image that cannot be pulled, a configuration it lacks, a
// process that keeps crashing.
var badWaiting = map[string]bool{
	"ErrImagePull": true, "ImagePullBackOff": true, "InvalidImageName": true, "CrashLoopBackOff": true,
	"CreateContainerConfigError": true, "CreateContainerError": true, "RunContainerError": true,
}

// podTrouble says why the Pods matching selector will not get anywhere,
// once that has lasted FailFastAfter: a container waiting for a reason
// that does not resolve itself, a Pod that succeeded while its Job is not
// marked complete, or no Pod at all (the controllers that make and track
// them are not running). stuck remembers since when.
func (c *Client) podTrouble(ctx context.Context, namespace, selector string, stuck persistent, what string) error {
	pods, err := c.Clientset.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		if permanent(err) {
			return c.Explain(err, "listing "+what, namespace)
		}
		return nil // the API server did not answer: the wait itself rides that out
	}
	now := time.Now()
	seen := map[string]bool{}
	if len(pods.Items) == 0 {
		seen["none"] = true
		if stuck.lasting("none", now) {
			return fmt.Errorf("no Pod was created for %s: is kube-controller-manager running?", FailFastAfter)
		}
	}
	for _, p := range pods.Items {
		if p.Status.Phase == corev1.PodSucceeded && p.Labels["job-name"] != "" {
			key := "succeeded/" + p.Name
			seen[key] = true
			if stuck.lasting(key, now) {
				return fmt.Errorf("pod %s succeeded %s ago, but the Job is not marked complete: is kube-controller-manager (its Job controller) running?", p.Name, FailFastAfter)
			}
		}
		for _, cs := range append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
			if w := cs.State.Waiting; w != nil && badWaiting[w.Reason] {
				key := p.Name + "/" + cs.Name + "/" + w.Reason
				seen[key] = true
				if stuck.lasting(key, now) {
					return fmt.Errorf("pod %s: container %s has been in %s for %s: %s", p.Name, cs.Name, w.Reason, FailFastAfter, w.Message)
				}
			}
		}
	}
	stuck.keep(seen)
	return nil
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

// JobExitCodes are the exit codes of the container named container in the
// Job's Pods that terminated.
func (c *Client) JobExitCodes(ctx context.Context, namespace, job, container string) ([]int32, error) {
	pods, err := c.Clientset.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(labels.Set{"job-name": job}).String()})
	if err != nil {
		return nil, c.Explain(err, "listing the Pods of Job "+job, namespace)
	}
	var codes []int32
	for _, p := range pods.Items {
		for _, cs := range p.Status.ContainerStatuses {
			if cs.Name == container && cs.State.Terminated != nil {
				codes = append(codes, cs.State.Terminated.ExitCode)
			}
		}
	}
	return codes, nil
}

// RunJobOnce runs a Job to completion once: a Job of that name already
// complete is not run again, a failed one is deleted (and waited for) and
// replaced by a fresh one.
func (c *Client) RunJobOnce(ctx context.Context, job *unstructured.Unstructured) error {
	complete, err := c.StartJobOnce(ctx, job)
	if err != nil || complete {
		return err
	}
	return c.WaitJob(ctx, job.GetNamespace(), job.GetName())
}

// StartJobOnce starts a Job unless one of that name exists: a failed one
// is deleted (and waited for) and replaced by a fresh one. It says whether
// the Job is complete already, and does not wait for it.
func (c *Client) StartJobOnce(ctx context.Context, job *unstructured.Unstructured) (complete bool, err error) {
	ns, name := job.GetNamespace(), job.GetName()
	exists, complete, failed, err := c.JobState(ctx, ns, name)
	switch {
	case err != nil:
		return false, err
	case complete:
		return true, nil
	case failed:
		if err := c.Delete(ctx, "Job", ns, name); err != nil {
			return false, err
		}
		if err := c.WaitDeleted(ctx, "Job", ns, name); err != nil {
			return false, err
		}
		// Its Pods, so that the new Job's diagnostics are its own.
		if err := c.WaitGone(ctx, ns, "job-name="+name, []string{"Pod"}); err != nil {
			return false, err
		}
		exists = false
	}
	if !exists {
		return false, c.ApplyOne(ctx, job)
	}
	return false, nil
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
	if kind == "CronJob" {
		// A CronJob is ready unless its last Job failed.
		job, _ := CronJobFailure(u)
		return job == "", nil
	}
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
// ready. It fails as soon as that cannot happen (a Deployment past its
// progress deadline, Pods that cannot run, a controller that does not act;
// see FailFastAfter) and, at the deadline, says which are not ready, with
// their diagnostics.
func (c *Client) WaitReady(ctx context.Context, objs []*unstructured.Unstructured) error {
	for _, o := range objs {
		kind := o.GetKind()
		if kind != "Deployment" && kind != "StatefulSet" {
			continue
		}
		ns, name := o.GetNamespace(), o.GetName()
		sel, _, _ := unstructured.NestedStringMap(o.Object, "spec", "selector", "matchLabels")
		selector := labels.SelectorFromSet(sel).String()
		var mu sync.Mutex
		var last *unstructured.Unstructured
		stuck := persistent{}
		err := c.waitFor(ctx, kind, ns, name, func(u *unstructured.Unstructured) (bool, error) {
			u.SetKind(kind)
			mu.Lock()
			last = u
			mu.Unlock()
			if reason := failedCondition(u); reason != "" {
				return false, fmt.Errorf("%s: %s", kind, reason)
			}
			return Ready(u)
		}, func(ctx context.Context) error {
			mu.Lock()
			cur := last
			mu.Unlock()
			if cur != nil && cur.GetGeneration() > 0 {
				observed, _, _ := unstructured.NestedInt64(cur.Object, "status", "observedGeneration")
				if observed < cur.GetGeneration() && stuck.lasting("unobserved", time.Now()) {
					return fmt.Errorf("the %s controller has not acted on generation %d for %s: is kube-controller-manager running?", kind, cur.GetGeneration(), FailFastAfter)
				}
				if observed >= cur.GetGeneration() {
					delete(stuck, "unobserved")
				}
			}
			return c.podTrouble(ctx, ns, selector, stuck, kind+" "+name+"'s Pods")
		})
		if err != nil {
			msg := fmt.Sprintf("%s %s/%s did not become ready: %v", kind, ns, name, err)
			mu.Lock()
			if last != nil {
				msg += "\n" + describeWorkload(last)
			}
			mu.Unlock()
			return c.withDiagnostics(errors.New(msg), ns, selector)
		}
	}
	return nil
}

// failedCondition is the reason a workload's conditions say it will not
// become ready ("" when they do not): a Deployment past its progress
// deadline.
func failedCondition(u *unstructured.Unstructured) string {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == "Progressing" && m["status"] == "False" && m["reason"] == "ProgressDeadlineExceeded" {
			return fmt.Sprintf("progress deadline exceeded: %v", m["message"])
		}
	}
	return ""
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
		if p.Status.Phase == corev1.PodPending {
			b.WriteString(c.describeClaims(ctx, p))
		}
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
// API server, which asks the Pod's node. It needs only the namespaced
// `pods/log` permission; when the cluster cannot give the lines (no such
// permission, a node that serves no logs) it says why in one line.
func (c *Client) lastLogLines(ctx context.Context, p *corev1.Pod, n int64) string {
	if p.Spec.NodeName == "" || len(p.Spec.Containers) == 0 || p.Status.Phase == corev1.PodPending {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	raw, err := c.Clientset.CoreV1().Pods(p.Namespace).GetLogs(p.Name, &corev1.PodLogOptions{
		Container: p.Spec.Containers[0].Name, TailLines: &n,
	}).DoRaw(ctx)
	if err != nil {
		msg := err.Error()
		if apierrors.IsForbidden(err) {
			msg = "the credentials may not read pods/log"
		}
		if len(msg) > 160 {
			msg = msg[:160] + "..."
		}
		return "(log lines unavailable: " + msg + ")"
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
		// What is left is the last list, then every event after it.
		left := map[string]bool{}
		err = c.follow(ctx, ri, kind+"s", namespace, metav1.ListOptions{LabelSelector: selector}, func(items []unstructured.Unstructured) (bool, error) {
			clear(left)
			for _, o := range items {
				left[o.GetName()] = true
			}
			return len(left) == 0, nil
		}, func(ev watch.Event) (bool, error) {
			u, ok := ev.Object.(*unstructured.Unstructured)
			if !ok {
				return false, nil
			}
			if ev.Type == watch.Deleted {
				delete(left, u.GetName())
			} else {
				left[u.GetName()] = true
			}
			return len(left) == 0, nil
		})
		if err == nil && ctx.Err() != nil {
			err = ctx.Err()
		}
		if err != nil {
			names := slices.Sorted(maps.Keys(left))
			if len(names) == 0 {
				return err
			}
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
	opts := metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", name).String()}
	named := func(o *unstructured.Unstructured) bool { return o.GetName() == name }
	err = c.follow(ctx, ri, kind+" "+name, namespace, opts, func(items []unstructured.Unstructured) (bool, error) {
		return !slices.ContainsFunc(items, func(o unstructured.Unstructured) bool { return named(&o) }), nil
	}, func(ev watch.Event) (bool, error) {
		u, ok := ev.Object.(*unstructured.Unstructured)
		return ev.Type == watch.Deleted && (!ok || named(u)), nil
	})
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	if err != nil {
		return fmt.Errorf("%s %s/%s is still there: %w", kind, namespace, name, err)
	}
	return nil
}

// WaitIngressAddress waits until an Ingress reports a load balancer
// address (its controller publishes it after the Ingress exists: seconds to
// minutes on GKE and EKS), and returns it.
func (c *Client) WaitIngressAddress(ctx context.Context, namespace, name string) (ip, hostname string, err error) {
	err = c.waitFor(ctx, "Ingress", namespace, name, func(u *unstructured.Unstructured) (bool, error) {
		ip, hostname = IngressAddress(u)
		return ip != "" || hostname != "", nil
	}, nil)
	return ip, hostname, err
}
