package mastodon

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// podSettingsSpec sets every Pod setting somewhere: instance-wide, over it
// on web, on one Sidekiq process, on the Jobs and on the embedded services.
func podSettingsSpec() *Spec {
	grace := int64(120)
	s := &Spec{Name: "social", Namespace: "mastodon", LocalDomain: "social.example", WebReplicas: 2, StreamReplicas: 1,
		Sidekiq: []SidekiqProcess{
			{Name: "scheduler", Queues: []Queue{{Name: "scheduler"}}, Replicas: 1},
			{Name: "main", Queues: []Queue{{Name: "default"}, {Name: "push"}, {Name: "ingress"}, {Name: "mailers"}, {Name: "pull"}, {Name: "fasp"}}, Replicas: 3,
				Pod: PodSettings{TerminationGracePeriod: &grace, Labels: map[string]string{"tier": "workers"},
					DeploymentAnnotations: map[string]string{"reloader.stakater.com/auto": "true"}}},
		},
		Maintenance: Maintenance{Tasks: map[string]MaintenanceTask{"statuses": {Enabled: ptrTo(true), RetentionDays: 30}}},
		Pod: PodSettings{
			NodeSelector:  map[string]string{"pool": "mastodon"},
			Tolerations:   []Toleration{{Key: "dedicated", Operator: "Equal", Value: "mastodon", Effect: "NoSchedule"}},
			PriorityClass: "mastodon",
			Labels:        map[string]string{"team": "fedi"},
			Annotations:   map[string]string{"vault.hashicorp.com/agent-inject": "true"},
			HostAliases:   []HostAlias{{IP: "10.0.0.5", Hostnames: []string{"smtp.internal"}}},
			DNS:           &DNSConfig{Options: map[string]string{"ndots": "2", "single-request": ""}},
			PullSecrets:   []string{"registry"},
			Volumes: []ExtraVolume{{Name: "smtp-ca", MountPath: "/etc/ssl/smtp", ReadOnly: true, ConfigMap: "smtp-ca", Items: map[string]string{"ca.crt": "ca.crt"}},
				{Name: "robots", MountPath: "/opt/mastodon/public/robots.txt", SubPath: "robots.txt", ConfigMap: "robots"}},
		},
		ComponentPods: map[string]PodSettings{
			ComponentWeb: {NodeSelector: map[string]string{"zone-class": "web"}, Labels: map[string]string{"team": "web"},
				Affinity: &Affinity{
					NodeRequired:    [][]Requirement{{{Key: "kubernetes.io/arch", Operator: "In", Values: []string{"amd64"}}}},
					PodAntiAffinity: []PodTerm{{TopologyKey: corev1.LabelHostname, MatchLabels: map[string]string{LabelComponent: ComponentWeb}, Weight: 50}},
				},
				ServiceAnnotations: map[string]string{"cloud.google.com/neg": `{"ingress": true}`}, DeploymentAnnotations: map[string]string{"keel.sh/policy": "patch"},
				RunAsUser: 1000, RunAsGroup: 1000, FSGroup: 1000},
			ComponentStreaming: {TopologySpread: []TopologySpread{}, Volumes: []ExtraVolume{{Name: "robots", MountPath: "/tmp/unused", EmptyDir: &EmptyDir{Medium: "Memory", SizeLimit: "16Mi"}},
				{Name: "secrets", MountPath: "/mnt/secrets", ReadOnly: true, CSI: &CSIVolume{Driver: "secrets-store.csi.k8s.io", Attributes: map[string]string{"secretProviderClass": "mastodon"}}}}},
			PodJobs:           {Tolerations: []Toleration{}, Annotations: map[string]string{"sidecar.istio.io/inject": "false"}},
			ComponentDatabase: {PriorityClass: "data", NodeSelector: map[string]string{"disk": "ssd"}},
		},
		JobResources:   &Resources{CPURequest: "250m", MemoryRequest: "768Mi"},
		ServiceAccount: &ServiceAccount{Annotations: map[string]string{"eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/mastodon"}},
	}
	s.Defaults()
	return s
}

func ptrTo[T any](v T) *T { return &v }

// The golden file pins where each setting lands in every kind of Pod.
func TestRenderPodSettings(t *testing.T) {
	s := podSettingsSpec()
	if errs := s.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	golden(t, "podsettings.yaml", renderYAML(t, append(s.Render(fixedSecrets, "recorded-configuration"), s.PrepareJob())))
}

