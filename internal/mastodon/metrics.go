package mastodon

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Metrics switches Mastodon's Prometheus exporter on.
type Metrics struct {
	// WebDetailed and SidekiqDetailed add Mastodon's optional detailed
	// metrics: per controller and action for web, per job and per queue for
	// Sidekiq (more series, some overhead).
	WebDetailed, SidekiqDetailed bool
	// ServiceMonitor renders a ServiceMonitor (monitoring.coreos.com/v1) for
	// the Prometheus Operator, applied where the cluster serves the kind.
	ServiceMonitor bool
	// ServiceMonitorLabels are added to the ServiceMonitor's labels, for a
	// Prometheus that selects ServiceMonitors by label.
	ServiceMonitorLabels map[string]string
}

// The exporter of web and Sidekiq: Mastodon's own server in each process
// (MASTODON_PROMETHEUS_EXPORTER_LOCAL), on MetricsPort.
const (
	// MetricsPort is the exporter's port, Mastodon's default
	// (config/initializers/prometheus_exporter.rb).
	MetricsPort int32 = 9394
	// MetricsPath is where the exporter, and the streaming server, serve
	// their metrics.
	MetricsPath = "/metrics"
	// StreamingPort is the streaming server's port, which also serves its
	// metrics (streaming/index.js: app.get('/metrics')).
	StreamingPort int32 = 4000

	metricsPortName = "metrics"
	// ComponentMetrics marks the ServiceMonitor.
	ComponentMetrics = "metrics"

	// The scrape annotations of the Prometheus community's Kubernetes
	// configuration, which many scrape setups read.
	AnnotationScrape     = "prometheus.io/scrape"
	AnnotationScrapePort = "prometheus.io/port"
	AnnotationScrapePath = "prometheus.io/path"
)

// metricsEnv is the exporter's environment of web and Sidekiq: only their
// containers read it (config/puma.rb, config/initializers/sidekiq.rb), so
// it is set on them, not in the ConfigMap that every process and Job reads.
func (s *Spec) metricsEnv() []corev1.EnvVar {
	m := s.Metrics
	env := []corev1.EnvVar{
		{Name: "MASTODON_PROMETHEUS_EXPORTER_ENABLED", Value: "true"},
		// Each process serves its own metrics, no separate exporter process.
		{Name: "MASTODON_PROMETHEUS_EXPORTER_LOCAL", Value: "true"},
		// Mastodon's default, localhost, cannot be scraped from another Pod.
		{Name: "MASTODON_PROMETHEUS_EXPORTER_HOST", Value: "0.0.0.0"},
		{Name: "MASTODON_PROMETHEUS_EXPORTER_PORT", Value: strconv.Itoa(int(MetricsPort))},
	}
	if m.WebDetailed {
		env = append(env, corev1.EnvVar{Name: "MASTODON_PROMETHEUS_EXPORTER_WEB_DETAILED_METRICS", Value: "true"})
	}
	if m.SidekiqDetailed {
		env = append(env, corev1.EnvVar{Name: "MASTODON_PROMETHEUS_EXPORTER_SIDEKIQ_DETAILED_METRICS", Value: "true"})
	}
	return env
}

// exportMetrics makes a web or Sidekiq Pod serve its metrics.
func (s *Spec) exportMetrics(pod *corev1.PodSpec) {
	if s.Metrics == nil {
		return
	}
	c := &pod.Containers[0]
	c.Env = append(c.Env, s.metricsEnv()...)
	c.Ports = append(c.Ports, corev1.ContainerPort{Name: metricsPortName, ContainerPort: MetricsPort, Protocol: corev1.ProtocolTCP})
}

// scrape annotates a Deployment's Pods with where their metrics are.
func (s *Spec) scrape(d *appsv1.Deployment, port int32) {
	if s.Metrics == nil {
		return
	}
	a := d.Spec.Template.Annotations
	a[AnnotationScrape] = "true"
	a[AnnotationScrapePort] = strconv.Itoa(int(port))
	a[AnnotationScrapePath] = MetricsPath
}

