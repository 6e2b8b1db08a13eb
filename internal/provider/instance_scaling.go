package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

// autoscalingModel is a component's HorizontalPodAutoscaler.
type autoscalingModel struct {
	MinReplicas  types.Int64 `tfsdk:"min_replicas"`
	MaxReplicas  types.Int64 `tfsdk:"max_replicas"`
	TargetCPU    types.Int64 `tfsdk:"target_cpu_utilization"`
	TargetMemory types.Int64 `tfsdk:"target_memory_utilization"`
}

func autoscalingAttribute(what, requests string) schema.SingleNestedAttribute {
	atLeast1 := []validator.Int64{int64validator.AtLeast(1)}
	return schema.SingleNestedAttribute{Optional: true,
		Description: "Scale " + what + " with a HorizontalPodAutoscaler (autoscaling/v2) on the utilization of its Mastodon container " +
			"(sidecars are not measured). While it is set the number of Pods is the autoscaler's: the Deployment is applied without replicas, " +
			"a change of them is not drift, switching it on keeps the current number of Pods (within the bounds) and a new Deployment starts at `min_replicas`. A PodDisruptionBudget is rendered when " +
			"`min_replicas` is 2 or more. Conflicts with `replicas` and `external_scaling`. A utilization target needs the matching request in " +
			requests + ". Needs a metrics server in the cluster (GKE has one). The plan warns when web or Sidekiq autoscales against a " +
			"ReadWriteOnce media volume (every Pod runs on the volume's node) and when a Ruby process has a memory target alone " +
			"(it seldom scales down). The embedded PostgreSQL's `max_connections` follows `max_replicas` (see `database.max_connections`).",
		Attributes: map[string]schema.Attribute{
			"min_replicas": schema.Int64Attribute{Optional: true, Validators: atLeast1, Description: "The fewest Pods, default 1."},
			"max_replicas": schema.Int64Attribute{Required: true, Validators: atLeast1, Description: "The most Pods, at least `min_replicas`."},
			"target_cpu_utilization": schema.Int64Attribute{Optional: true, Validators: atLeast1,
				Description: "Average CPU use to keep, in percent of the CPU request (`resources.cpu_request`, required with it)."},
			"target_memory_utilization": schema.Int64Attribute{Optional: true, Validators: atLeast1,
				Description: "Average memory use to keep, in percent of the memory request (`resources.memory_request`, required with it). " +
					"Ruby processes seldom give memory back, so memory alone scales up more readily than down (web and Sidekiq: the plan warns); prefer CPU."},
		},
	}
}

func (a *autoscalingModel) autoscaling() *mastodon.Autoscaling {
	if a == nil {
		return nil
	}
	return &mastodon.Autoscaling{MinReplicas: int32Or(a.MinReplicas, 1), MaxReplicas: int32Or(a.MaxReplicas, 0),
		TargetCPU: int32Or(a.TargetCPU, 0), TargetMemory: int32Or(a.TargetMemory, 0)}
}

// scalingAttributes are how many Pods web, streaming and each Sidekiq
// process run: replicas, external_scaling and autoscaling.
func scalingAttributes(block string, _ nested) map[string]schema.Attribute {
	autoscaling, ok := map[string]schema.SingleNestedAttribute{
		"web":       autoscalingAttribute("web", "`web.resources`"),
		"streaming": autoscalingAttribute("streaming", "`streaming.resources`"),
		"sidekiq":   autoscalingAttribute("the process", "its `resources`; a process serving `scheduler` cannot autoscale"),
	}[block]
	if !ok {
		return nil
	}
	return map[string]schema.Attribute{
		"replicas": checkReplicas.on(optInt("Number of Pods, default 1.")),
		"external_scaling": optBool("Another controller (an autoscaler you run, KEDA, ...) sets the number of Pods: the provider neither sets " +
			"`replicas` nor reports a change of them as drift. Conflicts with `replicas`."),
		"autoscaling": autoscaling,
	}
}

// scalingSpec puts the number of Pods and the autoscaler of web, streaming
// and each Sidekiq process (made before) into the spec.
func scalingSpec(_ context.Context, m *instanceModel, s *mastodon.Spec, diags *diag.Diagnostics) {
	s.WebReplicas, s.StreamReplicas = 1, 1
	if w := m.Web; w != nil {
		s.WebReplicas, s.WebAutoscaling = scaling(w.Replicas, w.ExternalScaling, w.Autoscaling, path.Root("web"), diags)
	}
	if st := m.Streaming; st != nil {
		s.StreamReplicas, s.StreamAutoscaling = scaling(st.Replicas, st.ExternalScaling, st.Autoscaling, path.Root("streaming"), diags)
	}
	for i, p := range m.Sidekiq {
		s.Sidekiq[i].Replicas, s.Sidekiq[i].Autoscaling = scaling(p.Replicas, p.ExternalScaling, p.Autoscaling, path.Root("sidekiq").AtListIndex(i), diags)
	}
}

// scaling is a component's number of Pods (default 1), or
// mastodon.ScaledElsewhere when another controller sets it: its autoscaler,
// or one of the user's (external_scaling); and its autoscaler. replicas
// conflicts with them only when known (an unknown one may end up null,
// `replicas = var.autoscale ? null : 2`, as the plan sees it).
func scaling(n types.Int64, external types.Bool, a *autoscalingModel, block path.Path, diags *diag.Diagnostics) (int32, *mastodon.Autoscaling) {
	replicas := !n.IsNull() && !n.IsUnknown()
	if autoscaling := a.autoscaling(); autoscaling != nil {
		for _, other := range []struct {
			name string
			set  bool
		}{{"replicas", replicas}, {"external_scaling", external.ValueBool()}} {
			if other.set {
				diags.AddAttributeError(block.AtName("autoscaling"), "Conflicting settings",
					block.String()+".autoscaling conflicts with "+block.String()+"."+other.name+": its HorizontalPodAutoscaler sets the number of Pods; remove "+
						block.String()+"."+other.name+".")
			}
		}
		return mastodon.ScaledElsewhere, autoscaling
	}
	if !external.ValueBool() {
		return int32Or(n, 1), nil
	}
	if replicas {
		diags.AddAttributeError(block.AtName("external_scaling"), "Conflicting settings",
			block.String()+".external_scaling leaves the number of Pods to another controller: remove "+block.String()+".replicas.")
	}
	return mastodon.ScaledElsewhere, nil
}
