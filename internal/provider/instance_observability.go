package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

// openTelemetryModel is the instance's OpenTelemetry block.
type openTelemetryModel struct {
	Endpoint             types.String  `tfsdk:"endpoint"`
	ServiceNamePrefix    types.String  `tfsdk:"service_name_prefix"`
	ServiceNameSeparator types.String  `tfsdk:"service_name_separator"`
	TracesSampler        types.String  `tfsdk:"traces_sampler"`
	TracesSamplerRatio   types.Float64 `tfsdk:"traces_sampler_ratio"`
}

// railsLogModel is settings' part: RAILS_LOG_LEVEL.
type railsLogModel struct {
	RailsLogLevel types.String `tfsdk:"rails_log_level"`
}

// streamingLogModel is streaming's part: LOG_LEVEL.
type streamingLogModel struct {
	LogLevel types.String `tfsdk:"log_level"`
}

func observabilityAttributes(block string, in nested) map[string]schema.Attribute {
	switch block {
	case "":
		return map[string]schema.Attribute{"opentelemetry": optionalBlock(in, "opentelemetry",
			"Traces of the Rails processes (web, Sidekiq, the Jobs and CronJobs) sent to an OpenTelemetry collector over OTLP "+
				"(`config/initializers/opentelemetry.rb`). Mastodon names each process's service itself, `<prefix><separator>web`, "+
				"`...sidekiq`, `...tootctl`, `...rake`, so `OTEL_SERVICE_NAME` has no effect; the streaming server sends no traces. Other `OTEL_*` "+
				"variables of the SDK (headers, protocol, `OTEL_RUBY_INSTRUMENTATION_PG_ENABLED=false`, ...) go in `settings.extra_env`, but not "+
				"those of the attributes below, with or without this block.",
			map[string]schema.Attribute{
				"endpoint": checkOTelEndpoint.on(schema.StringAttribute{Required: true,
					Description: "`OTEL_EXPORTER_OTLP_ENDPOINT`: the collector's OTLP/HTTP base URL, such as `http://otel-collector.monitoring:4318`."}),
				"service_name_prefix":    optString("`OTEL_SERVICE_NAME_PREFIX`: the services' prefix, default `mastodon`."),
				"service_name_separator": optString("`OTEL_SERVICE_NAME_SEPARATOR`: between the prefix and the process, default `/`."),
				"traces_sampler": checkTracesSampler.on(optString("`OTEL_TRACES_SAMPLER`: `always_on`, `always_off`, `traceidratio`, " +
					"`parentbased_always_on` (the SDK's default), `parentbased_always_off` or `parentbased_traceidratio`. The SDK ignores any other value.")),
				"traces_sampler_ratio": schema.Float64Attribute{Optional: true, Validators: []validator.Float64{checkSamplerRatio},
					Description: "`OTEL_TRACES_SAMPLER_ARG`: the share of traces kept, between 0 and 1 (the SDK's default 1), for the `traceidratio` " +
						"and `parentbased_traceidratio` samplers only."},
			})}
	case "settings":
		return map[string]schema.Attribute{
			"rails_log_level": checkRailsLogLevel.on(optString("`RAILS_LOG_LEVEL` of web, Sidekiq and the Jobs: `debug`, `info` (Mastodon's default), " +
				"`warn`, `error`, `fatal` or `unknown` (Sidekiq stops at boot on any other value). `debug` logs personal data. `settings.extra_env` may " +
				"not set it.")),
		}
	case "streaming":
		return map[string]schema.Attribute{
			"log_level": checkStreamingLogLevel.on(optString("`LOG_LEVEL` of the streaming server: `trace`, `debug`, `info` (the default), `warn`, " +
				"`error` or `fatal` (it ignores any other value). Like every setting it is in the instance's ConfigMap, so a change rolls every Pod. " +
				"`settings.extra_env` may not set it.")),
		}
	}
	return nil
}

func observabilitySpec(_ context.Context, m *instanceModel, s *mastodon.Spec, _ *diag.Diagnostics) {
	if o := m.OpenTelemetry; o != nil {
		s.OpenTelemetry = &mastodon.OpenTelemetry{Endpoint: o.Endpoint.ValueString(), ServiceNamePrefix: o.ServiceNamePrefix.ValueString(),
			ServiceNameSeparator: o.ServiceNameSeparator.ValueString(), TracesSampler: o.TracesSampler.ValueString()}
		if r := o.TracesSamplerRatio; !r.IsNull() && !r.IsUnknown() {
			v := r.ValueFloat64()
			s.OpenTelemetry.TracesSamplerRatio = &v
		}
	}
	if st := m.Settings; st != nil {
		s.LogLevels.Rails = st.RailsLogLevel.ValueString()
	}
	if st := m.Streaming; st != nil {
		s.LogLevels.Streaming = st.LogLevel.ValueString()
	}
}

// float64Check is stringCheck for a number with a fraction.
type float64Check struct {
	described
	check func(float64) error
}

func (c float64Check) ValidateFloat64(_ context.Context, req validator.Float64Request, resp *validator.Float64Response) {
	if known(req.ConfigValue) {
		invalid(req.Path, c.check(req.ConfigValue.ValueFloat64()), &resp.Diagnostics)
	}
}

// The checks of the observability attributes.
var (
	checkOTelEndpoint      = stringCheck{described: "an http or https URL", check: mastodon.CheckOTelEndpoint}
	checkTracesSampler     = stringCheck{described: "an OpenTelemetry sampler", check: mastodon.CheckTracesSampler}
	checkSamplerRatio      = float64Check{described: "between 0 and 1", check: mastodon.CheckSamplerRatio}
	checkRailsLogLevel     = stringCheck{described: "a Rails log level", check: mastodon.CheckRailsLogLevel}
	checkStreamingLogLevel = stringCheck{described: "a log level of the streaming server", check: mastodon.CheckStreamingLogLevel}
)
