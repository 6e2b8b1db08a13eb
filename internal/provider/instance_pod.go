package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

// podModel is a `pod` block: what a cluster asks of a Pod (scheduling,
// metadata, Pod-level knobs), mastodon.PodSettings.
type podModel struct {
	NodeSelector      map[string]string     `tfsdk:"node_selector"`
	Tolerations       []tolerationModel     `tfsdk:"tolerations"`
	Affinity          *affinityModel        `tfsdk:"affinity"`
	TopologySpread    []topologySpreadModel `tfsdk:"topology_spread"`
	PriorityClassName types.String          `tfsdk:"priority_class_name"`
	Labels            map[string]string     `tfsdk:"labels"`
	Annotations       map[string]string     `tfsdk:"annotations"`
	SecurityContext   *securityContextModel `tfsdk:"security_context"`
	HostAliases       []hostAliasModel      `tfsdk:"host_aliases"`
	DNSConfig         *dnsConfigModel       `tfsdk:"dns_config"`
	TerminationGrace  types.Int64           `tfsdk:"termination_grace_period_seconds"`
	ImagePullSecrets  []string              `tfsdk:"image_pull_secrets"`
	Volumes           []volumeModel         `tfsdk:"volumes"`
}

type volumeModel struct {
	Name      types.String      `tfsdk:"name"`
	MountPath types.String      `tfsdk:"mount_path"`
	SubPath   types.String      `tfsdk:"sub_path"`
	ReadOnly  types.Bool        `tfsdk:"read_only"`
	Secret    types.String      `tfsdk:"secret"`
	ConfigMap types.String      `tfsdk:"config_map"`
	Items     map[string]string `tfsdk:"items"`
	EmptyDir  *emptyDirModel    `tfsdk:"empty_dir"`
	CSI       *csiModel         `tfsdk:"csi"`
}

type emptyDirModel struct {
	Medium    types.String `tfsdk:"medium"`
	SizeLimit types.String `tfsdk:"size_limit"`
}

type csiModel struct {
	Driver           types.String      `tfsdk:"driver"`
	VolumeAttributes map[string]string `tfsdk:"volume_attributes"`
}

type tolerationModel struct {
	Key      types.String `tfsdk:"key"`
	Operator types.String `tfsdk:"operator"`
	Value    types.String `tfsdk:"value"`
	Effect   types.String `tfsdk:"effect"`
	Seconds  types.Int64  `tfsdk:"toleration_seconds"`
}

type affinityModel struct {
	NodeRequired    []nodeRequiredModel `tfsdk:"node_required"`
	NodePreferred   []nodeTermModel     `tfsdk:"node_preferred"`
	PodAffinity     []podTermModel      `tfsdk:"pod_affinity"`
	PodAntiAffinity []podTermModel      `tfsdk:"pod_anti_affinity"`
}

type nodeRequiredModel struct {
	MatchExpressions []requirementModel `tfsdk:"match_expressions"`
}

type nodeTermModel struct {
	Weight           types.Int64        `tfsdk:"weight"`
	MatchExpressions []requirementModel `tfsdk:"match_expressions"`
}

type requirementModel struct {
	Key      types.String `tfsdk:"key"`
	Operator types.String `tfsdk:"operator"`
	Values   []string     `tfsdk:"values"`
}

type podTermModel struct {
	TopologyKey types.String      `tfsdk:"topology_key"`
	MatchLabels map[string]string `tfsdk:"match_labels"`
	Namespaces  []string          `tfsdk:"namespaces"`
	Weight      types.Int64       `tfsdk:"weight"`
}

type topologySpreadModel struct {
	TopologyKey       types.String      `tfsdk:"topology_key"`
	MaxSkew           types.Int64       `tfsdk:"max_skew"`
	WhenUnsatisfiable types.String      `tfsdk:"when_unsatisfiable"`
	MatchLabels       map[string]string `tfsdk:"match_labels"`
}

type securityContextModel struct {
	RunAsUser  types.Int64 `tfsdk:"run_as_user"`
	RunAsGroup types.Int64 `tfsdk:"run_as_group"`
	FSGroup    types.Int64 `tfsdk:"fs_group"`
}

type hostAliasModel struct {
	IP        types.String `tfsdk:"ip"`
	Hostnames []string     `tfsdk:"hostnames"`
}

