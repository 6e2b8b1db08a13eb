package main

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/tootform/terraform-provider-mastodon/internal/kube"
	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

// fleetSpec is one instance of fleetConfig, as the provider renders it.
func fleetSpec(namespace string) *mastodon.Spec {
	s := &mastodon.Spec{
		Name: "social", Namespace: namespace, LocalDomain: namespace + ".bench.example",
		WebReplicas: 2, StreamReplicas: 1,
		Sidekiq: []mastodon.SidekiqProcess{
			{Name: "default", Replicas: 1, Queues: queues("default", 8, "push", 6, "ingress", 4, "mailers", 2, "pull", 0, "fasp", 0)},
			{Name: "scheduler", Replicas: 1, Queues: queues("scheduler", 0)},
		},
		Ingress: &mastodon.Ingress{ClassName: "nginx", TLSSecretName: "social-tls"},
	}
	s.Defaults()
	return s
}

// queues are name, weight pairs.
func queues(pairs ...any) []mastodon.Queue {
	var out []mastodon.Queue
	for i := 0; i < len(pairs); i += 2 {
		out = append(out, mastodon.Queue{Name: pairs[i].(string), Weight: pairs[i+1].(int)})
	}
	return out
}

// applyFloor is the cluster's own floor for an apply of n instances: the
// objects the provider renders for them (namespace, objects, db-prepare
// Job), all applied server-side at once with no ordering, and waited for
// (workloads ready, Jobs complete). It deletes them afterwards.
func (b *bench) applyFloor(n int) (float64, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", os.Getenv("KUBECONFIG"))
	if err != nil {
		return 0, err
	}
	cfg.QPS, cfg.Burst = kube.DefaultQPS, kube.DefaultBurst // as the provider's
	c, err := kube.NewClientFromREST(cfg)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	var sec mastodon.Secrets
	if err := sec.Fill(true, true); err != nil {
		return 0, err
	}
	type instance struct {
		ns   string
		objs []*unstructured.Unstructured
		job  mastodon.Object
	}
	fleet := make([]instance, n)
	for i := range fleet {
		s := fleetSpec(fmt.Sprintf("floor-%02d", i))
		fleet[i] = instance{ns: s.Namespace, objs: []*unstructured.Unstructured{s.NamespaceObject().Unstructured()}, job: s.PrepareJob()}
		for _, o := range s.Render(sec, "") {
			fleet[i].objs = append(fleet[i].objs, o.Unstructured())
		}
		fleet[i].objs = append(fleet[i].objs, fleet[i].job.Unstructured())
	}
	start := time.Now()
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, in := range fleet {
		wg.Go(func() {
			if errs[i] = c.Apply(ctx, in.objs[:1]); errs[i] != nil {
				return
			}
			// Everything of the namespace at once.
			applied := make([]error, len(in.objs)-1)
			var each sync.WaitGroup
			for j, o := range in.objs[1:] {
				each.Go(func() { applied[j] = c.ApplyOne(ctx, o) })
			}
			each.Wait()
			for _, err := range applied {
				if err != nil {
					errs[i] = err
					return
				}
			}
			if errs[i] = c.WaitJob(ctx, in.ns, in.job.Name); errs[i] == nil {
				errs[i] = c.WaitReady(ctx, in.objs)
			}
		})
	}
	wg.Wait()
	floor := time.Since(start).Seconds()
	for _, in := range fleet {
		_ = c.Delete(ctx, "Namespace", "", in.ns)
	}
	for _, in := range fleet {
		_ = c.WaitDeleted(ctx, "Namespace", "", in.ns)
	}
	for _, err := range errs {
		if err != nil {
			return 0, fmt.Errorf("the apply floor: %w", err)
		}
	}
	return round(floor), nil
}
