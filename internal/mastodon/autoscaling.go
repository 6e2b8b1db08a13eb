package mastodon

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

// Autoscaling is a HorizontalPodAutoscaler (autoscaling/v2) for one
// Deployment. While it is on, the Deployment's replicas are the
// autoscaler's: the Deployment is rendered without them (ScaledElsewhere).
type Autoscaling struct {
	MinReplicas int32
	MaxReplicas int32
	// TargetCPU and TargetMemory are the average utilization, in percent of
	// the container's request, that the autoscaler keeps; 0 for none.
	TargetCPU    int32
	TargetMemory int32
}

// autoscalingFeature scales web, streaming and Sidekiq processes
// (Spec.WebAutoscaling, Spec.StreamAutoscaling, SidekiqProcess.Autoscaling).
type autoscalingFeature struct{ noFeature }

func (autoscalingFeature) defaults(s *Spec) { s.autoscaled() }

func (autoscalingFeature) validate(s *Spec, e *fieldErrors) {
	s.WebAutoscaling.validate("web", e)
	s.StreamAutoscaling.validate("streaming", e)
	for i, p := range s.Sidekiq {
		p.Autoscaling.validate(fmt.Sprintf("sidekiq[%d]", i), e)
	}
}

// warnings are about the Ruby processes, web and Sidekiq.
func (autoscalingFeature) warnings(s *Spec) []FieldError {
	var out fieldErrors
	rwo := s.MediaBucket == nil && s.Media.AccessMode != string(corev1.ReadWriteMany)
	ruby := func(block string, a *Autoscaling) {
		if a == nil {
			return
		}
		if rwo {
			out.add(block+".autoscaling", "the media volume is %s: every Pod that mounts it runs on the node that holds it, so the autoscaler adds "+
				"Pods to that one node, and those it cannot hold stay Pending. Use media.access_mode = \"ReadWriteMany\" or media_bucket to scale across nodes",
				s.Media.AccessMode)
			out.related("media.access_mode", "media_bucket")
		}
		if a.TargetMemory > 0 && a.TargetCPU == 0 {
			out.add(block+".autoscaling.target_memory_utilization", "a Ruby process seldom returns memory it has used to the system, so its memory "+
				"utilization stays high after a peak and the autoscaler rarely scales down: add target_cpu_utilization")
			out.related(block + ".autoscaling.target_cpu_utilization")
		}
	}
	ruby("web", s.WebAutoscaling)
	for i, p := range s.Sidekiq {
		ruby(fmt.Sprintf("sidekiq[%d]", i), p.Autoscaling)
	}
	return out
}

// workload marks a Deployment with its autoscaler's bounds.
func (autoscalingFeature) workload(_ *Spec, w workload) { autoscaledBy(w.deployment, w.autoscaling) }

// objects are the autoscalers, after the Deployments they scale.
func (autoscalingFeature) objects(s *Spec, at stage) []Object {
	if at != afterDeployments {
		return nil
	}
	return s.renderAutoscalers()
}

// validate checks an autoscaler's bounds and targets.
func (a *Autoscaling) validate(block string, e *fieldErrors) {
	if a == nil {
		return
	}
	add, path := e.add, block+".autoscaling"
	if a.MinReplicas < 1 {
		add(path+".min_replicas", "must be at least 1 (got %d): an autoscaler never scales to zero", a.MinReplicas)
	}
	if a.MaxReplicas < a.MinReplicas {
		add(path+".max_replicas", "must be at least min_replicas (%d), got %d", a.MinReplicas, a.MaxReplicas)
		e.related(path + ".min_replicas")
	}
	if a.TargetCPU == 0 && a.TargetMemory == 0 {
		add(path, "needs target_cpu_utilization or target_memory_utilization (or both): the autoscaler has nothing to measure")
		e.related(path+".target_cpu_utilization", path+".target_memory_utilization")
	}
	// Every container has a request of each kind (Resources.withDefault,
	// or Kubernetes' own from a limit), so a utilization target always
	// has a base.
	for _, t := range []struct {
		name   string
		target int32
	}{{"target_cpu_utilization", a.TargetCPU}, {"target_memory_utilization", a.TargetMemory}} {
		if t.target < 0 {
			add(path+"."+t.name, "must be a positive percentage (got %d)", t.target)
		}
	}
}