type dnsConfigModel struct {
	Nameservers []string          `tfsdk:"nameservers"`
	Searches    []string          `tfsdk:"searches"`
	Options     map[string]string `tfsdk:"options"`
}

// jobsModel is the `jobs` block: the Jobs' and CronJobs' Pods.
type jobsModel struct {
	Resources *resourcesModel `tfsdk:"resources"`
	Pod       *podModel       `tfsdk:"pod"`
}

// serviceAccountModel is the `service_account` block.
type serviceAccountModel struct {
	Name        types.String      `tfsdk:"name"`
	Annotations map[string]string `tfsdk:"annotations"`
}

// podAttribute is a `pod` block: the settings of what's Pods.
func podAttribute(what, over string) schema.SingleNestedAttribute {
	strMap := func(d string) schema.MapAttribute {
		return schema.MapAttribute{Optional: true, ElementType: types.StringType, Description: d}
	}
	strList := func(d string) schema.ListAttribute {
		return schema.ListAttribute{Optional: true, ElementType: types.StringType, Description: d}
	}
	oneOf := func(d string, values ...string) schema.StringAttribute {
		return schema.StringAttribute{Optional: true, Description: d, Validators: []validator.String{stringvalidator.OneOf(values...)}}
	}
	requiredString := func(d string) schema.StringAttribute {
		return schema.StringAttribute{Required: true, Description: d, Validators: []validator.String{stringvalidator.LengthAtLeast(1)}}
	}
	weight := func(d string, required bool) schema.Int64Attribute {
		return schema.Int64Attribute{Optional: !required, Required: required, Description: d, Validators: []validator.Int64{int64validator.Between(1, 100)}}
	}
	positive := func(d string) schema.Int64Attribute {
		return schema.Int64Attribute{Optional: true, Description: d, Validators: []validator.Int64{int64validator.AtLeast(1)}}
	}
	expressions := schema.ListNestedAttribute{Required: true, Description: "Node label requirements, all of which a node must meet.",
		NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
			"key": requiredString("The node label."),
			"operator": schema.StringAttribute{Required: true, Description: "`In`, `NotIn`, `Exists`, `DoesNotExist`, `Gt` or `Lt`.",
				Validators: []validator.String{stringvalidator.OneOf("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt")}},
			"values": strList("The values: one or more with `In`/`NotIn`, none with `Exists`/`DoesNotExist`, one integer with `Gt`/`Lt`."),
		}}}
	podTerms := func(d string) schema.ListNestedAttribute {
		return schema.ListNestedAttribute{Optional: true, Description: d,
			NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
				"topology_key": requiredString("The node label whose values are the domains (`kubernetes.io/hostname`: a node; `topology.kubernetes.io/zone`: a zone)."),
				"match_labels": schema.MapAttribute{Required: true, ElementType: types.StringType, Description: "The labels of the other Pods."},
				"namespaces":   strList("Their namespaces, default the instance's."),
				"weight":       weight("Make the term preferred, with this weight (1-100); without it the term is required.", false),
			}}}
	}
	return schema.SingleNestedAttribute{Optional: true,
		Description: "Kubernetes settings of " + what + over + ". A map merges key by key over the instance's (`pod`), anything else given here replaces the instance's. " +
			"Changing it rolls only the Pods it applies to.",
		Attributes: map[string]schema.Attribute{
			"node_selector": strMap("Node labels the Pods' nodes must have. On a ReadWriteOnce media volume the Pods that mount it (web, Sidekiq, the Jobs) run " +
				"on the node the volume is attached to: select labels that node has, or they stay Pending (the plan cannot know the node)."),
			"tolerations": schema.ListNestedAttribute{Optional: true, Description: "Taints the Pods tolerate (an empty list: none, over the instance's).",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"key":                optString("The taint's key; empty only with operator `Exists` (every taint)."),
					"operator":           oneOf("`Equal` (default) or `Exists`.", "Equal", "Exists"),
					"value":              optString("The taint's value (not with `Exists`)."),
					"effect":             oneOf("`NoSchedule`, `PreferNoSchedule` or `NoExecute`; empty: every effect.", "NoSchedule", "PreferNoSchedule", "NoExecute"),
					"toleration_seconds": schema.Int64Attribute{Optional: true, Description: "With `NoExecute`: how long the Pod stays on a node once tainted."},
				}}},
			"affinity": schema.SingleNestedAttribute{Optional: true,
				Description: "Node affinity and Pod (anti-)affinity. It adds to what the provider needs: on a ReadWriteOnce media volume every Pod that mounts it " +
					"runs on the volume's node (a required Pod affinity the provider renders), so a required anti-affinity that keeps a component's own Pods " +
					"apart on nodes is refused at plan there.",
				Attributes: map[string]schema.Attribute{
					"node_required": schema.ListNestedAttribute{Optional: true, Description: "Node selector terms, any one of which a node must meet.",
						NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
							"match_expressions": expressions,
						}}},
					"node_preferred": schema.ListNestedAttribute{Optional: true, Description: "Weighted node selector terms the scheduler prefers.",
						NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
							"weight":            weight("The term's weight, 1-100.", true),
							"match_expressions": expressions,
						}}},
					"pod_affinity":      podTerms("Run beside the Pods with these labels, in the same domain of `topology_key`."),
					"pod_anti_affinity": podTerms("Run away from the Pods with these labels, in another domain of `topology_key`."),
				}},
			"topology_spread": schema.ListNestedAttribute{Optional: true,
				Description: "Spread the Pods across domains. Web and streaming default to a spread across nodes (`kubernetes.io/hostname`) and zones " +
					"(`topology.kubernetes.io/zone`), each with `max_skew` 1 and `ScheduleAnyway`, so that one node's or zone's loss does not take every Pod of " +
					"the component; giving this attribute (an empty list: none) replaces that default. On a ReadWriteOnce media volume a `DoNotSchedule` spread across nodes " +
					"of a component with more than one Pod is refused at plan (every Pod that mounts the volume runs on one node).",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"topology_key":       requiredString("The node label whose values are the domains."),
					"max_skew":           positive("The largest difference in Pods between two domains, default 1."),
					"when_unsatisfiable": oneOf("`ScheduleAnyway` (default) or `DoNotSchedule`.", "ScheduleAnyway", "DoNotSchedule"),
					"match_labels":       strMap("The labels of the Pods counted, default the component's own Pods."),
				}}},
			"priority_class_name": optString("The Pods' PriorityClass."),
			"labels": strMap("Labels of the Pods (service meshes, policy engines). The provider's own keys (`app.kubernetes.io/{name,instance,component,managed-by,version}`, " +
				"`mastodon.tootform.dev/*`) are refused at plan."),
			"annotations": strMap("Annotations of the Pods (Vault injection, service meshes, log collectors). Keys under `mastodon.tootform.dev/` are refused at plan. " +
				"Annotations other controllers add to the Pods are not drift."),
			"security_context": schema.SingleNestedAttribute{Optional: true,
				Description: "The user, group and volume group the Pods run as, for images built with another user than Mastodon's (991). " +
					"The rest stays as Pod Security `restricted` requires (non-root, no privilege escalation, every capability dropped, RuntimeDefault seccomp). " +
					"The instance-wide value does not reach the embedded PostgreSQL and Redis, which run as their images' users (70 and 999): only their own `pod` block changes theirs.",
				Attributes: map[string]schema.Attribute{
					"run_as_user":  positive("The user ID (not 0: the Pods run as non-root)."),
					"run_as_group": positive("The group ID."),
					"fs_group":     positive("The group that owns mounted volumes."),
				}},
			"host_aliases": schema.ListNestedAttribute{Optional: true, Description: "Entries of the Pods' `/etc/hosts`.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"ip":        schema.StringAttribute{Required: true, Description: "The address."},
					"hostnames": schema.ListAttribute{Required: true, ElementType: types.StringType, Description: "The names that resolve to it."},
				}}},
			"dns_config": schema.SingleNestedAttribute{Optional: true, Description: "Added to the Pods' resolver configuration.",
				Attributes: map[string]schema.Attribute{
					"nameservers": strList("Name servers (IP addresses, at most 3)."),
					"searches":    strList("Search domains."),
					"options":     strMap("Resolver options, `ndots = \"2\"`; an empty value gives the option alone."),
				}},
			"termination_grace_period_seconds": schema.Int64Attribute{Optional: true, Validators: []validator.Int64{int64validator.AtLeast(0)},
				Description: "How long a stopping Pod gets before it is killed, default Kubernetes' 30 seconds (Sidekiq finishes its running jobs within it)."},
			"image_pull_secrets": strList("Image pull Secrets of the Pods, in place of `image.pull_secrets` (which the embedded PostgreSQL and Redis do not use)."),
			"volumes": schema.ListNestedAttribute{Optional: true,
				Description: "Volumes mounted in the Pods' main container (Mastodon's, or the embedded service's): custom CAs and files Mastodon reads " +
					"(`SMTP_CA_FILE`, an LDAP or CAS certificate, a `robots.txt` with `sub_path`). A component's are added to the instance's (one of the same name replaces it). " +
					"A name or a path of the provider's own volumes in those Pods (the media volume, the CA certificates, the Cloud SQL key), and a path that would hide " +
					"the application (`/`, `/opt`, `/opt/mastodon`), are refused at plan. A projected volume is not offered: mount its sources one by one.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"name":       requiredString("The volume's name in the Pod (a DNS label)."),
					"mount_path": requiredString("Where it is mounted (an absolute path)."),
					"sub_path":   optString("Mount this file or directory of the volume only (a single file such as `robots.txt`)."),
					"read_only":  optBool("Mount it read-only."),
					"secret":     optString("The Secret of the namespace whose keys are the files. One source: `secret`, `config_map`, `empty_dir` or `csi`."),
					"config_map": optString("The ConfigMap of the namespace whose keys are the files."),
					"items":      strMap("With `secret` or `config_map`: the keys to mount, each to its relative path (default: every key, as a file of its name)."),
					"empty_dir": schema.SingleNestedAttribute{Optional: true, Description: "A scratch directory that lives as long as the Pod.",
						Attributes: map[string]schema.Attribute{
							"medium":     oneOf("`Memory` (tmpfs) or the node's disk (unset).", "Memory"),
							"size_limit": optString("The most it may hold (a Kubernetes quantity)."),
						}},
					"csi": schema.SingleNestedAttribute{Optional: true, Description: "An inline CSI volume (the Secrets Store CSI driver).",
						Attributes: map[string]schema.Attribute{
							"driver":            requiredString("The CSI driver (`secrets-store.csi.k8s.io`)."),
							"volume_attributes": strMap("The driver's attributes (`secretProviderClass`)."),
						}},
				}}},
		}}
}