// rendered finds a rendered object by kind and name and decodes it.
func rendered[T any](t *testing.T, objs []Object, kind, name string) *T {
	t.Helper()
	for _, o := range objs {
		if o.Kind == kind && o.Name == name {
			var out T
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Body, &out); err != nil {
				t.Fatal(err)
			}
			return &out
		}
	}
	t.Fatalf("no %s %s", kind, name)
	return nil
}

// What each component's Pods get: the instance's settings with the
// component's over them, maps merged key by key, lists replaced, and the
// provider's own labels, affinity and security kept.
func TestPodSettingsMergeOverTheInstance(t *testing.T) {
	s := podSettingsSpec()
	objs := s.Render(fixedSecrets, "")
	web := rendered[appsv1.Deployment](t, objs, "Deployment", "social-web")
	pod := web.Spec.Template.Spec
	if got := pod.NodeSelector; !reflect.DeepEqual(got, map[string]string{"pool": "mastodon", "zone-class": "web"}) {
		t.Errorf("web's node selector %v: the instance's merged with web's", got)
	}
	if l := web.Spec.Template.Labels; l["team"] != "web" || l[LabelComponent] != ComponentWeb || l[labelMedia] != "true" {
		t.Errorf("web's Pod labels %v: web's value over the instance's, ours kept", l)
	}
	if a := web.Spec.Template.Annotations; a["vault.hashicorp.com/agent-inject"] != "true" || a[AnnotationChecksum] == "" {
		t.Errorf("web's Pod annotations %v: the instance's and the checksum", a)
	}
	if web.Annotations["keel.sh/policy"] != "patch" {
		t.Errorf("web's Deployment annotations %v", web.Annotations)
	}
	if len(pod.Tolerations) != 1 || pod.PriorityClassName != "mastodon" || len(pod.HostAliases) != 1 || pod.DNSConfig == nil ||
		len(pod.ImagePullSecrets) != 1 || pod.ImagePullSecrets[0].Name != "registry" {
		t.Errorf("web lost the instance's settings: %+v", pod)
	}
	// The media volume's affinity (ReadWriteOnce) and the user's node and
	// Pod anti-affinity, together.
	if a := pod.Affinity; a == nil || a.PodAffinity == nil || len(a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution) != 1 ||
		a.NodeAffinity == nil || a.PodAntiAffinity == nil || len(a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution) != 1 {
		t.Errorf("web's affinity %+v: the media volume's and the user's", a)
	}
	if sc := pod.SecurityContext; *sc.RunAsUser != 1000 || *sc.RunAsGroup != 1000 || *sc.FSGroup != 1000 || !*sc.RunAsNonRoot || sc.SeccompProfile == nil {
		t.Errorf("web's security context %+v: the user's IDs, the rest restricted", sc)
	}
	if len(pod.TopologySpreadConstraints) != 2 || pod.TopologySpreadConstraints[0].LabelSelector.MatchLabels[LabelComponent] != ComponentWeb {
		t.Errorf("web keeps the default spread, counting its own Pods: %+v", pod.TopologySpreadConstraints)
	}
	svc := rendered[corev1.Service](t, objs, "Service", "social-web")
	if svc.Annotations["cloud.google.com/neg"] == "" {
		t.Errorf("web's Service annotations %v", svc.Annotations)
	}

	mounts := func(p corev1.PodSpec) map[string]string {
		out := map[string]string{}
		for _, m := range p.Containers[0].VolumeMounts {
			out[m.Name] = m.MountPath
		}
		return out
	}
	if m := mounts(pod); m["smtp-ca"] != "/etc/ssl/smtp" || m["robots"] != "/opt/mastodon/public/robots.txt" || m["media"] == "" {
		t.Errorf("web's mounts %v: the instance's volumes beside the media volume", m)
	}
	streaming := rendered[appsv1.Deployment](t, objs, "Deployment", "social-streaming")
	if m := mounts(streaming.Spec.Template.Spec); m["robots"] != "/tmp/unused" || m["smtp-ca"] == "" || m["secrets"] == "" {
		t.Errorf("streaming's mounts %v: its robots replaces the instance's, the rest added", m)
	}
	if n := len(streaming.Spec.Template.Spec.TopologySpreadConstraints); n != 0 {
		t.Errorf("streaming's empty topology_spread replaces the default, got %d constraints", n)
	}
	if streaming.Spec.Template.Spec.NodeSelector["pool"] != "mastodon" || streaming.Spec.Template.Spec.NodeSelector["zone-class"] != "" {
		t.Errorf("streaming's node selector %v: the instance's only", streaming.Spec.Template.Spec.NodeSelector)
	}

	main := rendered[appsv1.Deployment](t, objs, "Deployment", "social-sidekiq-main")
	if g := main.Spec.Template.Spec.TerminationGracePeriodSeconds; g == nil || *g != 120 {
		t.Errorf("Sidekiq main's grace period %v", g)
	}
	if main.Annotations["reloader.stakater.com/auto"] != "true" || main.Spec.Template.Labels["tier"] != "workers" {
		t.Errorf("Sidekiq main: Deployment annotations %v, Pod labels %v", main.Annotations, main.Spec.Template.Labels)
	}
	if n := len(main.Spec.Template.Spec.TopologySpreadConstraints); n != 0 {
		t.Errorf("Sidekiq has no default spread (its Pods share the media volume's node), got %d", n)
	}
	scheduler := rendered[appsv1.Deployment](t, objs, "Deployment", "social-sidekiq-scheduler")
	if scheduler.Spec.Template.Spec.TerminationGracePeriodSeconds != nil || scheduler.Spec.Template.Labels["tier"] != "" {
		t.Error("one process's settings reached another")
	}

	db := rendered[appsv1.StatefulSet](t, objs, "StatefulSet", "social-postgresql")
	if p := db.Spec.Template.Spec; p.PriorityClassName != "data" || p.NodeSelector["disk"] != "ssd" || p.NodeSelector["pool"] != "mastodon" ||
		*p.SecurityContext.RunAsUser == 1000 || len(p.ImagePullSecrets) != 1 {
		t.Errorf("the embedded PostgreSQL's Pod %+v", p)
	}

	cron := rendered[batchv1.CronJob](t, objs, "CronJob", s.MaintenanceName("statuses"))
	jp := cron.Spec.JobTemplate.Spec.Template
	if len(jp.Spec.Tolerations) != 0 || jp.Annotations["sidecar.istio.io/inject"] != "false" || jp.Spec.NodeSelector["pool"] != "mastodon" {
		t.Errorf("the CronJob's Pod: the Jobs' empty tolerations replace the instance's, their annotations added: %+v %v", jp.Spec, jp.Annotations)
	}
	if r := jp.Spec.Containers[0].Resources.Requests; r.Cpu().String() != "250m" || r.Memory().String() != "768Mi" {
		t.Errorf("the CronJob's resources %v: jobs.resources", r)
	}
	job := rendered[batchv1.Job](t, []Object{s.PrepareJob()}, "Job", s.PrepareJobName())
	if job.Spec.Template.Annotations["sidecar.istio.io/inject"] != "false" || job.Spec.Template.Spec.Containers[0].Resources.Requests.Cpu().String() != "250m" {
		t.Errorf("the prepare Job's Pod %+v", job.Spec.Template)
	}

	// An account's Job copies web's Pod but carries the Jobs' labels and
	// annotations (an Istio sidecar would keep it from ever completing),
	// not web's own.
	acct := rendered[batchv1.Job](t, []Object{AccountJob("mastodon", "social", "j", JobBaseOf(web), Account{Username: "alice"}, Ensure, "s")}, "Job", "j").Spec.Template
	if acct.Annotations["sidecar.istio.io/inject"] != "false" || acct.Annotations["vault.hashicorp.com/agent-inject"] != "true" ||
		acct.Labels["team"] != "fedi" || acct.Labels[LabelComponent] != ComponentAccount {
		t.Errorf("the account Job's Pod: labels %v, annotations %v", acct.Labels, acct.Annotations)
	}
	if _, ok := acct.Annotations[AnnotationChecksum]; ok {
		t.Error("the account Job's Pod carries web's checksum")
	}

	sa := rendered[corev1.ServiceAccount](t, objs, "ServiceAccount", "social")
	if sa.Annotations["eks.amazonaws.com/role-arn"] == "" || sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
		t.Errorf("the instance's ServiceAccount %+v", sa)
	}
	for _, name := range []string{"social-web", "social-streaming", "social-sidekiq-main"} {
		if got := rendered[appsv1.Deployment](t, objs, "Deployment", name).Spec.Template.Spec.ServiceAccountName; got != "social" {
			t.Errorf("%s runs as %q", name, got)
		}
	}
}

