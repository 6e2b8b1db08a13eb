package mastodon

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// OpenTelemetry sends traces of the Rails processes (web, Sidekiq, the
// Jobs) to an OTLP collector. config/initializers/opentelemetry.rb loads
// the SDK only when a variable OTEL_*_ENDPOINT is set, and names each
// process's service itself: <prefix><separator>web for Puma, else
// <prefix><separator><program> (sidekiq, tootctl, rake), so
// OTEL_SERVICE_NAME has no effect. The streaming server has no
// OpenTelemetry.
type OpenTelemetry struct {
	Endpoint string
	// ServiceNamePrefix and ServiceNameSeparator ("" for Mastodon's
	// defaults, mastodon and /).
	ServiceNamePrefix, ServiceNameSeparator string
	// TracesSampler is one of TracesSamplers ("" for the SDK's default,
	// parentbased_always_on); TracesSamplerRatio, for the ratio samplers,
	// is OTEL_TRACES_SAMPLER_ARG (nil: the SDK's 1.0).
	TracesSampler      string
	TracesSamplerRatio *float64 `json:",omitempty"`
}

// LogLevels are the processes' log levels ("" for the default, info).
type LogLevels struct {
	// Rails is RAILS_LOG_LEVEL (web, Sidekiq, the Jobs): one of
	// RailsLogLevels.
	Rails string
	// Streaming is the streaming server's LOG_LEVEL: one of
	// StreamingLogLevels.
	Streaming string
}

// Variables of OpenTelemetry and the log levels.
const (
	EnvOTelEndpoint        = "OTEL_EXPORTER_OTLP_ENDPOINT"
	EnvOTelPrefix          = "OTEL_SERVICE_NAME_PREFIX"
	EnvOTelSeparator       = "OTEL_SERVICE_NAME_SEPARATOR"
	EnvOTelSampler         = "OTEL_TRACES_SAMPLER"
	EnvOTelSamplerArg      = "OTEL_TRACES_SAMPLER_ARG"
	EnvRailsLogLevel       = "RAILS_LOG_LEVEL"
	EnvStreamingLogLevel   = "LOG_LEVEL"
	defaultTracesSampler   = "parentbased_always_on"
	ratioSamplerNameSuffix = "traceidratio"
)

var (
	// TracesSamplers are the samplers opentelemetry-sdk (Ruby) builds from
	// OTEL_TRACES_SAMPLER (lib/opentelemetry/sdk/trace/tracer_provider.rb,
	// sampler_from_environment); any other value is ignored, silently.
	TracesSamplers = []string{"always_on", "always_off", "traceidratio", "parentbased_always_on", "parentbased_always_off", "parentbased_traceidratio"}
	// RailsLogLevels are the levels of Ruby's Logger: Sidekiq's
	// initializer (config/initializers/sidekiq.rb) takes
	// Logger.const_get(RAILS_LOG_LEVEL.upcase), so any other value stops
	// Sidekiq at boot.
	RailsLogLevels = []string{"debug", "info", "warn", "error", "fatal", "unknown"}
	// StreamingLogLevels are pino's levels (streaming/logging.js accepts a
	// LOG_LEVEL among logger.levels.values, else logs at info).
	StreamingLogLevels = []string{"trace", "debug", "info", "warn", "error", "fatal"}
)

// observabilityFeature sets OpenTelemetry (Spec.OpenTelemetry) and the log
// levels (Spec.LogLevels).
type observabilityFeature struct{ noFeature }

func (observabilityFeature) env(s *Spec, plain, _ map[string]string) {
	if o := s.OpenTelemetry; o != nil {
		setNonEmpty(plain, map[string]string{EnvOTelEndpoint: o.Endpoint, EnvOTelPrefix: o.ServiceNamePrefix,
			EnvOTelSeparator: o.ServiceNameSeparator, EnvOTelSampler: o.TracesSampler})
		if o.TracesSamplerRatio != nil {
			plain[EnvOTelSamplerArg] = strconv.FormatFloat(*o.TracesSamplerRatio, 'g', -1, 64)
		}
	}
	// Both go to every process: Rails reads no LOG_LEVEL, streaming no
	// RAILS_LOG_LEVEL.
	setNonEmpty(plain, map[string]string{EnvRailsLogLevel: s.LogLevels.Rails, EnvStreamingLogLevel: s.LogLevels.Streaming})
}

func (observabilityFeature) validate(s *Spec, e *fieldErrors) {
	s.refuseExtraNames(map[string]string{
		EnvOTelEndpoint: "opentelemetry.endpoint", EnvOTelPrefix: "opentelemetry.service_name_prefix",
		EnvOTelSeparator: "opentelemetry.service_name_separator", EnvOTelSampler: "opentelemetry.traces_sampler",
		EnvOTelSamplerArg: "opentelemetry.traces_sampler_ratio",
		EnvRailsLogLevel:  "settings.rails_log_level", EnvStreamingLogLevel: "streaming.log_level",
	}, e)
	o := s.OpenTelemetry
	if o == nil || o.TracesSamplerRatio == nil {
		return
	}
	if sampler := o.TracesSampler; !strings.HasSuffix(sampler, ratioSamplerNameSuffix) {
		if sampler == "" {
			sampler = defaultTracesSampler + " (the default)"
		}
		e.add("opentelemetry.traces_sampler_ratio", "is read only by the traceidratio and parentbased_traceidratio samplers, not by %s", sampler)
		e.related("opentelemetry.traces_sampler")
	}
}

// CheckOTelEndpoint checks opentelemetry.endpoint: the OTLP exporter's
// base URL.
func CheckOTelEndpoint(v string) error {
	if u, err := url.Parse(v); v != "" && (err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https")) {
		return fmt.Errorf("%q must be an http or https URL such as http://otel-collector.monitoring:4318", v)
	}
	return nil
}

// CheckTracesSampler checks opentelemetry.traces_sampler.
func CheckTracesSampler(v string) error { return checkOneOf(v, TracesSamplers) }

// CheckSamplerRatio checks opentelemetry.traces_sampler_ratio: the SDK
// refuses a ratio outside [0, 1] and falls back to its default sampler.
func CheckSamplerRatio(v float64) error {
	if v < 0 || v > 1 {
		return fmt.Errorf("must be between 0 and 1 (the share of traces kept), not %g", v)
	}
	return nil
}

// CheckRailsLogLevel checks settings.rails_log_level.
func CheckRailsLogLevel(v string) error { return checkOneOf(v, RailsLogLevels) }

// CheckStreamingLogLevel checks streaming.log_level.
func CheckStreamingLogLevel(v string) error { return checkOneOf(v, StreamingLogLevels) }