// podSettingsAttributes are the `pod` blocks of the instance and of its
// components, the Deployments' and Services' annotations, the Jobs' block
// and the ServiceAccount.
func podSettingsAttributes(block string, _ nested) map[string]schema.Attribute {
	strMap := func(d string) schema.MapAttribute {
		return schema.MapAttribute{Optional: true, ElementType: types.StringType, Description: d}
	}
	deployment := strMap("Annotations of the Deployment (Reloader, Keel). Keys under `mastodon.tootform.dev/` are refused at plan.")
	service := strMap("Annotations of the Service (a cloud load balancer's settings, GKE's BackendConfig, a service mesh). Keys under " +
		"`mastodon.tootform.dev/` are refused at plan, and on streaming the BackendConfig key while `ingress.gke_streaming_timeout_seconds` sets it.")
	switch block {
	case "":
		return map[string]schema.Attribute{
			"pod": podAttribute("every Pod of the instance", " (web, streaming, each Sidekiq process, the Jobs and CronJobs, the embedded PostgreSQL and Redis); "+
				"each component's `pod` block overrides it"),
			"jobs": schema.SingleNestedAttribute{Optional: true, Description: "The Jobs and CronJobs: database preparation and migrations, search index builds, maintenance tasks, the backup and the restore.",
				Attributes: map[string]schema.Attribute{
					"resources": resourcesAttribute("each container of the Jobs and CronJobs (default: web's, with its defaults)", mastodon.DefaultWebResources),
					"pod":       podAttribute("the Jobs' and CronJobs' Pods", ", over the instance's `pod`"),
				}},
			"service_account": schema.SingleNestedAttribute{Optional: true,
				Description: "The ServiceAccount every Pod runs as. Without this block the Pods run as the namespace's default one (or the instance's own when " +
					"`database.cloud_sql.workload_identity_service_account` is set). With it the instance has its own ServiceAccount, named as the instance, carrying " +
					"`annotations` that map it to a cloud identity, or uses an existing one (`name`). No API token is mounted either way. " +
					"With such an identity, media in a bucket needs no keys: leave `media_bucket.access_key_id` and the secret unset and Mastodon's S3 client " +
					"takes the AWS SDK's default credentials (EKS IRSA or Pod Identity for S3). GCS's S3 interface takes only HMAC keys, so GKE Workload Identity " +
					"serves Cloud SQL, not the bucket.",
				Attributes: map[string]schema.Attribute{
					"name": optString("An existing ServiceAccount of the namespace that someone else keeps (EKS Pod Identity associations name it). Conflicts with `annotations`."),
					"annotations": strMap("Annotations of the instance's own ServiceAccount: `eks.amazonaws.com/role-arn` (IRSA), `iam.gke.io/gcp-service-account` " +
						"(GKE Workload Identity), `azure.workload.identity/client-id` (Azure)."),
				}},
		}
	case "web", "streaming":
		return map[string]schema.Attribute{"pod": podAttribute(block+"'s Pods", ", over the instance's `pod`"),
			"deployment_annotations": deployment, "service_annotations": service}
	case "sidekiq":
		return map[string]schema.Attribute{"pod": podAttribute("the process's Pods", ", over the instance's `pod`"), "deployment_annotations": deployment}
	case "embedded_database", "embedded_redis":
		return map[string]schema.Attribute{"pod": podAttribute("the "+map[string]string{"embedded_database": "PostgreSQL", "embedded_redis": "Redis"}[block]+" Pod", ", over the instance's `pod`")}
	}
	return nil
}

