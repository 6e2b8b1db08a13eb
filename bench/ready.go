package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/tootform/terraform-provider-mastodon/internal/kube"
)

// convergence follows one namespace's objects through watches: when the
// first object appeared, and when each workload last became ready.
type convergence struct {
	mu      sync.Mutex
	first   time.Time
	readyAt map[string]time.Time // zero: not ready now
}

func (c *convergence) seen(key string, ready bool) {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.first.IsZero() {
		c.first = now
	}
	switch {
	case !ready:
		c.readyAt[key] = time.Time{}
	case c.readyAt[key].IsZero():
		c.readyAt[key] = now
	}
}

// window is first-seen to last-ready; ok is false while a workload is not
// ready.
func (c *convergence) window() (time.Duration, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var last time.Time
	for _, t := range c.readyAt {
		if t.IsZero() {
			return 0, false
		}
		if t.After(last) {
			last = t
		}
	}
	return last.Sub(c.first), len(c.readyAt) > 0
}

var watched = []schema.GroupVersionResource{
	{Version: "v1", Resource: "namespaces"},
	{Group: "apps", Version: "v1", Resource: "deployments"},
	{Group: "apps", Version: "v1", Resource: "statefulsets"},
	{Group: "batch", Version: "v1", Resource: "jobs"},
}

func objectReady(u *unstructured.Unstructured) bool {
	switch u.GetKind() {
	case "Job":
		conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
		for _, c := range conds {
			if m, ok := c.(map[string]any); ok && m["type"] == "Complete" && m["status"] == "True" {
				return true
			}
		}
		return false
	case "Namespace":
		return true
	}
	ok, _ := kube.Ready(u)
	return ok
}

// timeToReady applies one more instance beside the fleet and compares
// terraform's create of it with the cluster's convergence of its objects.
func (b *bench) timeToReady(row *Row, n int) error {
	prefix := fmt.Sprintf("probe%d", n)
	ns := prefix + "-00"
	dir := filepath.Join(b.work, prefix)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(fleetConfig(prefix, 1)), 0o644); err != nil {
		return err
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", os.Getenv("KUBECONFIG"))
	if err != nil {
		return err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	conv := &convergence{readyAt: map[string]time.Time{}}
	for _, gvr := range watched {
		var w watch.Interface
		if gvr.Resource == "namespaces" {
			w, err = dyn.Resource(gvr).Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=" + ns})
		} else {
			w, err = dyn.Resource(gvr).Namespace(ns).Watch(ctx, metav1.ListOptions{})
		}
		if err != nil {
			return err
		}
		go func() {
			for ev := range w.ResultChan() {
				u, ok := ev.Object.(*unstructured.Unstructured)
				if !ok || ev.Type == watch.Deleted {
					continue
				}
				conv.seen(u.GetKind()+"/"+u.GetName(), objectReady(u))
			}
		}()
	}
	out, err := b.terraform(dir, nil, "apply", "-auto-approve", "-input=false", "-json")
	if err != nil {
		return fmt.Errorf("apply of one instance: %w\n%s", err, tail(out, 40))
	}
	start, end, err := applyTimes(out)
	if err != nil {
		return err
	}
	// The cluster's view arrives through watches: give the last events a moment.
	deadline := time.Now().Add(5 * time.Second)
	var window time.Duration
	for {
		var ok bool
		if window, ok = conv.window(); ok || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	row.TimeToReadySeconds = round(end.Sub(start).Seconds())
	row.ConvergenceSeconds = round(window.Seconds())
	if window > 0 {
		row.TimeToReadyOverheadP = round((end.Sub(start).Seconds()/window.Seconds() - 1) * 100)
	}
	if out, err := b.terraform(dir, nil, "destroy", "-auto-approve", "-input=false"); err != nil {
		return fmt.Errorf("destroy of the probe instance: %w\n%s", err, tail(out, 40))
	}
	return nil
}

// applyTimes reads the create's start and end from `terraform apply -json`.
func applyTimes(out []byte) (start, end time.Time, err error) {
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var msg struct {
			Type      string `json:"type"`
			Timestamp string `json:"@timestamp"`
		}
		if json.Unmarshal(sc.Bytes(), &msg) != nil {
			continue
		}
		t, perr := time.Parse(time.RFC3339Nano, msg.Timestamp)
		if perr != nil {
			continue
		}
		switch msg.Type {
		case "apply_start":
			start = t
		case "apply_complete":
			end = t
		}
	}
	if start.IsZero() || end.IsZero() {
		return start, end, fmt.Errorf("no apply_start/apply_complete in terraform's output:\n%s", tail(out, 20))
	}
	return start, end, nil
}
