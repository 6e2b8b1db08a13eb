package mastodon

import (
	"encoding/json"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// PodSettings are what a cluster asks of a Pod besides Mastodon: where it
// may run, its labels and annotations for other controllers, and the
// Pod-level knobs. The instance has one set for every Pod (Spec.Pod) and
// each component may override it (Spec.ComponentPods): a map merges key by
// key (the component's value wins), anything else set on the component
// replaces the instance's.
type PodSettings struct {
	NodeSelector map[string]string `json:",omitempty"`
	// Tolerations, Affinity terms and TopologySpread: nil is "not set"
	// (the instance's, or the default), an empty list is "none".
	Tolerations    []Toleration      `json:",omitempty"`
	Affinity       *Affinity         `json:",omitempty"`
	TopologySpread []TopologySpread  `json:",omitempty"`
	PriorityClass  string            `json:",omitempty"`
	Labels         map[string]string `json:",omitempty"`
	Annotations    map[string]string `json:",omitempty"`
	// RunAsUser, RunAsGroup and FSGroup replace the image's user (991 in
	// Mastodon's images) for images built differently; 0 is "not set".
	RunAsUser, RunAsGroup, FSGroup int64
	HostAliases                    []HostAlias `json:",omitempty"`
	DNS                            *DNSConfig  `json:",omitempty"`
	// TerminationGracePeriod in seconds, nil for Kubernetes' default (30).
	TerminationGracePeriod *int64 `json:",omitempty"`
	// PullSecrets replace image.pull_secrets when not nil.
	PullSecrets []string `json:",omitempty"`
	// Volumes are mounted in the Pods' main container (Mastodon's, or the
	// embedded service's); the component's are added to the instance's
	// (one of the same name replaces it).
	Volumes []ExtraVolume `json:",omitempty"`
	// DeploymentAnnotations and ServiceAnnotations go on the component's
	// Deployment and Service (web and streaming).
	DeploymentAnnotations map[string]string `json:",omitempty"`
	ServiceAnnotations    map[string]string `json:",omitempty"`
}

// ExtraVolume is a volume someone else's object provides (a Secret, a
// ConfigMap, a CSI driver) or an emptyDir, mounted at MountPath: custom
// CAs and files Mastodon reads (SMTP_CA_FILE, an LDAP or CAS certificate,
// a robots.txt with SubPath).
type ExtraVolume struct {
	Name, MountPath, SubPath string
	ReadOnly                 bool
	// One source: Secret or ConfigMap (a name, with Items mapping keys to
	// paths, all keys when empty), EmptyDir, or CSI.
	Secret, ConfigMap string            `json:",omitempty"`
	Items             map[string]string `json:",omitempty"`
	EmptyDir          *EmptyDir         `json:",omitempty"`
	CSI               *CSIVolume        `json:",omitempty"`
}

// EmptyDir is a scratch volume.
type EmptyDir struct {
	Medium, SizeLimit string
}

// CSIVolume is an inline CSI volume (the Secrets Store CSI driver).
type CSIVolume struct {
	Driver     string
	Attributes map[string]string `json:",omitempty"`
}

// Toleration lets a Pod run on tainted nodes.
type Toleration struct {
	Key, Operator, Value, Effect string
	Seconds                      *int64 `json:",omitempty"`
}

// Affinity constrains the nodes a Pod runs on and its place beside other
// Pods.
type Affinity struct {
	// NodeRequired are node selector terms, any of which a node must meet.
	NodeRequired [][]Requirement `json:",omitempty"`
	// NodePreferred are weighted terms the scheduler prefers.
	NodePreferred []WeightedTerm `json:",omitempty"`
	// PodAffinity and PodAntiAffinity: a term with a weight is preferred,
	// without one required.
	PodAffinity, PodAntiAffinity []PodTerm `json:",omitempty"`
}

// Requirement is a node label requirement (In, NotIn, Exists,
// DoesNotExist, Gt, Lt).
type Requirement struct {
	Key, Operator string
	Values        []string `json:",omitempty"`
}

// WeightedTerm is a preferred node selector term.
type WeightedTerm struct {
	Weight int32
	Match  []Requirement
}

// PodTerm places a Pod beside (or away from) the Pods with MatchLabels in
// the same domain of TopologyKey.
type PodTerm struct {
	TopologyKey string
	MatchLabels map[string]string
	Namespaces  []string `json:",omitempty"`
	Weight      int32    // 0: required
}

// TopologySpread spreads a component's Pods across the domains of
// TopologyKey.
type TopologySpread struct {
	TopologyKey       string
	MaxSkew           int32
	WhenUnsatisfiable string
	// MatchLabels selects the Pods counted; none counts the component's own.
	MatchLabels map[string]string `json:",omitempty"`
}

// HostAlias is an /etc/hosts entry.
type HostAlias struct {
	IP        string
	Hostnames []string
}

// DNSConfig adds to the Pod's resolver configuration.
type DNSConfig struct {
	Nameservers, Searches []string          `json:",omitempty"`
	Options               map[string]string `json:",omitempty"`
}

// The components whose Pods have settings of their own (Spec.ComponentPods):
// web, streaming, the embedded services and the Jobs and CronJobs; each
// Sidekiq process has its own (SidekiqProcess.Pod).
const PodJobs = "jobs"

// podComponents name the blocks whose settings ComponentPods holds, with
// their attribute.
var podComponents = map[string]string{
	ComponentWeb: "web.pod", ComponentStreaming: "streaming.pod", ComponentDatabase: "embedded_database.pod",
	ComponentRedis: "embedded_redis.pod", PodJobs: "jobs.pod", ComponentCacheRedis: "embedded_cache_redis.pod",
}

// The default spread of web and streaming: across nodes and zones, as far
// as the cluster allows (ScheduleAnyway), so that one node's or one zone's
// loss does not take every Pod of a component.
var defaultSpread = []TopologySpread{
	{TopologyKey: corev1.LabelHostname, MaxSkew: 1, WhenUnsatisfiable: string(corev1.ScheduleAnyway)},
	{TopologyKey: corev1.LabelTopologyZone, MaxSkew: 1, WhenUnsatisfiable: string(corev1.ScheduleAnyway)},
}

// over is o over d: o's maps merged over d's, o's other settings in place
// of d's where o sets them.
func (d PodSettings) over(o PodSettings) PodSettings {
	merge := func(a, b map[string]string) map[string]string {
		if len(a)+len(b) == 0 {
			return nil
		}
		out := maps.Clone(a)
		if out == nil {
			out = map[string]string{}
		}
		maps.Copy(out, b)
		return out
	}
	r := d
	r.NodeSelector, r.Labels, r.Annotations = merge(d.NodeSelector, o.NodeSelector), merge(d.Labels, o.Labels), merge(d.Annotations, o.Annotations)
	r.DeploymentAnnotations, r.ServiceAnnotations = merge(d.DeploymentAnnotations, o.DeploymentAnnotations), merge(d.ServiceAnnotations, o.ServiceAnnotations)
	if o.Tolerations != nil {
		r.Tolerations = o.Tolerations
	}
	if o.Affinity != nil {
		r.Affinity = o.Affinity
	}
	if o.TopologySpread != nil {
		r.TopologySpread = o.TopologySpread
	}
	if o.PriorityClass != "" {
		r.PriorityClass = o.PriorityClass
	}
	for _, f := range []struct{ to, from *int64 }{{&r.RunAsUser, &o.RunAsUser}, {&r.RunAsGroup, &o.RunAsGroup}, {&r.FSGroup, &o.FSGroup}} {
		if *f.from != 0 {
			*f.to = *f.from
		}
	}
	if o.HostAliases != nil {
		r.HostAliases = o.HostAliases
	}
	if len(o.Volumes) > 0 {
		var vs []ExtraVolume
		for _, v := range d.Volumes {
			if !slices.ContainsFunc(o.Volumes, func(w ExtraVolume) bool { return w.Name == v.Name }) {
				vs = append(vs, v)
			}
		}
		vs = append(vs, o.Volumes...)
		r.Volumes = vs
	}
	if o.DNS != nil {
		r.DNS = o.DNS
	}
	if o.TerminationGracePeriod != nil {
		r.TerminationGracePeriod = o.TerminationGracePeriod
	}
	if o.PullSecrets != nil {
		r.PullSecrets = o.PullSecrets
	}
	return r
}

// PodSettingsOf are the settings of a component's Pods (a key of
// podComponents), or of a Sidekiq process's when process is not "": the
// instance's, overridden by the component's, with the default spread for
// web and streaming. The instance's user and group never reach the
// embedded PostgreSQL and Redis.
func (s *Spec) PodSettingsOf(component, process string) PodSettings {
	own := s.ComponentPods[component]
	if component == ComponentSidekiq {
		own = PodSettings{}
		for _, p := range s.Sidekiq {
			if p.Name == process {
				own = p.Pod
			}
		}
	}
	base := s.Pod
	if component == ComponentDatabase || component == ComponentRedis || component == ComponentCacheRedis {
		// The embedded services run as their images' own users (postgres,
		// redis): the instance's user is Mastodon's and would not own
		// their data. Only their own block may change it.
		base.RunAsUser, base.RunAsGroup, base.FSGroup = 0, 0, 0
	}
	r := base.over(own)
	if r.TopologySpread == nil && (component == ComponentWeb || component == ComponentStreaming) {
		r.TopologySpread = defaultSpread
	}
	return r
}

// applyPod puts a component's settings into its Pod template: own are the
// labels that select the component's Pods (what a topology spread counts
// by default). The Pod's own labels and its affinity (the media volume's)
// stay: the settings add to them.
func (p PodSettings) applyPod(meta *metav1.ObjectMeta, pod *corev1.PodSpec, own map[string]string) {
	addMeta(meta, p.Labels, p.Annotations)
	pod.NodeSelector = p.NodeSelector
	pod.PriorityClassName = p.PriorityClass
	pod.TerminationGracePeriodSeconds = p.TerminationGracePeriod
	for _, t := range p.Tolerations {
		pod.Tolerations = append(pod.Tolerations, corev1.Toleration{Key: t.Key, Operator: corev1.TolerationOperator(t.Operator),
			Value: t.Value, Effect: corev1.TaintEffect(t.Effect), TolerationSeconds: t.Seconds})
	}
	for _, h := range p.HostAliases {
		pod.HostAliases = append(pod.HostAliases, corev1.HostAlias{IP: h.IP, Hostnames: h.Hostnames})
	}
	if d := p.DNS; d != nil {
		cfg := &corev1.PodDNSConfig{Nameservers: d.Nameservers, Searches: d.Searches}
		for _, k := range slices.Sorted(maps.Keys(d.Options)) {
			o := corev1.PodDNSConfigOption{Name: k}
			if v := d.Options[k]; v != "" {
				o.Value = &v
			}
			cfg.Options = append(cfg.Options, o)
		}
		pod.DNSConfig = cfg
	}
	if p.PullSecrets != nil {
		pod.ImagePullSecrets = nil
		for _, n := range p.PullSecrets {
			pod.ImagePullSecrets = append(pod.ImagePullSecrets, corev1.LocalObjectReference{Name: n})
		}
	}
	if sc := pod.SecurityContext; sc != nil {
		for _, f := range []struct {
			to   **int64
			from int64
		}{{&sc.RunAsUser, p.RunAsUser}, {&sc.RunAsGroup, p.RunAsGroup}, {&sc.FSGroup, p.FSGroup}} {
			if f.from != 0 {
				v := f.from
				*f.to = &v
			}
		}
	}
	for _, t := range p.TopologySpread {
		match := t.MatchLabels
		if len(match) == 0 {
			match = own
		}
		pod.TopologySpreadConstraints = append(pod.TopologySpreadConstraints, corev1.TopologySpreadConstraint{
			MaxSkew: t.MaxSkew, TopologyKey: t.TopologyKey, WhenUnsatisfiable: corev1.UnsatisfiableConstraintAction(t.WhenUnsatisfiable),
			LabelSelector: &metav1.LabelSelector{MatchLabels: match},
		})
	}
	if a := p.Affinity; a != nil {
		p.applyAffinity(pod, a)
	}
	for _, v := range p.Volumes {
		pod.Volumes = append(pod.Volumes, v.volume())
		pod.Containers[0].VolumeMounts = append(pod.Containers[0].VolumeMounts,
			corev1.VolumeMount{Name: v.Name, MountPath: v.MountPath, SubPath: v.SubPath, ReadOnly: v.ReadOnly})
	}
}

// addMeta adds labels and annotations to meta, keeping those it has.
func addMeta(meta *metav1.ObjectMeta, labels, annotations map[string]string) {
	add := func(to *map[string]string, from map[string]string) {
		for k, v := range from {
			if _, ours := (*to)[k]; !ours {
				if *to == nil {
					*to = map[string]string{}
				}
				(*to)[k] = v
			}
		}
	}
	add(&meta.Labels, labels)
	add(&meta.Annotations, annotations)
}

// AnnotationJobPod, on the web Deployment, records the labels and
// annotations of the Jobs' Pods (jobMeta), for the Jobs that copy web's
// Pod (JobBase).
const AnnotationJobPod = "mastodon.tootform.dev/job-pod"

type jobPodMeta struct {
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// jobPodMetadata is the record of AnnotationJobPod, "" when the Jobs' Pods
// have no labels or annotations of the user's.
func (s *Spec) jobPodMetadata() string {
	j := s.PodSettingsOf(PodJobs, "")
	if len(j.Labels)+len(j.Annotations) == 0 {
		return ""
	}
	raw, _ := json.Marshal(jobPodMeta{Labels: j.Labels, Annotations: j.Annotations})
	return string(raw)
}

// volume is the Pod's volume of v.
func (v ExtraVolume) volume() corev1.Volume {
	out := corev1.Volume{Name: v.Name}
	var items []corev1.KeyToPath
	for _, k := range slices.Sorted(maps.Keys(v.Items)) {
		items = append(items, corev1.KeyToPath{Key: k, Path: v.Items[k]})
	}
	switch {
	case v.Secret != "":
		out.Secret = &corev1.SecretVolumeSource{SecretName: v.Secret, Items: items}
	case v.ConfigMap != "":
		out.ConfigMap = &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: v.ConfigMap}, Items: items}
	case v.CSI != nil:
		out.CSI = &corev1.CSIVolumeSource{Driver: v.CSI.Driver, ReadOnly: &v.ReadOnly, VolumeAttributes: v.CSI.Attributes}
	default:
		e := &corev1.EmptyDirVolumeSource{}
		if v.EmptyDir != nil {
			e.Medium = corev1.StorageMedium(v.EmptyDir.Medium)
			if q, err := resource.ParseQuantity(v.EmptyDir.SizeLimit); err == nil && v.EmptyDir.SizeLimit != "" {
				e.SizeLimit = &q
			}
		}
		out.EmptyDir = e
	}
	return out
}