// podSettingsSpec puts the Pod settings, the Jobs' resources and the
// ServiceAccount into the spec (the Sidekiq processes made before).
func podSettingsSpec(ctx context.Context, m *instanceModel, s *mastodon.Spec, diags *diag.Diagnostics) {
	s.Pod = m.Pod.settings()
	s.ComponentPods = map[string]mastodon.PodSettings{}
	set := func(component string, p *podModel, deployment, service map[string]string) {
		ps := p.settings()
		ps.DeploymentAnnotations, ps.ServiceAnnotations = deployment, service
		s.ComponentPods[component] = ps
	}
	var null map[string]string
	if w := m.Web; w != nil {
		set(mastodon.ComponentWeb, w.Pod, w.DeploymentAnnotations, w.ServiceAnnotations)
	}
	if st := m.Streaming; st != nil {
		set(mastodon.ComponentStreaming, st.Pod, st.DeploymentAnnotations, st.ServiceAnnotations)
	}
	if e := m.EmbeddedDatabase; e != nil {
		set(mastodon.ComponentDatabase, e.Pod, null, null)
	}
	if e := m.EmbeddedRedis; e != nil {
		set(mastodon.ComponentRedis, e.Pod, null, null)
	}
	if j := m.Jobs; j != nil {
		set(mastodon.PodJobs, j.Pod, null, null)
		if j.Resources != nil {
			r := j.Resources.resources()
			s.JobResources = &r
		}
	}
	for i, p := range m.Sidekiq {
		s.Sidekiq[i].Pod = p.Pod.settings()
		s.Sidekiq[i].Pod.DeploymentAnnotations = p.DeploymentAnnotations
	}
	if a := m.ServiceAccount; a != nil {
		s.ServiceAccount = &mastodon.ServiceAccount{Name: a.Name.ValueString(), Annotations: a.Annotations}
	}
}

