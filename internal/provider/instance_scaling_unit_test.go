package provider

import (
	"context"
	"slices"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/tootform/terraform-provider-mastodon/internal/kube"
	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

// What autoscaling and metrics cost a refresh: one list request each for
// the fleet (HorizontalPodAutoscalers; ServiceMonitors, whose Services are
// listed anyway), only for the configurations that use them, plus one
// discovery request per process, only where ServiceMonitors are not served.
func TestRefreshCostOfScalingAndMetrics(t *testing.T) {
	base := refreshedKinds(benchSpec().Render(mastodon.Secrets{}, ""))
	for name, tc := range map[string]struct {
		change func(*mastodon.Spec)
		extra  []string
	}{
		"autoscaling": {func(s *mastodon.Spec) {
			s.WebResources.CPURequest = "500m"
			s.WebAutoscaling = &mastodon.Autoscaling{MinReplicas: 2, MaxReplicas: 5, TargetCPU: 70}
			s.Sidekiq[0].Autoscaling = &mastodon.Autoscaling{MinReplicas: 1, MaxReplicas: 5, TargetCPU: 70}
		}, []string{"HorizontalPodAutoscaler"}},
		"metrics": {func(s *mastodon.Spec) {
			s.Metrics = &mastodon.Metrics{ServiceMonitor: true}
		}, []string{"ServiceMonitor"}},
		"metrics without ServiceMonitor": {func(s *mastodon.Spec) {
			s.Metrics = &mastodon.Metrics{}
		}, nil},
	} {
		s := benchSpec()
		tc.change(s)
		s.Defaults()
		got := refreshedKinds(s.Render(mastodon.Secrets{}, ""))
		var added []string
		for _, k := range got {
			if !slices.Contains(base, k) {
				added = append(added, k)
			}
		}
		if !slices.Equal(added, tc.extra) {
			t.Errorf("%s: a refresh lists %v more kinds, want %v", name, added, tc.extra)
		}
		if len(got) > 10 {
			t.Errorf("%s: a refresh lists %d kinds: %v", name, len(got), got)
		}
	}
}

// An autoscaler switched off is deleted before its Deployment gets replicas
// again (it could scale it meanwhile); otherwise the apply is as ever.
func TestAutoscalerSwitchedOffGoesFirst(t *testing.T) {
	autoscaled := model("v4.7.2", nil)
	autoscaled.Web = &webModel{Resources: &resourcesModel{CPURequest: types.StringValue("500m")},
		Autoscaling: &autoscalingModel{MaxReplicas: types.Int64Value(4), TargetCPU: types.Int64Value(70)}}
	for name, tc := range map[string]struct {
		prior, plan *instanceModel
		steps       []string
	}{
		"switched off": {autoscaled, model("v4.7.2", nil), []string{"create Namespace", "apply ConfigMap", "prune", "apply Deployment", "prune"}},
		"switched on":  {model("v4.7.2", nil), autoscaled, []string{"create Namespace", "apply ConfigMap", "apply Deployment", "prune"}},
		"kept":         {autoscaled, autoscaled, []string{"create Namespace", "apply ConfigMap", "apply Deployment", "prune"}},
	} {
		ctx := context.Background()
		f := &fakeCluster{}
		spec, d := tc.plan.spec(ctx)
		if d.HasError() {
			t.Fatal(d)
		}
		if _, failed := newInstanceApply(f, spec, mastodon.Secrets{}, "", tc.prior, tc.plan, func(string) {}).run(ctx); failed != nil {
			t.Fatal(failed.detail)
		}
		if !slices.Equal(f.did, tc.steps) {
			t.Errorf("%s: did %q, want %q", name, f.did, tc.steps)
		}
	}
}

// The renderer marks an autoscaled Deployment with the annotation the
// apply reads.
func TestReplicaBoundsAnnotation(t *testing.T) {
	if mastodon.AnnotationReplicaBounds != kube.AnnotationReplicaBounds {
		t.Fatalf("%s != %s", mastodon.AnnotationReplicaBounds, kube.AnnotationReplicaBounds)
	}
}
