package mastodon

import (
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
)

// scalingSpec autoscales web, streaming and one Sidekiq process, and
// exports metrics with a ServiceMonitor.
func scalingSpec() *Spec {
	s := &Spec{Name: "social", Namespace: "mastodon", LocalDomain: "social.example", WebReplicas: 1, StreamReplicas: 1,
		WebResources:    Resources{CPURequest: "500m", MemoryRequest: "1Gi"},
		WebAutoscaling:  &Autoscaling{MinReplicas: 2, MaxReplicas: 6, TargetCPU: 70, TargetMemory: 85},
		StreamResources: Resources{CPURequest: "100m"},
		// One streaming Pod at least: no PodDisruptionBudget.
		StreamAutoscaling: &Autoscaling{MinReplicas: 1, MaxReplicas: 3, TargetCPU: 60},
		Sidekiq: []SidekiqProcess{
			{Name: "scheduler", Queues: []Queue{{Name: "scheduler"}}, Replicas: 1},
			{Name: "main", Queues: []Queue{{Name: "default", Weight: 8}, {Name: "push", Weight: 6}, {Name: "ingress", Weight: 4}, {Name: "mailers", Weight: 2},
				{Name: "pull"}, {Name: "fasp"}}, Resources: Resources{CPURequest: "1"},
				Autoscaling: &Autoscaling{MinReplicas: 1, MaxReplicas: 4, TargetCPU: 80}},
		},
		Metrics: &Metrics{SidekiqDetailed: true, ServiceMonitor: true, ServiceMonitorLabels: map[string]string{"release": "prometheus"}},
	}
	s.Defaults()
	return s
}

func TestRenderScaling(t *testing.T) {
	s := scalingSpec()
	if errs := s.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	golden(t, "scaling.yaml", renderYAML(t, s.Render(fixedSecrets, "recorded-configuration")))
}

// While an autoscaler is on, the Deployment carries no replicas (the
// provider neither sets them nor sees their change as drift); a
// PodDisruptionBudget follows the autoscaler's minimum.
func TestAutoscaledDeployments(t *testing.T) {
	s := scalingSpec()
	objs := s.Render(fixedSecrets, "")
	for _, name := range []string{s.WebName(), s.StreamingName(), s.SidekiqName("main")} {
		d := find[appsv1.Deployment](t, objs, "Deployment", name)
		if d.Spec.Replicas != nil {
			t.Errorf("%s: replicas %d rendered while autoscaled", name, *d.Spec.Replicas)
		}
		h := find[autoscalingv2.HorizontalPodAutoscaler](t, objs, "HorizontalPodAutoscaler", name)
		if h.Spec.ScaleTargetRef.Name != name || h.Spec.ScaleTargetRef.Kind != "Deployment" || h.Spec.ScaleTargetRef.APIVersion != "apps/v1" {
			t.Errorf("%s: HPA targets %+v", name, h.Spec.ScaleTargetRef)
		}
	}
	if d := find[appsv1.Deployment](t, objs, "Deployment", s.SidekiqName("scheduler")); d.Spec.Replicas == nil || *d.Spec.Replicas != 1 {
		t.Error("the scheduler process lost its single replica")
	}
	var pdbs []string
	for _, o := range objs {
		if o.Kind == "PodDisruptionBudget" {
			pdbs = append(pdbs, o.Name)
		}
	}
	if !slices.Equal(pdbs, []string{s.WebName()}) {
		t.Errorf("PodDisruptionBudgets %v: want web's only (minimum 2; streaming's minimum is 1)", pdbs)
	}
}

// Kubernetes' HorizontalPodAutoscaler computes a Utilization target as a
// percentage of the request of what it measures; with ContainerResource it
// measures the named container only, so a sidecar without requests (the
// Cloud SQL Auth Proxy, an injected mesh proxy) neither blocks nor skews it.
// Our containers are named web, streaming and sidekiq.
func TestAutoscalerMeasuresTheMastodonContainer(t *testing.T) {
	s := scalingSpec()
	objs := s.Render(fixedSecrets, "")
	for name, container := range map[string]string{s.WebName(): "web", s.StreamingName(): "streaming", s.SidekiqName("main"): "sidekiq"} {
		d := find[appsv1.Deployment](t, objs, "Deployment", name)
		if d.Spec.Template.Spec.Containers[0].Name != container {
			t.Fatalf("%s: first container %s", name, d.Spec.Template.Spec.Containers[0].Name)
		}
		for _, m := range find[autoscalingv2.HorizontalPodAutoscaler](t, objs, "HorizontalPodAutoscaler", name).Spec.Metrics {
			cr := m.ContainerResource
			if m.Type != autoscalingv2.ContainerResourceMetricSourceType || cr == nil || cr.Container != container ||
				cr.Target.Type != autoscalingv2.UtilizationMetricType || cr.Target.AverageUtilization == nil {
				t.Errorf("%s: metric %+v", name, m)
				continue
			}
			if _, ok := d.Spec.Template.Spec.Containers[0].Resources.Requests[cr.Name]; !ok {
				t.Errorf("%s: a %s target without a %s request", name, cr.Name, cr.Name)
			}
		}
	}
	web := find[autoscalingv2.HorizontalPodAutoscaler](t, objs, "HorizontalPodAutoscaler", s.WebName())
	if len(web.Spec.Metrics) != 2 || *web.Spec.MinReplicas != 2 || web.Spec.MaxReplicas != 6 {
		t.Errorf("web's HPA %+v", web.Spec)
	}
}

