package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
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

// metricsModel is Mastodon's Prometheus exporter.
type metricsModel struct {
	Enabled              types.Bool `tfsdk:"enabled"`
	WebDetailed          types.Bool `tfsdk:"web_detailed"`
	SidekiqDetailed      types.Bool `tfsdk:"sidekiq_detailed"`
	ServiceMonitor       types.Bool `tfsdk:"service_monitor"`
	ServiceMonitorLabels types.Map  `tfsdk:"service_monitor_labels"`
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

func metricsAttribute() schema.SingleNestedAttribute {
	return schema.SingleNestedAttribute{Optional: true,
		Description: "Mastodon's Prometheus metrics (Mastodon 4.4 or later: earlier versions have no exporter, refused at plan). Sidekiq runs Mastodon's " +
			"exporter in its process (`MASTODON_PROMETHEUS_EXPORTER_LOCAL`). Web (clustered Puma, where that local mode loses what the workers record) " +
			"sends its metrics (`PROMETHEUS_EXPORTER_HOST` = 127.0.0.1) to Mastodon's exporter process, `bin/prometheus_exporter`, in a container " +
			"`metrics` of each web Pod (Mastodon's image; no readiness probe, so it never takes web out of service; never in Jobs). Both serve port " +
			"9394 (`metrics` on their containers, the web Service and a headless Service `<name>-sidekiq`); the streaming server serves its own on its port, 4000. " +
			"Their Pods carry `prometheus.io/scrape`, `prometheus.io/port` and `prometheus.io/path` annotations, and a ServiceMonitor is applied where the cluster " +
			"serves the Prometheus Operator's kind. Switching metrics on or off restarts web, streaming and Sidekiq.",
		Attributes: map[string]schema.Attribute{
			"enabled":          schema.BoolAttribute{Required: true, Description: "Serve the metrics."},
			"web_detailed":     optBool("Per controller and action request metrics of web (`MASTODON_PROMETHEUS_EXPORTER_WEB_DETAILED_METRICS`): more series, some overhead."),
			"sidekiq_detailed": optBool("Per job and per queue metrics of Sidekiq (`MASTODON_PROMETHEUS_EXPORTER_SIDEKIQ_DETAILED_METRICS`): more series, some overhead."),
			"service_monitor": optBool("Render a ServiceMonitor (`monitoring.coreos.com/v1`) selecting web, streaming and Sidekiq, default true. " +
				"It is applied only where the cluster serves ServiceMonitors (the Prometheus Operator's CRD is installed), and skipped without error elsewhere."),
			"service_monitor_labels": schema.MapAttribute{Optional: true, ElementType: types.StringType,
				Description: "Labels added to the ServiceMonitor, for a Prometheus that selects ServiceMonitors by label (kube-prometheus-stack: `release = <its release name>`)."},
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

func (m *metricsModel) metrics(ctx context.Context, diags *diag.Diagnostics) *mastodon.Metrics {
	if m == nil || !m.Enabled.ValueBool() {
		return nil
	}
	out := &mastodon.Metrics{WebDetailed: m.WebDetailed.ValueBool(), SidekiqDetailed: m.SidekiqDetailed.ValueBool(),
		ServiceMonitor: m.ServiceMonitor.IsNull() || m.ServiceMonitor.ValueBool()}
	diags.Append(m.ServiceMonitorLabels.ElementsAs(ctx, &out.ServiceMonitorLabels, false)...)
	return out
}