func (p PodSettings) applyAffinity(pod *corev1.PodSpec, a *Affinity) {
	if pod.Affinity == nil {
		pod.Affinity = &corev1.Affinity{}
	}
	exprs := func(rs []Requirement) []corev1.NodeSelectorRequirement {
		var out []corev1.NodeSelectorRequirement
		for _, r := range rs {
			out = append(out, corev1.NodeSelectorRequirement{Key: r.Key, Operator: corev1.NodeSelectorOperator(r.Operator), Values: r.Values})
		}
		return out
	}
	if len(a.NodeRequired)+len(a.NodePreferred) > 0 {
		na := &corev1.NodeAffinity{}
		if len(a.NodeRequired) > 0 {
			na.RequiredDuringSchedulingIgnoredDuringExecution = &corev1.NodeSelector{}
			for _, t := range a.NodeRequired {
				na.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms = append(
					na.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms, corev1.NodeSelectorTerm{MatchExpressions: exprs(t)})
			}
		}
		for _, t := range a.NodePreferred {
			na.PreferredDuringSchedulingIgnoredDuringExecution = append(na.PreferredDuringSchedulingIgnoredDuringExecution,
				corev1.PreferredSchedulingTerm{Weight: t.Weight, Preference: corev1.NodeSelectorTerm{MatchExpressions: exprs(t.Match)}})
		}
		pod.Affinity.NodeAffinity = na
	}
	terms := func(ts []PodTerm, required *[]corev1.PodAffinityTerm, preferred *[]corev1.WeightedPodAffinityTerm) {
		for _, t := range ts {
			term := corev1.PodAffinityTerm{TopologyKey: t.TopologyKey, Namespaces: t.Namespaces,
				LabelSelector: &metav1.LabelSelector{MatchLabels: t.MatchLabels}}
			if t.Weight == 0 {
				*required = append(*required, term)
			} else {
				*preferred = append(*preferred, corev1.WeightedPodAffinityTerm{Weight: t.Weight, PodAffinityTerm: term})
			}
		}
	}
	if len(a.PodAffinity) > 0 {
		if pod.Affinity.PodAffinity == nil {
			pod.Affinity.PodAffinity = &corev1.PodAffinity{}
		}
		pa := pod.Affinity.PodAffinity
		terms(a.PodAffinity, &pa.RequiredDuringSchedulingIgnoredDuringExecution, &pa.PreferredDuringSchedulingIgnoredDuringExecution)
	}
	if len(a.PodAntiAffinity) > 0 {
		pa := &corev1.PodAntiAffinity{}
		terms(a.PodAntiAffinity, &pa.RequiredDuringSchedulingIgnoredDuringExecution, &pa.PreferredDuringSchedulingIgnoredDuringExecution)
		pod.Affinity.PodAntiAffinity = pa
	}
	if pod.Affinity.NodeAffinity == nil && pod.Affinity.PodAffinity == nil && pod.Affinity.PodAntiAffinity == nil {
		pod.Affinity = nil
	}
}