// withMetricsPort adds the exporter's port to the web Service.
func (s *Spec) withMetricsPort(svc *corev1.Service) {
	if s.Metrics == nil {
		return
	}
	svc.Spec.Ports = append(svc.Spec.Ports, corev1.ServicePort{Name: metricsPortName, Port: MetricsPort,
		TargetPort: intstr.FromString(metricsPortName), Protocol: corev1.ProtocolTCP})
}

// SidekiqMetricsName is the headless Service of every Sidekiq Pod's
// metrics (Sidekiq serves nothing else). Process Deployments are named
// SidekiqName(process), never this.
func (s *Spec) SidekiqMetricsName() string { return s.Name + "-sidekiq" }

// serviceMonitor is the Prometheus Operator's ServiceMonitor
// (monitoring.coreos.com/v1), the part we set.
type serviceMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Selector  metav1.LabelSelector `json:"selector"`
		Endpoints []monitorEndpoint    `json:"endpoints"`
	} `json:"spec"`
}

type monitorEndpoint struct {
	Port string `json:"port"`
	Path string `json:"path"`
}

// renderMetrics are the objects that let Prometheus find the metrics: the
// Sidekiq Pods' headless Service and the ServiceMonitor. Web and streaming
// have their Services already.
func (s *Spec) renderMetrics() []Object {
	m := s.Metrics
	if m == nil {
		return nil
	}
	svc := s.service(s.SidekiqMetricsName(), ComponentSidekiq, metricsPortName, MetricsPort)
	svc.Spec.ClusterIP = corev1.ClusterIPNone
	out := []Object{NewObject(svc)}
	if !m.ServiceMonitor {
		return out
	}
	sm := &serviceMonitor{TypeMeta: typeMeta("monitoring.coreos.com/v1", "ServiceMonitor"), ObjectMeta: s.meta(s.Name, ComponentMetrics)}
	for k, v := range m.ServiceMonitorLabels {
		sm.Labels[k] = v
	}
	sm.Spec.Selector = metav1.LabelSelector{
		MatchLabels: map[string]string{LabelName: AppName, LabelInstance: s.Name},
		MatchExpressions: []metav1.LabelSelectorRequirement{{Key: LabelComponent, Operator: metav1.LabelSelectorOpIn,
			Values: []string{ComponentWeb, ComponentStreaming, ComponentSidekiq}}},
	}
	// A Service without the endpoint's port is no target of it: web and
	// the Sidekiq Service serve "metrics", streaming's own port its own.
	sm.Spec.Endpoints = []monitorEndpoint{{Port: metricsPortName, Path: MetricsPath}, {Port: ComponentStreaming, Path: MetricsPath}}
	return append(out, NewObject(sm))
}

func (m *Metrics) validate(add func(path, format string, args ...any)) {
	if m == nil {
		return
	}
	const path = "metrics.service_monitor_labels"
	ours := []string{LabelName, LabelInstance, LabelComponent, LabelManagedBy, LabelOwner, LabelVersion}
	for _, k := range slices.Sorted(maps.Keys(m.ServiceMonitorLabels)) {
		v := m.ServiceMonitorLabels[k]
		switch {
		case slices.Contains(ours, k):
			add(path, "%q is one of the provider's own labels (%s)", k, strings.Join(ours, ", "))
		case len(validation.IsQualifiedName(k)) > 0:
			add(path, "%q is not a label name: %s", k, strings.Join(validation.IsQualifiedName(k), "; "))
		case len(validation.IsValidLabelValue(v)) > 0:
			add(path, "the value of %q, %q, is not a label value: %s", k, v, strings.Join(validation.IsValidLabelValue(v), "; "))
		}
	}
	if len(m.ServiceMonitorLabels) > 0 && !m.ServiceMonitor {
		add(path, "labels a ServiceMonitor, which metrics.service_monitor = false leaves out")
	}
}