// A setting of one component rolls only that component: the other
// Deployments' Pod templates stay byte for byte.
func TestPodSettingsRollOnlyTheirComponent(t *testing.T) {
	templates := func(s *Spec) map[string]string {
		out := map[string]string{}
		for _, o := range s.Render(fixedSecrets, "") {
			if o.Kind == "Deployment" || o.Kind == "StatefulSet" {
				spec, _ := o.Body["spec"].(map[string]any)
				b, _ := json.Marshal(spec["template"])
				out[o.Name] = string(b)
			}
		}
		return out
	}
	before := templates(podSettingsSpec())
	changes := map[string]func(s *Spec){
		"social-web": func(s *Spec) {
			p := s.ComponentPods[ComponentWeb]
			p.Labels = map[string]string{"team": "other"}
			s.ComponentPods[ComponentWeb] = p
		},
		"social-sidekiq-main": func(s *Spec) {
			s.Sidekiq[1].Pod.TerminationGracePeriod = ptrTo[int64](30)
		},
		"social-postgresql": func(s *Spec) {
			p := s.ComponentPods[ComponentDatabase]
			p.PriorityClass = "other"
			s.ComponentPods[ComponentDatabase] = p
		},
	}
	for changed, change := range changes {
		s := podSettingsSpec()
		change(s)
		after := templates(s)
		for name, tmpl := range before {
			if (after[name] != tmpl) != (name == changed) {
				t.Errorf("changing %s's settings: %s's Pod template changed: %v", changed, name, after[name] != tmpl)
			}
		}
	}
	// Deployment and Service annotations are not in the Pod template.
	s := podSettingsSpec()
	s.Sidekiq[1].Pod.DeploymentAnnotations = map[string]string{"other": "x"}
	p := s.ComponentPods[ComponentWeb]
	p.ServiceAnnotations, p.DeploymentAnnotations = nil, nil
	s.ComponentPods[ComponentWeb] = p
	if after := templates(s); !reflect.DeepEqual(after, before) {
		t.Error("a Deployment's or Service's annotations changed a Pod template")
	}
}