// A Sidekiq process's Pods restart only when what they read changes: not
// when their number does, by hand or by an autoscaler, nor when autoscaling
// switches on or off. Web likewise.
func TestChecksumIgnoresScaling(t *testing.T) {
	checksums := func(s *Spec) map[string]string {
		out := map[string]string{}
		for _, o := range s.Render(fixedSecrets, "") {
			if o.Kind == "Deployment" {
				out[o.Name] = find[appsv1.Deployment](t, []Object{o}, "Deployment", o.Name).Spec.Template.Annotations[AnnotationChecksum]
			}
		}
		return out
	}
	fixed := scalingSpec()
	fixed.WebAutoscaling, fixed.StreamAutoscaling, fixed.Sidekiq[1].Autoscaling = nil, nil, nil
	fixed.WebReplicas, fixed.StreamReplicas, fixed.Sidekiq[1].Replicas = 3, 1, 5
	want := checksums(fixed)
	if got := checksums(scalingSpec()); !equalMaps(got, want) {
		t.Errorf("autoscaling rolls Pods: %v, were %v", got, want)
	}
	fixed.Sidekiq[1].Replicas = 1
	if got := checksums(fixed); !equalMaps(got, want) {
		t.Errorf("a change of replicas rolls Pods: %v, were %v", got, want)
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestAutoscalingValidation(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*Spec)
		want   string // the path of the error
	}{
		{"min 0", func(s *Spec) { s.WebAutoscaling.MinReplicas = 0 }, "web.autoscaling.min_replicas"},
		{"min over max", func(s *Spec) { s.WebAutoscaling.MinReplicas = 7 }, "web.autoscaling.max_replicas"},
		{"no target", func(s *Spec) { s.StreamAutoscaling.TargetCPU = 0 }, "streaming.autoscaling"},
		{"negative target", func(s *Spec) { s.WebAutoscaling.TargetCPU = -5 }, "web.autoscaling.target_cpu_utilization"},
		{"scheduler autoscaled", func(s *Spec) {
			s.Sidekiq[0].Autoscaling = &Autoscaling{MinReplicas: 1, MaxReplicas: 2, TargetCPU: 50}
			s.Sidekiq[0].Resources.CPURequest = "1"
		}, "sidekiq[0].autoscaling"},
		{"our own label", func(s *Spec) { s.Metrics.ServiceMonitorLabels[LabelInstance] = "other" }, "metrics.service_monitor_labels"},
		{"bad label", func(s *Spec) { s.Metrics.ServiceMonitorLabels["not a label"] = "x" }, "metrics.service_monitor_labels"},
		{"labels without a ServiceMonitor", func(s *Spec) { s.Metrics.ServiceMonitor = false }, "metrics.service_monitor_labels"},
	} {
		s := scalingSpec()
		tc.change(s)
		s.Defaults()
		if got := errorPaths(s.Validate()); !slices.Equal(got, []string{tc.want}) {
			t.Errorf("%s: errors at %v, want %s", tc.name, got, tc.want)
		}
	}
}