var itoa = strconv.Itoa

// reservedKey says whether a label or annotation key is the provider's:
// the labels that select and own its objects, and everything under its
// own prefix (the checksum, the claim, the record).
func reservedKey(k string) bool {
	switch k {
	case LabelName, LabelInstance, LabelComponent, LabelManagedBy, LabelVersion:
		return true
	}
	return strings.HasPrefix(k, "mastodon.tootform.dev/")
}

// validate reports what Kubernetes would refuse, or what can never
// schedule, in one set of settings at attribute path at ("pod",
// "web.pod", "sidekiq[1].pod").
func (p PodSettings) validate(at string, e *fieldErrors) {
	// A selector may select the provider's labels; what is set may not
	// set them.
	keys := func(attr string, m map[string]string, labels bool) {
		selector := strings.HasSuffix(attr, "match_labels")
		if strings.HasSuffix(attr, "_annotations") {
			attr = "../" + attr
		}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			switch {
			case reservedKey(k) && !selector:
				e.add(attrPath(at, attr), "key %q is the provider's (it selects, owns or rolls the instance's objects): choose another", k)
			case len(validation.IsQualifiedName(k)) > 0:
				e.add(attrPath(at, attr), "key %q is not a valid Kubernetes key: %s", k, strings.Join(validation.IsQualifiedName(k), "; "))
			case labels && len(validation.IsValidLabelValue(m[k])) > 0:
				e.add(attrPath(at, attr), "value %q of %q is not a valid label value: %s", m[k], k, strings.Join(validation.IsValidLabelValue(m[k]), "; "))
			}
		}
	}
	keys("labels", p.Labels, true)
	keys("annotations", p.Annotations, false)
	keys("node_selector", p.NodeSelector, true)
	keys("deployment_annotations", p.DeploymentAnnotations, false)
	keys("service_annotations", p.ServiceAnnotations, false)
	for i, t := range p.Tolerations {
		path := at + ".tolerations[" + itoa(i) + "]"
		switch {
		case t.Operator == "Exists" && t.Value != "":
			e.add(path+".value", "must be empty with operator Exists")
		case t.Operator != "Exists" && t.Key == "":
			e.add(path+".key", "may be empty only with operator Exists (which then tolerates every taint)")
		case t.Key != "" && len(validation.IsQualifiedName(t.Key)) > 0:
			e.add(path+".key", "%q is not a taint key: %s", t.Key, strings.Join(validation.IsQualifiedName(t.Key), "; "))
		case t.Seconds != nil && t.Effect != "NoExecute":
			e.add(path+".toleration_seconds", "applies only to effect NoExecute")
		default:
			continue
		}
		e.related(path)
	}
	if a := p.Affinity; a != nil {
		for i, term := range a.NodeRequired {
			checkRequirements(at+".affinity.node_required["+itoa(i)+"]", term, e)
		}
		for i, term := range a.NodePreferred {
			checkRequirements(at+".affinity.node_preferred["+itoa(i)+"]", term.Match, e)
		}
		for attr, ts := range map[string][]PodTerm{"pod_affinity": a.PodAffinity, "pod_anti_affinity": a.PodAntiAffinity} {
			for i, t := range ts {
				keys("affinity."+attr+"["+itoa(i)+"].match_labels", t.MatchLabels, true)
				if len(t.MatchLabels) == 0 {
					e.add(at+".affinity."+attr+"["+itoa(i)+"].match_labels", "selects no label: name at least one (an empty selector would mean every Pod of the namespace)")
				}
				if len(validation.IsQualifiedName(t.TopologyKey)) > 0 {
					e.add(at+".affinity."+attr+"["+itoa(i)+"].topology_key", "%q is not a node label key", t.TopologyKey)
				}
			}
		}
	}
	for i, t := range p.TopologySpread {
		if len(validation.IsQualifiedName(t.TopologyKey)) > 0 {
			e.add(at+".topology_spread["+itoa(i)+"].topology_key", "%q is not a node label key", t.TopologyKey)
		}
		for j, u := range p.TopologySpread[:i] {
			if u.TopologyKey == t.TopologyKey && u.WhenUnsatisfiable == t.WhenUnsatisfiable {
				e.add(at+".topology_spread["+itoa(i)+"]", "spreads by %s with %s as topology_spread[%d] does: Kubernetes takes one constraint per key and action", t.TopologyKey, t.WhenUnsatisfiable, j)
			}
		}
		keys("topology_spread["+itoa(i)+"].match_labels", t.MatchLabels, true)
	}
	for i, h := range p.HostAliases {
		if _, err := netip.ParseAddr(h.IP); err != nil {
			e.add(at+".host_aliases["+itoa(i)+"].ip", "%q is not an IP address", h.IP)
		}
	}
	if d := p.DNS; d != nil {
		if len(d.Nameservers) > 3 {
			e.add(at+".dns_config.nameservers", "holds %d addresses: a Pod's resolver takes at most 3", len(d.Nameservers))
		}
		for _, n := range d.Nameservers {
			if _, err := netip.ParseAddr(n); err != nil {
				e.add(at+".dns_config.nameservers", "%q is not an IP address", n)
			}
		}
	}
	for _, n := range p.PullSecrets {
		if len(validation.IsDNS1123Subdomain(n)) > 0 {
			e.add(at+".image_pull_secrets", "%q is not a Secret name", n)
		}
	}
	if p.PriorityClass != "" && len(validation.IsDNS1123Subdomain(p.PriorityClass)) > 0 {
		e.add(at+".priority_class_name", "%q is not a PriorityClass name", p.PriorityClass)
	}
}