// AnnotationReplicaBounds on an autoscaled Deployment gives its
// autoscaler's bounds, "min-max": the apply that hands the replicas over
// keeps them within (a new Deployment starts at min, not at one Pod).
const AnnotationReplicaBounds = "mastodon.tootform.dev/replica-bounds"

// autoscaledBy marks a Deployment with its autoscaler's bounds.
func autoscaledBy(d *appsv1.Deployment, a *Autoscaling) {
	if a == nil {
		return
	}
	if d.Annotations == nil {
		d.Annotations = map[string]string{}
	}
	d.Annotations[AnnotationReplicaBounds] = fmt.Sprintf("%d-%d", a.MinReplicas, a.MaxReplicas)
}

// floor is the fewest Pods a component runs: its replicas, or its
// autoscaler's minimum. A PodDisruptionBudget is rendered from two on.
func floor(replicas int32, a *Autoscaling) int32 {
	if a != nil {
		return a.MinReplicas
	}
	return replicas
}

// horizontalPodAutoscaler scales a Deployment on the utilization of one of
// its containers. It measures that container only (ContainerResource), so
// a sidecar (the Cloud SQL Auth Proxy, a mesh's proxy), with or without
// requests, neither blocks nor skews it.
func (s *Spec) horizontalPodAutoscaler(deployment, component, container string, a *Autoscaling) *autoscalingv2.HorizontalPodAutoscaler {
	var metrics []autoscalingv2.MetricSpec
	target := func(name corev1.ResourceName, percent int32) {
		if percent == 0 {
			return
		}
		metrics = append(metrics, autoscalingv2.MetricSpec{
			Type: autoscalingv2.ContainerResourceMetricSourceType,
			ContainerResource: &autoscalingv2.ContainerResourceMetricSource{
				Name:      name,
				Container: container,
				Target:    autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To(percent)},
			},
		})
	}
	target(corev1.ResourceCPU, a.TargetCPU)
	target(corev1.ResourceMemory, a.TargetMemory)
	return &autoscalingv2.HorizontalPodAutoscaler{
		TypeMeta:   typeMeta("autoscaling/v2", "HorizontalPodAutoscaler"),
		ObjectMeta: s.meta(deployment, component),
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: deployment},
			MinReplicas:    ptr.To(a.MinReplicas),
			MaxReplicas:    a.MaxReplicas,
			Metrics:        metrics,
		},
	}
}

// podInputs is what a Sidekiq process's Pods read, for their checksum: not
// their number (only whether it is zero, as for web), which an autoscaler
// or a change of replicas sets without restarting any Pod.
func (p SidekiqProcess) podInputs() SidekiqProcess {
	p.Autoscaling = nil
	// Its Pod settings are in the Pod template itself (and its
	// Deployment's annotations are not).
	p.Pod = PodSettings{}
	if p.Replicas != 0 {
		p.Replicas = 1
	}
	return p
}

// renderAutoscalers are the autoscalers of web, streaming and the Sidekiq
// processes that have one.
func (s *Spec) renderAutoscalers() []Object {
	var out []Object
	add := func(deployment, component, container string, a *Autoscaling) {
		if a != nil {
			out = append(out, NewObject(s.horizontalPodAutoscaler(deployment, component, container, a)))
		}
	}
	add(s.WebName(), ComponentWeb, "web", s.WebAutoscaling)
	add(s.StreamingName(), ComponentStreaming, "streaming", s.StreamAutoscaling)
	for _, p := range s.Sidekiq {
		add(s.SidekiqName(p.Name), ComponentSidekiq, "sidekiq", p.Autoscaling)
	}
	return out
}

// autoscaled leaves the replicas of what autoscales to its autoscaler.
func (s *Spec) autoscaled() {
	if s.WebAutoscaling != nil {
		s.WebReplicas = ScaledElsewhere
	}
	if s.StreamAutoscaling != nil {
		s.StreamReplicas = ScaledElsewhere
	}
	for i := range s.Sidekiq {
		if s.Sidekiq[i].Autoscaling != nil {
			s.Sidekiq[i].Replicas = ScaledElsewhere
		}
	}
}