// Mastodon's exporter (config/initializers/prometheus_exporter.rb,
// config/puma.rb, config/initializers/sidekiq.rb,
// lib/mastodon/prometheus_exporter/local_server.rb, v4.6.5 and main at
// 4.7.0-alpha.2): MASTODON_PROMETHEUS_EXPORTER_ENABLED=true loads it in
// Puma and Sidekiq. With MASTODON_PROMETHEUS_EXPORTER_LOCAL=true a process
// starts its own PrometheusExporter web server on
// MASTODON_PROMETHEUS_EXPORTER_HOST (default localhost, unreachable from
// another Pod) and _PORT (default 9394): fine for Sidekiq (one process, at
// startup), not for clustered Puma, where config/puma.rb starts it in the
// master's before_fork and each worker then records into its own copy of
// the collector, which nobody serves (Mastodon's docs: the local mode does
// not work for multi-process servers). So web sends its metrics to
// bin/prometheus_exporter in a container of the same Pod (the gem's client
// reads PROMETHEUS_EXPORTER_HOST and _PORT; dist/mastodon-prometheus-exporter.service
// runs the same binary with -p 9394 and -b for its bind address, default
// localhost). _WEB_DETAILED_METRICS and _SIDEKIQ_DETAILED_METRICS add
// per-action and per-job/queue metrics. The streaming server serves
// /metrics on its own port whatever the configuration (streaming/index.js,
// streaming/metrics.js). Only web and Sidekiq get the variables: streaming
// and the Jobs do not read them, and none of it goes in the ConfigMap, so
// switching metrics does not restart what does not read it.
func TestPrometheusExporterContract(t *testing.T) {
	s := scalingSpec()
	s.Metrics.WebDetailed = true
	objs := s.Render(fixedSecrets, "")
	port := func(c corev1.Container) bool {
		return slices.ContainsFunc(c.Ports, func(p corev1.ContainerPort) bool { return p.Name == "metrics" && p.ContainerPort == 9394 })
	}
	for _, name := range []string{s.SidekiqName("main"), s.SidekiqName("scheduler")} {
		d := find[appsv1.Deployment](t, objs, "Deployment", name)
		c := d.Spec.Template.Spec.Containers[0]
		env := envOf(c)
		for k, v := range map[string]string{
			"MASTODON_PROMETHEUS_EXPORTER_ENABLED":                  "true",
			"MASTODON_PROMETHEUS_EXPORTER_LOCAL":                    "true",
			"MASTODON_PROMETHEUS_EXPORTER_HOST":                     "0.0.0.0",
			"MASTODON_PROMETHEUS_EXPORTER_PORT":                     "9394",
			"MASTODON_PROMETHEUS_EXPORTER_SIDEKIQ_DETAILED_METRICS": "true",
		} {
			if env[k] != v {
				t.Errorf("%s: %s=%q, want %q", name, k, env[k], v)
			}
		}
		if _, ok := env["MASTODON_PROMETHEUS_EXPORTER_WEB_DETAILED_METRICS"]; ok {
			t.Errorf("%s: web's detailed metrics switched on", name)
		}
		if len(d.Spec.Template.Spec.Containers) != 1 || !port(c) {
			t.Errorf("%s: containers %d, ports %v", name, len(d.Spec.Template.Spec.Containers), c.Ports)
		}
		a := d.Spec.Template.Annotations
		if a[AnnotationScrape] != "true" || a[AnnotationScrapePort] != "9394" || a[AnnotationScrapePath] != "/metrics" {
			t.Errorf("%s: scrape annotations %v", name, a)
		}
	}
	web := find[appsv1.Deployment](t, objs, "Deployment", s.WebName())
	pod := web.Spec.Template.Spec
	env := envOf(pod.Containers[0])
	for k, v := range map[string]string{
		"MASTODON_PROMETHEUS_EXPORTER_ENABLED":                  "true",
		"PROMETHEUS_EXPORTER_HOST":                              "127.0.0.1",
		"PROMETHEUS_EXPORTER_PORT":                              "9394",
		"MASTODON_PROMETHEUS_EXPORTER_WEB_DETAILED_METRICS":     "true",
		"MASTODON_PROMETHEUS_EXPORTER_LOCAL":                    "",
		"MASTODON_PROMETHEUS_EXPORTER_SIDEKIQ_DETAILED_METRICS": "",
	} {
		if env[k] != v {
			t.Errorf("web: %s=%q, want %q", k, env[k], v)
		}
	}
	if len(pod.Containers) != 2 || port(pod.Containers[0]) {
		t.Fatalf("web: %d containers, web's ports %v", len(pod.Containers), pod.Containers[0].Ports)
	}
	exp := pod.Containers[1]
	if exp.Name != MetricsContainer || exp.Image != s.Image() || !port(exp) || exp.ReadinessProbe != nil ||
		strings.Join(exp.Command, " ") != "bin/prometheus_exporter --bind 0.0.0.0 --port 9394" {
		t.Errorf("web's exporter: %+v", exp)
	}
	if a := web.Spec.Template.Annotations; a[AnnotationScrapePort] != "9394" {
		t.Errorf("web: scrape annotations %v", a)
	}
	// Jobs made from the web Pod (migrations, tootctl) must complete: no
	// exporter in them.
	for _, o := range objs {
		if o.Kind == "CronJob" || o.Kind == "Job" {
			if strings.Contains(renderYAML(t, []Object{o}), "prometheus_exporter") {
				t.Errorf("%s runs the exporter", o.Key())
			}
		}
	}
	st := find[appsv1.Deployment](t, objs, "Deployment", s.StreamingName())
	if a := st.Spec.Template.Annotations; a[AnnotationScrapePort] != "4000" || a[AnnotationScrapePath] != "/metrics" {
		t.Errorf("streaming: scrape annotations %v", a)
	}
	if env := envOf(st.Spec.Template.Spec.Containers[0]); env["PORT"] != "4000" || env["MASTODON_PROMETHEUS_EXPORTER_ENABLED"] != "" {
		t.Errorf("streaming env %v", env)
	}
	for _, o := range objs {
		if o.Kind == "ConfigMap" && strings.Contains(renderYAML(t, []Object{o}), "PROMETHEUS") {
			t.Errorf("%s holds the exporter's variables", o.Key())
		}
	}
	// Without metrics, nothing of it.
	off := scalingSpec()
	off.Metrics = nil
	for _, o := range off.Render(fixedSecrets, "") {
		if y := renderYAML(t, []Object{o}); strings.Contains(y, "PROMETHEUS") || strings.Contains(y, "prometheus.io") || o.Kind == "ServiceMonitor" {
			t.Errorf("%s: metrics rendered while off", o.Key())
		}
	}
}

