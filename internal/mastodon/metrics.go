package mastodon

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
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

// The exporter of web and Sidekiq, on MetricsPort. Sidekiq (one process)
// runs Mastodon's exporter inside itself (MASTODON_PROMETHEUS_EXPORTER_LOCAL).
// Web cannot: under clustered Puma the local server starts in the master
// before the fork (config/puma.rb: before_fork), and what each worker
// records stays in the worker's copy of the collector
// (lib/mastodon/prometheus_exporter/local_server.rb wires a LocalClient to
// the collector of its own process). Web Pods run the exporter as a second
// process, bin/prometheus_exporter, in a container beside web, and web's
// workers send it their metrics over the Pod's loopback.
const (
	// MetricsPort is the exporter's port, Mastodon's default
	// (config/initializers/prometheus_exporter.rb, and the gem's).
	MetricsPort int32 = 9394
	// MetricsPath is where the exporter, and the streaming server, serve
	// their metrics.
	MetricsPath = "/metrics"
	// StreamingPort is the streaming server's port, which also serves its
	// metrics (streaming/index.js: app.get('/metrics')).
	StreamingPort int32 = 4000
	// MetricsContainer is the web Pod's exporter container.
	MetricsContainer = "metrics"

	metricsPortName = "metrics"
	// ComponentMetrics marks the ServiceMonitor.
	ComponentMetrics = "metrics"

	// The scrape annotations of the Prometheus community's Kubernetes
	// configuration, which many scrape setups read.
	AnnotationScrape     = "prometheus.io/scrape"
	AnnotationScrapePort = "prometheus.io/port"
	AnnotationScrapePath = "prometheus.io/path"
)

// metricsEnv is the exporter's environment of web (sidecar false) or
// Sidekiq (local): only their containers read it (config/puma.rb,
// config/initializers/prometheus_exporter.rb, config/initializers/sidekiq.rb),
// so it is set on them, not in the ConfigMap that every process and Job reads.
func (s *Spec) metricsEnv(local bool) []corev1.EnvVar {
	m := s.Metrics
	env := []corev1.EnvVar{{Name: "MASTODON_PROMETHEUS_EXPORTER_ENABLED", Value: "true"}}
	if local {
		env = append(env,
			// The process serves its own metrics.
			corev1.EnvVar{Name: "MASTODON_PROMETHEUS_EXPORTER_LOCAL", Value: "true"},
			// Mastodon's default, localhost, cannot be scraped from another Pod.
			corev1.EnvVar{Name: "MASTODON_PROMETHEUS_EXPORTER_HOST", Value: "0.0.0.0"},
			corev1.EnvVar{Name: "MASTODON_PROMETHEUS_EXPORTER_PORT", Value: strconv.Itoa(int(MetricsPort))})
	} else {
		env = append(env,
			// Where the gem's client (PrometheusExporter::Client.default)
			// sends metrics: the sidecar, over the Pod's loopback. Its
			// default, localhost, may resolve to ::1, where the exporter
			// does not listen.
			corev1.EnvVar{Name: "PROMETHEUS_EXPORTER_HOST", Value: "127.0.0.1"},
			corev1.EnvVar{Name: "PROMETHEUS_EXPORTER_PORT", Value: strconv.Itoa(int(MetricsPort))})
	}
	if m.WebDetailed && !local {
		env = append(env, corev1.EnvVar{Name: "MASTODON_PROMETHEUS_EXPORTER_WEB_DETAILED_METRICS", Value: "true"})
	}
	if m.SidekiqDetailed && local {
		env = append(env, corev1.EnvVar{Name: "MASTODON_PROMETHEUS_EXPORTER_SIDEKIQ_DETAILED_METRICS", Value: "true"})
	}
	return env
}