// Without any setting the Pods are what they were, but for the default
// spread of web and streaming; an existing ServiceAccount is named.
func TestPodSettingsDefaultsAndExistingServiceAccount(t *testing.T) {
	s := defaultSpec()
	s.ServiceAccount = &ServiceAccount{Name: "mastodon-irsa"}
	objs := s.Render(fixedSecrets, "")
	for _, o := range objs {
		if o.Kind == "ServiceAccount" {
			t.Errorf("an existing ServiceAccount is not rendered: %s", o.Name)
		}
	}
	web := rendered[appsv1.Deployment](t, objs, "Deployment", "social-web")
	if web.Spec.Template.Spec.ServiceAccountName != "mastodon-irsa" || len(web.Spec.Template.Spec.TopologySpreadConstraints) != 2 {
		t.Errorf("web: %+v", web.Spec.Template.Spec)
	}
	for _, c := range web.Spec.Template.Spec.TopologySpreadConstraints {
		if c.WhenUnsatisfiable != corev1.ScheduleAnyway || c.MaxSkew != 1 {
			t.Errorf("the default spread never blocks scheduling: %+v", c)
		}
	}
	if got := rendered[appsv1.Deployment](t, objs, "Deployment", "social-sidekiq-all").Spec.Template.Spec.TopologySpreadConstraints; got != nil {
		t.Errorf("Sidekiq has no default spread: %+v", got)
	}
	// An account Job runs in a copy of web's Pod: web's spread counts
	// web's Pods, not the Job's.
	job := rendered[batchv1.Job](t, []Object{AccountJob("mastodon", "social", "j", JobBaseOf(web), Account{Username: "alice"}, Ensure, "s")}, "Job", "j")
	if job.Spec.Template.Spec.TopologySpreadConstraints != nil {
		t.Error("an account Job kept web's spread")
	}
	if _, ok := web.Annotations[AnnotationJobPod]; ok || job.Spec.Template.Annotations != nil {
		t.Errorf("without settings nothing is recorded for the Jobs: %v, %v", web.Annotations, job.Spec.Template.Annotations)
	}
}

