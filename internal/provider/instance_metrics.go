package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

// metricsModel is Mastodon's Prometheus exporter.
type metricsModel struct {
	Enabled              types.Bool `tfsdk:"enabled"`
	WebDetailed          types.Bool `tfsdk:"web_detailed"`
	SidekiqDetailed      types.Bool `tfsdk:"sidekiq_detailed"`
	ServiceMonitor       types.Bool `tfsdk:"service_monitor"`
	ServiceMonitorLabels types.Map  `tfsdk:"service_monitor_labels"`
}

func metricsAttributes(in nested) map[string]schema.Attribute {
	return map[string]schema.Attribute{"metrics": optionalBlock(in, "metrics",
		"Mastodon's Prometheus metrics (Mastodon 4.4 or later: earlier versions have no exporter, refused at plan). Sidekiq runs Mastodon's "+
			"exporter in its process (`MASTODON_PROMETHEUS_EXPORTER_LOCAL`). Web (clustered Puma, where that local mode loses what the workers record) "+
			"sends its metrics (`PROMETHEUS_EXPORTER_HOST` = 127.0.0.1) to Mastodon's exporter process, `bin/prometheus_exporter`, in a container "+
			"`metrics` of each web Pod (Mastodon's image; no readiness probe, so it never takes web out of service; never in Jobs). Both serve port "+
			"9394 (`metrics` on their containers, the web Service and a headless Service `<name>-sidekiq`); the streaming server serves its own on its port, 4000. "+
			"Their Pods carry `prometheus.io/scrape`, `prometheus.io/port` and `prometheus.io/path` annotations, and a ServiceMonitor is applied where the cluster "+
			"serves the Prometheus Operator's kind. Switching metrics on or off restarts web, streaming and Sidekiq.",
		map[string]schema.Attribute{
			"enabled":          schema.BoolAttribute{Required: true, Description: "Serve the metrics."},
			"web_detailed":     optBool("Per controller and action request metrics of web (`MASTODON_PROMETHEUS_EXPORTER_WEB_DETAILED_METRICS`): more series, some overhead."),
			"sidekiq_detailed": optBool("Per job and per queue metrics of Sidekiq (`MASTODON_PROMETHEUS_EXPORTER_SIDEKIQ_DETAILED_METRICS`): more series, some overhead."),
			"service_monitor": optBool("Render a ServiceMonitor (`monitoring.coreos.com/v1`) selecting web, streaming and Sidekiq, default true. " +
				"It is applied only where the cluster serves ServiceMonitors (the Prometheus Operator's CRD is installed), and skipped without error elsewhere."),
			"service_monitor_labels": schema.MapAttribute{Optional: true, ElementType: types.StringType,
				Description: "Labels added to the ServiceMonitor, for a Prometheus that selects ServiceMonitors by label (kube-prometheus-stack: `release = <its release name>`)."},
		})}
}

func metricsSpec(ctx context.Context, model *instanceModel, s *mastodon.Spec, diags *diag.Diagnostics) {
	m := model.Metrics
	if m == nil || !m.Enabled.ValueBool() {
		return
	}
	out := &mastodon.Metrics{WebDetailed: m.WebDetailed.ValueBool(), SidekiqDetailed: m.SidekiqDetailed.ValueBool(),
		ServiceMonitor: m.ServiceMonitor.IsNull() || m.ServiceMonitor.ValueBool()}
	diags.Append(m.ServiceMonitorLabels.ElementsAs(ctx, &out.ServiceMonitorLabels, false)...)
	s.Metrics = out
}