// checkRequirements checks node label requirements as the API server would.
func checkRequirements(at string, rs []Requirement, e *fieldErrors) {
	for i, r := range rs {
		path := at + ".match_expressions[" + itoa(i) + "]"
		n := len(r.Values)
		switch {
		case (r.Operator == "In" || r.Operator == "NotIn") && n == 0:
			e.add(path+".values", "must not be empty with operator %s", r.Operator)
		case (r.Operator == "Exists" || r.Operator == "DoesNotExist") && n > 0:
			e.add(path+".values", "must be empty with operator %s", r.Operator)
		case (r.Operator == "Gt" || r.Operator == "Lt") && (n != 1 || !isInt(r.Values[0])):
			e.add(path+".values", "must hold one integer with operator %s", r.Operator)
		case len(validation.IsQualifiedName(r.Key)) > 0:
			e.add(path+".key", "%q is not a node label key", r.Key)
		default:
			continue
		}
		e.related(path)
	}
}

func isInt(v string) bool {
	_, err := strconv.ParseInt(v, 10, 64)
	return err == nil
}

// mediaComponents are the components whose Pods mount the media volume,
// with the attribute of their settings.
func (s *Spec) mediaComponents() map[string]PodSettings {
	out := map[string]PodSettings{"web.pod": s.PodSettingsOf(ComponentWeb, ""), "jobs.pod": s.PodSettingsOf(PodJobs, "")}
	for i, p := range s.Sidekiq {
		out["sidekiq["+itoa(i)+"].pod"] = s.PodSettingsOf(ComponentSidekiq, p.Name)
	}
	return out
}