// settings converts a `pod` block (nil: nothing set).
func (p *podModel) settings() mastodon.PodSettings {
	var out mastodon.PodSettings
	if p == nil {
		return out
	}
	// A list given (even empty) replaces the instance's: keep it non-nil.
	out.NodeSelector, out.Labels, out.Annotations = p.NodeSelector, p.Labels, p.Annotations
	if p.Tolerations != nil {
		out.Tolerations = []mastodon.Toleration{}
		for _, t := range p.Tolerations {
			tol := mastodon.Toleration{Key: t.Key.ValueString(), Operator: t.Operator.ValueString(), Value: t.Value.ValueString(), Effect: t.Effect.ValueString()}
			if tol.Operator == "" {
				tol.Operator = "Equal"
			}
			if !t.Seconds.IsNull() && !t.Seconds.IsUnknown() {
				tol.Seconds = t.Seconds.ValueInt64Pointer()
			}
			out.Tolerations = append(out.Tolerations, tol)
		}
	}
	if a := p.Affinity; a != nil {
		out.Affinity = &mastodon.Affinity{}
		reqs := func(rs []requirementModel) []mastodon.Requirement {
			var out []mastodon.Requirement
			for _, r := range rs {
				out = append(out, mastodon.Requirement{Key: r.Key.ValueString(), Operator: r.Operator.ValueString(), Values: r.Values})
			}
			return out
		}
		for _, t := range a.NodeRequired {
			out.Affinity.NodeRequired = append(out.Affinity.NodeRequired, reqs(t.MatchExpressions))
		}
		for _, t := range a.NodePreferred {
			out.Affinity.NodePreferred = append(out.Affinity.NodePreferred, mastodon.WeightedTerm{Weight: int32Or(t.Weight, 1), Match: reqs(t.MatchExpressions)})
		}
		terms := func(ts []podTermModel) []mastodon.PodTerm {
			var out []mastodon.PodTerm
			for _, t := range ts {
				out = append(out, mastodon.PodTerm{TopologyKey: t.TopologyKey.ValueString(), MatchLabels: t.MatchLabels,
					Namespaces: t.Namespaces, Weight: int32Or(t.Weight, 0)})
			}
			return out
		}
		out.Affinity.PodAffinity, out.Affinity.PodAntiAffinity = terms(a.PodAffinity), terms(a.PodAntiAffinity)
	}
	if p.TopologySpread != nil {
		out.TopologySpread = []mastodon.TopologySpread{}
		for _, t := range p.TopologySpread {
			when := t.WhenUnsatisfiable.ValueString()
			if when == "" {
				when = "ScheduleAnyway"
			}
			out.TopologySpread = append(out.TopologySpread, mastodon.TopologySpread{TopologyKey: t.TopologyKey.ValueString(),
				MaxSkew: int32Or(t.MaxSkew, 1), WhenUnsatisfiable: when, MatchLabels: t.MatchLabels})
		}
	}
	out.PriorityClass = p.PriorityClassName.ValueString()
	if sc := p.SecurityContext; sc != nil {
		out.RunAsUser, out.RunAsGroup, out.FSGroup = sc.RunAsUser.ValueInt64(), sc.RunAsGroup.ValueInt64(), sc.FSGroup.ValueInt64()
	}
	if p.HostAliases != nil {
		out.HostAliases = []mastodon.HostAlias{}
		for _, h := range p.HostAliases {
			out.HostAliases = append(out.HostAliases, mastodon.HostAlias{IP: h.IP.ValueString(), Hostnames: h.Hostnames})
		}
	}
	if d := p.DNSConfig; d != nil {
		out.DNS = &mastodon.DNSConfig{Nameservers: d.Nameservers, Searches: d.Searches, Options: d.Options}
	}
	if !p.TerminationGrace.IsNull() && !p.TerminationGrace.IsUnknown() {
		out.TerminationGracePeriod = p.TerminationGrace.ValueInt64Pointer()
	}
	for _, v := range p.Volumes {
		ev := mastodon.ExtraVolume{Name: v.Name.ValueString(), MountPath: v.MountPath.ValueString(), SubPath: v.SubPath.ValueString(),
			ReadOnly: v.ReadOnly.ValueBool(), Secret: v.Secret.ValueString(), ConfigMap: v.ConfigMap.ValueString(), Items: v.Items}
		if e := v.EmptyDir; e != nil {
			ev.EmptyDir = &mastodon.EmptyDir{Medium: e.Medium.ValueString(), SizeLimit: e.SizeLimit.ValueString()}
		}
		if c := v.CSI; c != nil {
			ev.CSI = &mastodon.CSIVolume{Driver: c.Driver.ValueString(), Attributes: c.VolumeAttributes}
		}
		out.Volumes = append(out.Volumes, ev)
	}
	if p.ImagePullSecrets != nil {
		out.PullSecrets = append([]string{}, p.ImagePullSecrets...)
	}
	return out
}