// The ServiceMonitor (Prometheus Operator) scrapes Services by port name:
// web's Service and the headless Sidekiq Service carry "metrics", the
// streaming Service its own port; the selector finds exactly those.
func TestServiceMonitorFindsEveryExporter(t *testing.T) {
	s := scalingSpec()
	objs := s.Render(fixedSecrets, "")
	sm := find[serviceMonitor](t, objs, "ServiceMonitor", s.Name)
	if sm.Labels["release"] != "prometheus" || sm.Labels[LabelOwner] != OwnerInstance {
		t.Errorf("ServiceMonitor labels %v", sm.Labels)
	}
	sel, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
	if err != nil {
		t.Fatal(err)
	}
	ports := map[string]bool{}
	for _, e := range sm.Spec.Endpoints {
		ports[e.Port] = true
	}
	scraped := map[string]bool{}
	for _, o := range objs {
		if o.Kind != "Service" {
			continue
		}
		svc := find[corev1.Service](t, []Object{o}, "Service", o.Name)
		if !sel.Matches(labels.Set(svc.Labels)) {
			continue
		}
		for _, p := range svc.Spec.Ports {
			if ports[p.Name] {
				scraped[svc.Name+":"+p.TargetPort.String()] = true
			}
		}
	}
	for _, want := range []string{s.WebName() + ":metrics", s.StreamingName() + ":streaming", s.SidekiqMetricsName() + ":metrics"} {
		if !scraped[want] {
			t.Errorf("not scraped: %s (scraped %v)", want, scraped)
		}
	}
	if len(scraped) != 3 {
		t.Errorf("scraped %v", scraped)
	}
	if svc := find[corev1.Service](t, objs, "Service", s.SidekiqMetricsName()); svc.Spec.ClusterIP != corev1.ClusterIPNone {
		t.Error("the Sidekiq metrics Service is not headless")
	}
}

// A NetworkPolicy selecting a Pod blocks what it does not allow: none of
// ours selects the Pods that serve metrics (web, streaming, Sidekiq), so
// Prometheus reaches them wherever it runs.
func TestMetricsNotBlockedByOurNetworkPolicies(t *testing.T) {
	s := scalingSpec()
	objs := s.Render(fixedSecrets, "")
	for _, o := range objs {
		if o.Kind != "NetworkPolicy" {
			continue
		}
		np := find[networkingv1.NetworkPolicy](t, []Object{o}, "NetworkPolicy", o.Name)
		sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
		if err != nil {
			t.Fatal(err)
		}
		for _, component := range []string{ComponentWeb, ComponentStreaming, ComponentSidekiq} {
			if sel.Matches(labels.Set(s.templateLabels(component))) {
				t.Errorf("NetworkPolicy %s selects the %s Pods: allow the metrics port", o.Name, component)
			}
		}
	}
}