// validatePods checks every component's settings, then what can never
// schedule with a media volume that one node at a time can mount (every
// Pod that mounts it runs on the volume's node).
func (s *Spec) validatePods(e *fieldErrors) {
	s.Pod.validate("pod", e)
	for _, c := range slices.Sorted(maps.Keys(podComponents)) {
		s.ComponentPods[c].validate(podComponents[c], e)
	}
	for i, p := range s.Sidekiq {
		p.Pod.validate("sidekiq["+itoa(i)+"].pod", e)
	}
	if s.hasVolumes() {
		ours := s.providerMounts()
		s.validateVolumes("pod", s.Pod.Volumes, ours["pod"], e)
		for _, c := range slices.Sorted(maps.Keys(podComponents)) {
			s.validateVolumes(podComponents[c], s.ComponentPods[c].Volumes, ours[podComponents[c]], e)
		}
		for i, p := range s.Sidekiq {
			at := "sidekiq[" + itoa(i) + "].pod"
			s.validateVolumes(at, p.Pod.Volumes, ours[at], e)
		}
	}
	if s.MediaBucket != nil || s.Media.AccessMode == string(corev1.ReadWriteMany) {
		return
	}
	pods := s.mediaComponents()
	attrs := slices.Sorted(maps.Keys(pods))
	// One node must meet every node selector.
	seen := map[string]string{}
	for _, at := range attrs {
		for _, k := range slices.Sorted(maps.Keys(pods[at].NodeSelector)) {
			v := pods[at].NodeSelector[k]
			if first, ok := seen[k]; ok && pods[first].NodeSelector[k] != v {
				e.add(at+".node_selector", "selects %s=%s but %s selects %s=%s: every Pod that mounts the ReadWriteOnce media volume runs on one node, which cannot have both",
					k, v, first, k, pods[first].NodeSelector[k])
				e.related(first+".node_selector", "pod.node_selector", "media.access_mode", "media_bucket")
				continue
			}
			if _, ok := seen[k]; !ok {
				seen[k] = at
			}
		}
	}
	// A component of more than one Pod cannot be kept off its own node:
	// own are the labels of its Pods.
	many := map[string]bool{"web.pod": s.WebReplicas != 1}
	own := map[string]map[string]string{"web.pod": s.selector(ComponentWeb)}
	for i, p := range s.Sidekiq {
		at := "sidekiq[" + itoa(i) + "].pod"
		many[at] = p.Replicas != 1
		own[at] = s.selector(ComponentSidekiq)
		own[at][labelProcess] = p.Name
	}
	for _, at := range attrs {
		if !many[at] {
			continue
		}
		for _, t := range pods[at].TopologySpread {
			if t.TopologyKey == corev1.LabelHostname && t.WhenUnsatisfiable == string(corev1.DoNotSchedule) && (t.MatchLabels == nil || selects(t.MatchLabels, own[at], pods[at].Labels)) {
				e.add(at+".topology_spread", "spreads across nodes with DoNotSchedule, but every Pod that mounts the ReadWriteOnce media volume runs on one node: "+
					"use ScheduleAnyway, media.access_mode = \"ReadWriteMany\" or a media_bucket")
				e.related(block(at), "pod.topology_spread", "media.access_mode", "media_bucket")
			}
		}
		if a := pods[at].Affinity; a != nil {
			for _, t := range a.PodAntiAffinity {
				if t.Weight == 0 && t.TopologyKey == corev1.LabelHostname && selects(t.MatchLabels, own[at], pods[at].Labels) {
					e.add(at+".affinity.pod_anti_affinity", "requires Pods apart on nodes, but every Pod that mounts the ReadWriteOnce media volume runs on one node: "+
						"give the term a weight (preferred), use media.access_mode = \"ReadWriteMany\" or a media_bucket")
					e.related(block(at), "pod.affinity", "pod.labels", "media.access_mode", "media_bucket")
				}
			}
		}
	}
}