// ExporterCommand runs Mastodon's exporter process (bin/prometheus_exporter,
// the prometheus_exporter gem's server, as dist/mastodon-prometheus-exporter.service
// runs it) listening on every address of the Pod: the gem's default bind,
// localhost, cannot be scraped from another Pod.
var ExporterCommand = []string{"bin/prometheus_exporter", "--bind", "0.0.0.0", "--port", strconv.Itoa(int(MetricsPort))}

// metricsFeature switches Mastodon's Prometheus exporter on (Spec.Metrics).
type metricsFeature struct{ noFeature }

// workload makes web and Sidekiq export their metrics and has every Pod
// say where they are.
func (metricsFeature) workload(s *Spec, w workload) {
	if s.Metrics == nil {
		return
	}
	port := MetricsPort
	if w.component == ComponentStreaming {
		port = StreamingPort
	} else {
		s.exportMetrics(&w.deployment.Spec.Template.Spec, w.component == ComponentWeb)
	}
	a := w.deployment.Spec.Template.Annotations
	a[AnnotationScrape] = "true"
	a[AnnotationScrapePort] = strconv.Itoa(int(port))
	a[AnnotationScrapePath] = MetricsPath
}

// exportMetrics makes a web Pod send its metrics to an exporter container
// beside it, and a Sidekiq Pod serve its own. The exporter is a plain
// container: web is a Deployment, whose Pods never complete, and the Jobs
// made from the web Pod (migrations, tootctl) never get it.
func (s *Spec) exportMetrics(pod *corev1.PodSpec, web bool) {
	port := corev1.ContainerPort{Name: metricsPortName, ContainerPort: MetricsPort, Protocol: corev1.ProtocolTCP}
	c := &pod.Containers[0]
	c.Env = append(c.Env, s.metricsEnv(!web)...)
	if !web {
		c.Ports = append(c.Ports, port)
		return
	}
	pod.Containers = append(pod.Containers, corev1.Container{
		Name:            MetricsContainer,
		Image:           s.Image(),
		ImagePullPolicy: corev1.PullPolicy(s.PullPolicy),
		Command:         ExporterCommand,
		Ports:           []corev1.ContainerPort{port},
		// A Ruby process that keeps one collector.
		Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
			corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("128Mi")}},
		// No readiness probe: an exporter that is down must not take web
		// out of service. A hung one is restarted.
		LivenessProbe: &corev1.Probe{
			ProbeHandler:  corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromString(metricsPortName)}},
			PeriodSeconds: 10, FailureThreshold: 6,
		},
		SecurityContext: containerSecurity(),
	})
}

// service adds the exporter's port to the web Service.
func (metricsFeature) service(s *Spec, svc *corev1.Service) {
	if s.Metrics == nil || svc.Labels[LabelComponent] != ComponentWeb {
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

// objects are what lets Prometheus find the metrics: the Sidekiq Pods'
// headless Service and the ServiceMonitor. Web and streaming have their
// Services already.
func (metricsFeature) objects(s *Spec, at stage) []Object {
	m := s.Metrics
	if m == nil || at != afterWorkloads {
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

// metricsSince is the first version with Mastodon's Prometheus exporter
// (config/initializers/prometheus_exporter.rb, bin/prometheus_exporter).
const metricsSince = "v4.4.0"

func (metricsFeature) validate(s *Spec, e *fieldErrors) {
	if s.Metrics == nil {
		return
	}
	s.Metrics.validate(e)
	if v, ok := Parse(s.Version); ok {
		if since, _ := Parse(metricsSince); v.Compare(since) < 0 {
			e.add("metrics", "%s has no Prometheus exporter: Mastodon added it in %s (config/initializers/prometheus_exporter.rb), and "+
				"earlier versions ignore its settings, so nothing would serve the metrics. Upgrade to 4.4 or later, or leave metrics out", s.Version, metricsSince)
			e.related("version")
		}
	}
}

// validate checks the ServiceMonitor's labels.
func (m *Metrics) validate(e *fieldErrors) {
	const path = "metrics.service_monitor_labels"
	add := e.add
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
		e.related("metrics.service_monitor")
	}
}