// config/sidekiq.yml (v4.6.5, main at 4.7.0): sidekiq-scheduler runs with
// `:listened_queues_only: true` and every schedule names `queue:
// scheduler`, so the processes that serve the scheduler queue are the ones
// that enqueue the recurring jobs: more than one such Pod enqueues them
// twice. The process serving it can neither autoscale nor be scaled
// elsewhere; every other process can.
func TestSchedulerCannotAutoscaleContract(t *testing.T) {
	s := scalingSpec()
	all := DefaultSidekiq().Queues
	s.Sidekiq = []SidekiqProcess{{Name: "all", Queues: all, Resources: Resources{CPURequest: "1"},
		Autoscaling: &Autoscaling{MinReplicas: 1, MaxReplicas: 1, TargetCPU: 50}}}
	s.Defaults()
	errs := s.Validate()
	if len(errs) != 1 || errs[0].Path != "sidekiq[0].autoscaling" || !strings.Contains(errs[0].Message, "scheduler queue") {
		t.Errorf("errors %v", errs)
	}
	s.Sidekiq[0].Queues = slices.DeleteFunc(slices.Clone(all), func(q Queue) bool { return q.Name == "scheduler" })
	s.Sidekiq = append(s.Sidekiq, SidekiqProcess{Name: "scheduler", Queues: []Queue{{Name: "scheduler"}}, Concurrency: 1, Replicas: 1})
	if errs := s.Validate(); len(errs) != 0 {
		t.Errorf("a process without the scheduler queue: %v", errs)
	}
}

// Every container the instance runs (Deployments, StatefulSets, Jobs,
// CronJobs, init and sidecar containers) requests CPU and memory: the
// default where the user gives neither a request nor a limit of the kind,
// so no Pod is BestEffort and every utilization target has a base. A
// user's request wins; a limit alone is left to Kubernetes, which then
// requests as much.
func TestEveryContainerRequestsResources(t *testing.T) {
	for name, s := range map[string]*Spec{"default": defaultSpec(), "scaling": scalingSpec(),
		"everything with Cloud SQL": everythingSpec(t, true), "everything with a backup": everythingSpec(t, false), "restore": restoreSpec(false), "search": searchSpec(), "full": fullSpec(t)} {
		s.Defaults()
		objs := append(s.Render(fixedSecrets, ""), s.PrepareJob())
		if s.Restore != nil {
			objs = append(objs, s.RestoreJob())
		}
		n := 0
		for _, o := range objs {
			pod := podSpecOf(t, o)
			if pod == nil {
				continue
			}
			for _, c := range append(pod.InitContainers, pod.Containers...) {
				n++
				for _, kind := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
					_, req := c.Resources.Requests[kind]
					_, lim := c.Resources.Limits[kind]
					if !req && !lim {
						t.Errorf("%s: %s %s, container %s: no %s request", name, o.Kind, o.Name, c.Name, kind)
					}
				}
			}
		}
		if n < 5 {
			t.Errorf("%s: only %d containers seen", name, n)
		}
	}
	s := defaultSpec()
	s.WebResources = Resources{CPULimit: "2", MemoryRequest: "2Gi"}
	s.JobResources = &Resources{CPURequest: "50m"}
	s.Defaults()
	if *s.JobResources != (Resources{CPURequest: "50m", MemoryRequest: "2Gi"}) {
		t.Errorf("the Jobs' resources %+v: theirs, web's for the rest", *s.JobResources)
	}
	if s.WebResources != (Resources{CPULimit: "2", MemoryRequest: "2Gi"}) {
		t.Errorf("web's resources %+v: the user's request kept, no CPU request beside a CPU limit", s.WebResources)
	}
	if s.StreamResources != DefaultStreamResources || s.Sidekiq[0].Resources != DefaultSidekiqResources ||
		s.Embedded.Resources != DefaultDatabaseResources || s.EmbeddedRedis.Resources != DefaultRedisResources {
		t.Errorf("defaults: streaming %+v, Sidekiq %+v, PostgreSQL %+v, Redis %+v", s.StreamResources, s.Sidekiq[0].Resources, s.Embedded.Resources, s.EmbeddedRedis.Resources)
	}
}

// podSpecOf is the Pod spec of a rendered workload, nil for other kinds.
func podSpecOf(t *testing.T, o Object) *corev1.PodSpec {
	t.Helper()
	var tmpl corev1.PodTemplateSpec
	var path []string
	switch o.Kind {
	case "Deployment", "StatefulSet", "Job":
		path = []string{"spec", "template"}
	case "CronJob":
		path = []string{"spec", "jobTemplate", "spec", "template"}
	default:
		return nil
	}
	m, _, _ := unstructured.NestedMap(o.Body, path...)
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(m, &tmpl); err != nil {
		t.Fatal(err)
	}
	return &tmpl.Spec
}