// Each refusal, with the attribute it names; the same settings are
// accepted where the refusal does not apply.
func TestPodSettingsRefusals(t *testing.T) {
	for _, c := range []struct {
		name, path string
		change     func(s *Spec)
	}{
		{"a provider's label", "pod.labels", func(s *Spec) { s.Pod.Labels = map[string]string{LabelInstance: "other"} }},
		{"a provider's annotation", "web.pod.annotations", func(s *Spec) {
			s.ComponentPods = map[string]PodSettings{ComponentWeb: {Annotations: map[string]string{AnnotationChecksum: "x"}}}
		}},
		{"an invalid label value", "pod.labels", func(s *Spec) { s.Pod.Labels = map[string]string{"team": "a b"} }},
		{"a provider's Service annotation", "web.service_annotations", func(s *Spec) {
			s.ComponentPods = map[string]PodSettings{ComponentWeb: {ServiceAnnotations: map[string]string{"mastodon.tootform.dev/x": "y"}}}
		}},
		{"a value with Exists", "pod.tolerations[0].value", func(s *Spec) { s.Pod.Tolerations = []Toleration{{Key: "k", Operator: "Exists", Value: "v"}} }},
		{"no key with Equal", "pod.tolerations[0].key", func(s *Spec) { s.Pod.Tolerations = []Toleration{{Operator: "Equal", Value: "v"}} }},
		{"seconds without NoExecute", "pod.tolerations[0].toleration_seconds", func(s *Spec) {
			s.Pod.Tolerations = []Toleration{{Key: "k", Operator: "Exists", Effect: "NoSchedule", Seconds: ptrTo[int64](5)}}
		}},
		{"In without values", "pod.affinity.node_required[0].match_expressions[0].values", func(s *Spec) {
			s.Pod.Affinity = &Affinity{NodeRequired: [][]Requirement{{{Key: "k", Operator: "In"}}}}
		}},
		{"Gt with two values", "jobs.pod.affinity.node_preferred[0].match_expressions[0].values", func(s *Spec) {
			s.ComponentPods = map[string]PodSettings{PodJobs: {Affinity: &Affinity{NodePreferred: []WeightedTerm{{Weight: 1, Match: []Requirement{{Key: "k", Operator: "Gt", Values: []string{"1", "2"}}}}}}}}
		}},
		{"Lt with a word", "pod.affinity.node_required[0].match_expressions[0].values", func(s *Spec) {
			s.Pod.Affinity = &Affinity{NodeRequired: [][]Requirement{{{Key: "cpus", Operator: "Lt", Values: []string{"eight"}}}}}
		}},
		{"a node label key that is none", "pod.affinity.node_required[0].match_expressions[0].key", func(s *Spec) {
			s.Pod.Affinity = &Affinity{NodeRequired: [][]Requirement{{{Key: "a b", Operator: "Exists"}}}}
		}},
		{"a taint key that is none", "pod.tolerations[0].key", func(s *Spec) { s.Pod.Tolerations = []Toleration{{Key: "no/way/x", Operator: "Exists"}} }},
		{"an affinity term that selects no label", "web.pod.affinity.pod_affinity[0].match_labels", func(s *Spec) {
			s.ComponentPods = map[string]PodSettings{ComponentWeb: {Affinity: &Affinity{PodAffinity: []PodTerm{{TopologyKey: corev1.LabelHostname, MatchLabels: map[string]string{}, Weight: 5}}}}}
		}},
		{"two spreads by one key and action", "streaming.pod.topology_spread[1]", func(s *Spec) {
			s.ComponentPods = map[string]PodSettings{ComponentStreaming: {TopologySpread: []TopologySpread{
				{TopologyKey: corev1.LabelTopologyZone, MaxSkew: 1, WhenUnsatisfiable: "ScheduleAnyway"},
				{TopologyKey: corev1.LabelTopologyZone, MaxSkew: 2, WhenUnsatisfiable: "ScheduleAnyway"}}}}
		}},
		{"a host alias that is no address", "pod.host_aliases[0].ip", func(s *Spec) { s.Pod.HostAliases = []HostAlias{{IP: "smtp", Hostnames: []string{"x"}}} }},
		{"four name servers", "pod.dns_config.nameservers", func(s *Spec) {
			s.Pod.DNS = &DNSConfig{Nameservers: []string{"1.1.1.1", "8.8.8.8", "9.9.9.9", "1.0.0.1"}}
		}},
		{"a bad pull secret name", "sidekiq[0].pod.image_pull_secrets", func(s *Spec) { s.Sidekiq[0].Pod.PullSecrets = []string{"Bad_Name"} }},
		{"web and Sidekiq on different pools with one RWO volume", "web.pod.node_selector", func(s *Spec) {
			s.ComponentPods = map[string]PodSettings{ComponentWeb: {NodeSelector: map[string]string{"pool": "web"}}}
			s.Sidekiq[0].Pod.NodeSelector = map[string]string{"pool": "workers"}
		}},
		{"a hard spread across nodes of two web Pods on one RWO volume", "web.pod.topology_spread", func(s *Spec) {
			s.WebReplicas = 2
			s.ComponentPods = map[string]PodSettings{ComponentWeb: {TopologySpread: []TopologySpread{{TopologyKey: corev1.LabelHostname, MaxSkew: 1, WhenUnsatisfiable: "DoNotSchedule"}}}}
		}},
		{"a required anti-affinity of web from itself on one RWO volume", "web.pod.affinity.pod_anti_affinity", func(s *Spec) {
			s.WebReplicas = 3
			s.Pod.Labels = map[string]string{"app": "mastodon-web"}
			s.ComponentPods = map[string]PodSettings{ComponentWeb: {Affinity: &Affinity{PodAntiAffinity: []PodTerm{{TopologyKey: corev1.LabelHostname, MatchLabels: map[string]string{"app": "mastodon-web"}}}}}}
		}},
		{"a volume named as the media volume", "web.pod.volumes[0].name", func(s *Spec) {
			s.ComponentPods = map[string]PodSettings{ComponentWeb: {Volumes: []ExtraVolume{{Name: "media", MountPath: "/mnt/x", EmptyDir: &EmptyDir{}}}}}
		}},
		{"a mount over the media volume", "sidekiq[0].pod.volumes[0].mount_path", func(s *Spec) {
			s.Sidekiq[0].Pod.Volumes = []ExtraVolume{{Name: "x", MountPath: MediaPath + "/cache", EmptyDir: &EmptyDir{}}}
		}},
		{"a mount around the media volume, for every Pod", "pod.volumes[0].mount_path", func(s *Spec) {
			s.Pod.Volumes = []ExtraVolume{{Name: "x", MountPath: "/opt/mastodon/public", ConfigMap: "c"}}
		}},
		{"a mount that hides the application", "streaming.pod.volumes[0].mount_path", func(s *Spec) {
			s.ComponentPods = map[string]PodSettings{ComponentStreaming: {Volumes: []ExtraVolume{{Name: "x", MountPath: "/opt/mastodon/", ConfigMap: "c"}}}}
		}},
		{"a relative mount path", "pod.volumes[0].mount_path", func(s *Spec) { s.Pod.Volumes = []ExtraVolume{{Name: "x", MountPath: "etc/x", Secret: "s"}} }},
		{"two sources", "pod.volumes[0]", func(s *Spec) {
			s.Pod.Volumes = []ExtraVolume{{Name: "x", MountPath: "/etc/x", Secret: "s", ConfigMap: "c"}}
		}},
		{"no source", "pod.volumes[0]", func(s *Spec) { s.Pod.Volumes = []ExtraVolume{{Name: "x", MountPath: "/etc/x"}} }},
		{"two volumes of one name", "pod.volumes[1].name", func(s *Spec) {
			s.Pod.Volumes = []ExtraVolume{{Name: "x", MountPath: "/etc/x", Secret: "s"}, {Name: "x", MountPath: "/etc/y", Secret: "t"}}
		}},
		{"an item path out of the volume", "pod.volumes[0].items", func(s *Spec) {
			s.Pod.Volumes = []ExtraVolume{{Name: "x", MountPath: "/etc/x", Secret: "s", Items: map[string]string{"k": "../k"}}}
		}},
		{"a size that is no quantity", "pod.volumes[0].empty_dir.size_limit", func(s *Spec) {
			s.Pod.Volumes = []ExtraVolume{{Name: "x", MountPath: "/etc/x", EmptyDir: &EmptyDir{SizeLimit: "a lot"}}}
		}},
		{"annotations on an existing ServiceAccount", "service_account.annotations", func(s *Spec) {
			s.ServiceAccount = &ServiceAccount{Name: "existing", Annotations: map[string]string{"eks.amazonaws.com/role-arn": "x"}}
		}},
		{"Cloud SQL's Workload Identity with an existing ServiceAccount", "database.cloud_sql.workload_identity_service_account", func(s *Spec) {
			s.Database = &Database{User: "u", CloudSQL: &CloudSQL{InstanceConnectionName: "p:r:i", WorkloadIdentityServiceAccount: "m@p.iam.gserviceaccount.com"}}
			s.Defaults()
			s.ServiceAccount = &ServiceAccount{Name: "existing"}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := defaultSpec()
			c.change(s)
			if p := errorPaths(s.Validate()); !slices.Contains(p, c.path) {
				t.Errorf("want an error at %s, got %v", c.path, s.Validate())
			}
		})
	}
	// What the never-schedulable rules allow: a bucket or ReadWriteMany,
	// one Pod, a soft spread, a preferred or foreign anti-affinity.
	for _, c := range []struct {
		name   string
		change func(s *Spec)
	}{
		{"different pools with a bucket", func(s *Spec) {
			s.MediaBucket = &MediaBucket{Bucket: "b", Endpoint: "https://s3.example", Region: "r", AccessKeyID: "a", SecretAccessKey: "s"}
			s.ComponentPods = map[string]PodSettings{ComponentWeb: {NodeSelector: map[string]string{"pool": "web"}}}
			s.Sidekiq[0].Pod.NodeSelector = map[string]string{"pool": "workers"}
		}},
		{"different pools with ReadWriteMany", func(s *Spec) {
			s.Media.AccessMode = "ReadWriteMany"
			s.ComponentPods = map[string]PodSettings{ComponentWeb: {NodeSelector: map[string]string{"pool": "web"}}}
			s.Sidekiq[0].Pod.NodeSelector = map[string]string{"pool": "workers"}
		}},
		{"streaming elsewhere", func(s *Spec) {
			s.ComponentPods = map[string]PodSettings{ComponentStreaming: {NodeSelector: map[string]string{"pool": "edge"}}}
			s.Pod.NodeSelector = map[string]string{"pool": "mastodon"}
		}},
		{"a hard spread of one web Pod", func(s *Spec) {
			s.ComponentPods = map[string]PodSettings{ComponentWeb: {TopologySpread: []TopologySpread{{TopologyKey: corev1.LabelHostname, MaxSkew: 1, WhenUnsatisfiable: "DoNotSchedule"}}}}
		}},
		{"the media path in streaming, which has no media volume", func(s *Spec) {
			s.ComponentPods = map[string]PodSettings{ComponentStreaming: {Volumes: []ExtraVolume{{Name: "x", MountPath: MediaPath, EmptyDir: &EmptyDir{}}}}}
		}},
		{"the media path with a bucket", func(s *Spec) {
			s.MediaBucket = &MediaBucket{Bucket: "b", Endpoint: "https://s3.example", Region: "r", AccessKeyID: "a", SecretAccessKey: "s"}
			s.Pod.Volumes = []ExtraVolume{{Name: "media", MountPath: MediaPath, EmptyDir: &EmptyDir{}}}
		}},
		{"a robots.txt beside the application's files", func(s *Spec) {
			s.Pod.Volumes = []ExtraVolume{{Name: "robots", MountPath: "/opt/mastodon/public/robots.txt", SubPath: "robots.txt", ConfigMap: "robots"}}
		}},
		{"a preferred anti-affinity", func(s *Spec) {
			s.WebReplicas = 3
			s.ComponentPods = map[string]PodSettings{ComponentWeb: {Affinity: &Affinity{PodAntiAffinity: []PodTerm{{TopologyKey: corev1.LabelHostname, MatchLabels: s.selector(ComponentWeb), Weight: 10}}}}}
		}},
		{"one key spread with both actions", func(s *Spec) {
			s.ComponentPods = map[string]PodSettings{ComponentStreaming: {TopologySpread: []TopologySpread{
				{TopologyKey: corev1.LabelTopologyZone, MaxSkew: 1, WhenUnsatisfiable: "ScheduleAnyway"},
				{TopologyKey: corev1.LabelTopologyZone, MaxSkew: 3, WhenUnsatisfiable: "DoNotSchedule"}}}}
		}},
		{"Gt with an integer", func(s *Spec) {
			s.Pod.Affinity = &Affinity{NodeRequired: [][]Requirement{{{Key: "cpus", Operator: "Gt", Values: []string{"8"}}}}}
		}},
		{"an anti-affinity from another app", func(s *Spec) {
			s.WebReplicas = 3
			s.ComponentPods = map[string]PodSettings{ComponentWeb: {Affinity: &Affinity{PodAntiAffinity: []PodTerm{{TopologyKey: corev1.LabelHostname, MatchLabels: map[string]string{"app": "noisy"}}}}}}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := defaultSpec()
			c.change(s)
			if errs := s.Validate(); len(errs) > 0 {
				t.Errorf("refused: %v", errs)
			}
		})
	}
}