// selects says whether match selects a Pod labelled with ours and the
// user's labels.
func selects(match, ours, users map[string]string) bool {
	for k, v := range match {
		if ours[k] != v && users[k] != v {
			return false
		}
	}
	return true
}

// block is the component block of the settings at at ("web" of "web.pod").
func block(at string) string { return strings.TrimSuffix(at, ".pod") }

// attrPath is the path of attr in the settings at at; "../x" is x beside
// the pod block (a Deployment's or Service's annotations).
func attrPath(at, attr string) string {
	if rest, ok := strings.CutPrefix(attr, "../"); ok {
		return block(at) + "." + rest
	}
	return at + "." + attr
}

// validateVolumes checks the extra volumes of the settings at at, and
// that none takes a name or a path of the provider's: ours are the
// volumes and mounts of the Pods the settings apply to, rendered without
// any extra volume.
func (s *Spec) validateVolumes(at string, vs []ExtraVolume, ours ourMounts, e *fieldErrors) {
	for i, v := range vs {
		path := at + ".volumes[" + itoa(i) + "]"
		sources := 0
		for _, set := range []bool{v.Secret != "", v.ConfigMap != "", v.EmptyDir != nil, v.CSI != nil} {
			if set {
				sources++
			}
		}
		switch {
		case len(validation.IsDNS1123Label(v.Name)) > 0:
			e.add(path+".name", "%q is not a DNS label (lower-case letters, digits and -, at most 63)", v.Name)
		case ours.names[v.Name]:
			e.add(path+".name", "%q is the name of a volume of the provider's in these Pods: choose another", v.Name)
			e.related(ourVolumesRead...)
		}
		if sources != 1 {
			e.add(path, "needs exactly one source: secret, config_map, empty_dir or csi")
			e.related(path)
		}
		if v.EmptyDir != nil && v.EmptyDir.SizeLimit != "" {
			if _, err := resource.ParseQuantity(v.EmptyDir.SizeLimit); err != nil {
				e.add(path+".empty_dir.size_limit", "%q is not a Kubernetes quantity", v.EmptyDir.SizeLimit)
			}
		}
		for _, p := range slices.Sorted(maps.Values(v.Items)) {
			if strings.HasPrefix(p, "/") || slices.Contains(strings.Split(p, "/"), "..") {
				e.add(path+".items", "path %q must be relative, without ..", p)
			}
		}
		mp := strings.TrimSuffix(v.MountPath, "/")
		if !strings.HasPrefix(v.MountPath, "/") {
			e.add(path+".mount_path", "%q is not an absolute path", v.MountPath)
			continue
		}
		for _, hidden := range []string{"", "/opt", mastodonHome} {
			if mp == hidden {
				e.add(path+".mount_path", "%q would hide the image's files (Mastodon lives in %s): mount below it, or a single file with sub_path", v.MountPath, mastodonHome)
			}
		}
		for _, o := range slices.Sorted(maps.Keys(ours.paths)) {
			if mp == o || strings.HasPrefix(mp, o+"/") || strings.HasPrefix(o, mp+"/") {
				e.add(path+".mount_path", "%q overlaps %s, where the provider mounts its own volume %q: choose another path", v.MountPath, o, ours.paths[o])
				e.related(ourVolumesRead...)
				break
			}
		}
		for j, w := range vs[:i] {
			if w.Name == v.Name {
				e.add(path+".name", "%q is the name of volumes[%d] too", v.Name, j)
			}
		}
	}
}

// ourVolumesRead are the attributes that decide the provider's own volumes
// in the Pods.
var ourVolumesRead = []string{"media", "media_bucket", "database", "opensearch", "backup", "restore", "metrics", "sidekiq"}

// mastodonHome is where Mastodon's images hold the application.
const mastodonHome = "/opt/mastodon"

// ourMounts are the provider's volume names and mount paths (path ->
// volume) in some Pods.
type ourMounts struct {
	names map[string]bool
	paths map[string]string
}

// withoutVolumes is the spec with no extra volume anywhere.
func (s *Spec) withoutVolumes() *Spec {
	c := *s
	c.Pod.Volumes = nil
	c.ComponentPods = map[string]PodSettings{}
	for k, v := range s.ComponentPods {
		v.Volumes = nil
		c.ComponentPods[k] = v
	}
	c.Sidekiq = slices.Clone(s.Sidekiq)
	for i := range c.Sidekiq {
		c.Sidekiq[i].Pod.Volumes = nil
	}
	return &c
}

// providerMounts are the provider's volumes and mounts in the Pods each
// set of settings applies to (keyed by its attribute, "pod" for all),
// from the rendering of the spec without extra volumes.
func (s *Spec) providerMounts() map[string]ourMounts {
	bare := s.withoutVolumes()
	objs := append(bare.Render(Secrets{}, ""), bare.PrepareJob())
	if bare.Restore != nil {
		objs = append(objs, bare.RestoreJob())
	}
	out := map[string]ourMounts{}
	add := func(at string, pod map[string]any) {
		m, ok := out[at]
		if !ok {
			m = ourMounts{names: map[string]bool{}, paths: map[string]string{}}
			out[at] = m
		}
		vols, _ := pod["volumes"].([]any)
		for _, v := range vols {
			if name, _ := v.(map[string]any)["name"].(string); name != "" {
				m.names[name] = true
			}
		}
		containers, _ := pod["containers"].([]any)
		if len(containers) == 0 {
			return
		}
		mounts, _ := containers[0].(map[string]any)["volumeMounts"].([]any)
		for _, mt := range mounts {
			mm, _ := mt.(map[string]any)
			p, _ := mm["mountPath"].(string)
			n, _ := mm["name"].(string)
			m.paths[strings.TrimSuffix(p, "/")] = n
		}
	}
	for _, o := range objs {
		spec, _ := o.Body["spec"].(map[string]any)
		var tmpl map[string]any
		switch o.Kind {
		case "Deployment", "StatefulSet", "Job":
			tmpl, _ = spec["template"].(map[string]any)
		case "CronJob":
			jt, _ := spec["jobTemplate"].(map[string]any)
			js, _ := jt["spec"].(map[string]any)
			tmpl, _ = js["template"].(map[string]any)
		default:
			continue
		}
		meta, _ := tmpl["metadata"].(map[string]any)
		labels, _ := meta["labels"].(map[string]any)
		pod, _ := tmpl["spec"].(map[string]any)
		at := "jobs.pod"
		switch c, _ := labels[LabelComponent].(string); c {
		case ComponentWeb, ComponentStreaming, ComponentDatabase, ComponentRedis, ComponentCacheRedis:
			at = podComponents[c]
		case ComponentSidekiq:
			for i, p := range s.Sidekiq {
				if labels[labelProcess] == p.Name {
					at = "sidekiq[" + itoa(i) + "].pod"
				}
			}
		}
		add(at, pod)
		add("pod", pod)
	}
	return out
}

// hasVolumes says whether any settings hold extra volumes.
func (s *Spec) hasVolumes() bool {
	n := len(s.Pod.Volumes)
	for _, p := range s.ComponentPods {
		n += len(p.Volumes)
	}
	for _, p := range s.Sidekiq {
		n += len(p.Pod.Volumes)
	}
	return n > 0
}