// The node-selector rule names the other attribute it reads, so the
// provider leaves it out while that one is unknown.
func TestPodSettingsRefusalsNameWhatTheyRead(t *testing.T) {
	s := defaultSpec()
	s.ComponentPods = map[string]PodSettings{ComponentWeb: {NodeSelector: map[string]string{"pool": "web"}}}
	s.Sidekiq[0].Pod.NodeSelector = map[string]string{"pool": "workers"}
	for _, e := range s.Validate() {
		if strings.HasSuffix(e.Path, "node_selector") && !slices.Contains(e.Related, "jobs.pod.node_selector") && !slices.Contains(e.Related, "sidekiq[0].pod.node_selector") &&
			!slices.Contains(e.Related, "web.pod.node_selector") {
			t.Errorf("%s does not name the selector it conflicts with: %v", e.Path, e.Related)
		}
	}
}

// The instance-wide user and group are Mastodon's: they never reach the
// embedded PostgreSQL (its image's postgres user, 70) and Redis (999),
// which would then not own their data and crash-loop; their own block
// still may change them.
func TestPodSettingsUserStaysOffTheEmbeddedServices(t *testing.T) {
	s := defaultSpec()
	s.Pod = PodSettings{RunAsUser: 1000, RunAsGroup: 1001, FSGroup: 1002}
	objs := s.Render(fixedSecrets, "")
	ids := func(sc *corev1.PodSecurityContext) [3]int64 {
		return [3]int64{*sc.RunAsUser, *sc.RunAsGroup, *sc.FSGroup}
	}
	if got := ids(rendered[appsv1.Deployment](t, objs, "Deployment", "social-web").Spec.Template.Spec.SecurityContext); got != [3]int64{1000, 1001, 1002} {
		t.Errorf("web runs as %v: the instance's user", got)
	}
	for name, want := range map[string]int64{"social-postgresql": 70, "social-redis": 999} {
		if got := ids(rendered[appsv1.StatefulSet](t, objs, "StatefulSet", name).Spec.Template.Spec.SecurityContext); got != [3]int64{want, want, want} {
			t.Errorf("%s runs as %v, want its image's user %d", name, got, want)
		}
	}
	s.ComponentPods = map[string]PodSettings{ComponentDatabase: {RunAsUser: 26, FSGroup: 26}}
	db := rendered[appsv1.StatefulSet](t, s.Render(fixedSecrets, ""), "StatefulSet", "social-postgresql")
	if got := ids(db.Spec.Template.Spec.SecurityContext); got != [3]int64{26, 70, 26} {
		t.Errorf("the embedded PostgreSQL's own block: runs as %v", got)
	}
}

// A spread whose match_labels is empty counts the component's own Pods,
// as one without: an empty selector would vanish from the object and
// count nothing.
func TestPodSettingsEmptySpreadSelectorCountsOwnPods(t *testing.T) {
	s := defaultSpec()
	s.ComponentPods = map[string]PodSettings{ComponentStreaming: {TopologySpread: []TopologySpread{
		{TopologyKey: corev1.LabelTopologyZone, MaxSkew: 1, WhenUnsatisfiable: "ScheduleAnyway", MatchLabels: map[string]string{}}}}}
	d := rendered[appsv1.Deployment](t, s.Render(fixedSecrets, ""), "Deployment", "social-streaming")
	c := d.Spec.Template.Spec.TopologySpreadConstraints
	if len(c) != 1 || c[0].LabelSelector == nil || c[0].LabelSelector.MatchLabels[LabelComponent] != ComponentStreaming {
		t.Errorf("streaming's spread %+v: counting its own Pods", c)
	}
}
