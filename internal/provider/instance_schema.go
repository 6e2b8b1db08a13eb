package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

type instanceModel struct {
	ID                   types.String             `tfsdk:"id"`
	Name                 types.String             `tfsdk:"name"`
	Namespace            types.String             `tfsdk:"namespace"`
	CreateNamespace      types.Bool               `tfsdk:"create_namespace"`
	LocalDomain          types.String             `tfsdk:"local_domain"`
	WebDomain            types.String             `tfsdk:"web_domain"`
	Version              types.String             `tfsdk:"version"`
	Image                *imageModel              `tfsdk:"image"`
	Web                  *webModel                `tfsdk:"web"`
	Streaming            *streamingModel          `tfsdk:"streaming"`
	Sidekiq              []sidekiqModel           `tfsdk:"sidekiq"`
	Database             *databaseModel           `tfsdk:"database"`
	EmbeddedDatabase     *embeddedDatabaseModel   `tfsdk:"embedded_database"`
	Redis                *redisModel              `tfsdk:"redis"`
	EmbeddedRedis        *embeddedRedisModel      `tfsdk:"embedded_redis"`
	SMTP                 *smtpModel               `tfsdk:"smtp"`
	Media                *mediaModel              `tfsdk:"media"`
	MediaBucket          *instanceBucketModel     `tfsdk:"media_bucket"`
	Ingress              *ingressModel            `tfsdk:"ingress"`
	Settings             *settingsModel           `tfsdk:"settings"`
	Opensearch           *opensearchModel         `tfsdk:"opensearch"`
	Translation          *translationModel        `tfsdk:"translation"`
	SearchIndex          types.String             `tfsdk:"search_index"`
	Maintenance          *maintenanceModel        `tfsdk:"maintenance"`
	Backup               *backupModel             `tfsdk:"backup"`
	DeletionProtection   types.Bool               `tfsdk:"deletion_protection"`
	Timeouts             timeouts.Value           `tfsdk:"timeouts"`
	URL                  types.String             `tfsdk:"url"`
	VapidPublicKey       types.String             `tfsdk:"vapid_public_key"`
	Secrets              types.Object             `tfsdk:"secrets"`
	Ready                types.Bool               `tfsdk:"ready"`
	MigratedVersion      types.String             `tfsdk:"migrated_version"`
	Drift                types.List               `tfsdk:"drift"`
	LoadBalancerIP       types.String             `tfsdk:"load_balancer_ip"`
	LoadBalancerHostname types.String             `tfsdk:"load_balancer_hostname"`
	Metrics              *metricsModel            `tfsdk:"metrics"`
	OwnSecrets           *ownSecretsModel         `tfsdk:"own_secrets"`
	Restore              *restoreModel            `tfsdk:"restore"`
	Pod                  *podModel                `tfsdk:"pod"`
	Jobs                 *jobsModel               `tfsdk:"jobs"`
	ServiceAccount       *serviceAccountModel     `tfsdk:"service_account"`
	Gateway              *gatewayModel            `tfsdk:"gateway"`
	AlternateDomains     types.List               `tfsdk:"alternate_domains"`
	StreamingDomain      types.String             `tfsdk:"streaming_domain"`
	CDNHost              types.String             `tfsdk:"cdn_host"`
	SSO                  *ssoModel                `tfsdk:"sso"`
	HCaptcha             *hcaptchaModel           `tfsdk:"hcaptcha"`
	OpenTelemetry        *openTelemetryModel      `tfsdk:"opentelemetry"`
	CacheRedis           *redisModel              `tfsdk:"cache_redis"`
	EmbeddedCacheRedis   *embeddedCacheRedisModel `tfsdk:"embedded_cache_redis"`
	SidekiqRedis         *redisModel              `tfsdk:"sidekiq_redis"`
}

type imageModel struct {
	Repository          types.String `tfsdk:"repository"`
	StreamingRepository types.String `tfsdk:"streaming_repository"`
	PullPolicy          types.String `tfsdk:"pull_policy"`
	PullSecrets         types.List   `tfsdk:"pull_secrets"`
}

type resourcesModel struct {
	CPURequest    types.String `tfsdk:"cpu_request"`
	MemoryRequest types.String `tfsdk:"memory_request"`
	CPULimit      types.String `tfsdk:"cpu_limit"`
	MemoryLimit   types.String `tfsdk:"memory_limit"`
}

type webModel struct {
	Replicas              types.Int64       `tfsdk:"replicas"`
	ExternalScaling       types.Bool        `tfsdk:"external_scaling"`
	Resources             *resourcesModel   `tfsdk:"resources"`
	Concurrency           types.Int64       `tfsdk:"concurrency"`
	MaxThreads            types.Int64       `tfsdk:"max_threads"`
	Autoscaling           *autoscalingModel `tfsdk:"autoscaling"`
	Pod                   *podModel         `tfsdk:"pod"`
	DeploymentAnnotations map[string]string `tfsdk:"deployment_annotations"`
	ServiceAnnotations    map[string]string `tfsdk:"service_annotations"`
}

type streamingModel struct {
	Replicas              types.Int64       `tfsdk:"replicas"`
	ExternalScaling       types.Bool        `tfsdk:"external_scaling"`
	Resources             *resourcesModel   `tfsdk:"resources"`
	Autoscaling           *autoscalingModel `tfsdk:"autoscaling"`
	Pod                   *podModel         `tfsdk:"pod"`
	DeploymentAnnotations map[string]string `tfsdk:"deployment_annotations"`
	ServiceAnnotations    map[string]string `tfsdk:"service_annotations"`
	streamingLogModel
}

type sidekiqModel struct {
	Name                  types.String      `tfsdk:"name"`
	Queues                types.List        `tfsdk:"queues"`
	Concurrency           types.Int64       `tfsdk:"concurrency"`
	Replicas              types.Int64       `tfsdk:"replicas"`
	ExternalScaling       types.Bool        `tfsdk:"external_scaling"`
	Resources             *resourcesModel   `tfsdk:"resources"`
	Autoscaling           *autoscalingModel `tfsdk:"autoscaling"`
	Pod                   *podModel         `tfsdk:"pod"`
	DeploymentAnnotations map[string]string `tfsdk:"deployment_annotations"`
}

type embeddedDatabaseModel struct {
	StorageSize           types.String    `tfsdk:"storage_size"`
	StorageClass          types.String    `tfsdk:"storage_class"`
	Resources             *resourcesModel `tfsdk:"resources"`
	DeleteVolumeOnDestroy types.Bool      `tfsdk:"delete_volume_on_destroy"`
	Pod                   *podModel       `tfsdk:"pod"`
}

type embeddedRedisModel struct {
	StorageSize           types.String    `tfsdk:"storage_size"`
	StorageClass          types.String    `tfsdk:"storage_class"`
	Resources             *resourcesModel `tfsdk:"resources"`
	DeleteVolumeOnDestroy types.Bool      `tfsdk:"delete_volume_on_destroy"`
	Pod                   *podModel       `tfsdk:"pod"`
}

type mediaModel struct {
	StorageSize           types.String `tfsdk:"storage_size"`
	StorageClass          types.String `tfsdk:"storage_class"`
	AccessMode            types.String `tfsdk:"access_mode"`
	DeleteVolumeOnDestroy types.Bool   `tfsdk:"delete_volume_on_destroy"`
	ExistingClaim         types.String `tfsdk:"existing_claim"`
}

type settingsModel struct {
	SingleUserMode        types.Bool                `tfsdk:"single_user_mode"`
	AuthorizedFetch       types.Bool                `tfsdk:"authorized_fetch"`
	LimitedFederationMode types.Bool                `tfsdk:"limited_federation_mode"`
	DefaultLocale         types.String              `tfsdk:"default_locale"`
	TrustedProxyIP        types.String              `tfsdk:"trusted_proxy_ip"`
	TimeZone              types.String              `tfsdk:"time_zone"`
	ExtraEnv              types.Map                 `tfsdk:"extra_env"`
	ExtraSecretEnv        types.Map                 `tfsdk:"extra_secret_env"`
	ExtraSecretEnvWO      types.Map                 `tfsdk:"extra_secret_env_wo"`
	ExtraSecretEnvWOV     types.Int64               `tfsdk:"extra_secret_env_wo_version"`
	ExtraSecretEnvRefs    map[string]secretRefModel `tfsdk:"extra_secret_env_refs"`
	railsLogModel
	policyModel
}

func resourcesAttribute(what string, d mastodon.Resources) schema.SingleNestedAttribute {
	q := func(d string) schema.StringAttribute {
		return checkQuantity("500m or 1Gi").on(schema.StringAttribute{Optional: true, Description: d + " (a Kubernetes quantity)."})
	}
	return schema.SingleNestedAttribute{
		Optional: true,
		Description: "Requests and limits of " + what + ". Where neither the request nor the limit of a kind is given, the request is `" + d.CPURequest +
			"` CPU and `" + d.MemoryRequest + "` memory (no limit): no Pod is BestEffort, and autoscaling always has a base; a limit alone makes Kubernetes request as much.",
		Attributes: map[string]schema.Attribute{
			"cpu_request":    q("CPU request, e.g. `500m`"),
			"memory_request": q("Memory request, e.g. `1Gi`"),
			"cpu_limit":      q("CPU limit"),
			"memory_limit":   q("Memory limit"),
		},
	}
}

func optString(d string) schema.StringAttribute {
	return schema.StringAttribute{Optional: true, Description: d}
}
func optInt(d string) schema.Int64Attribute {
	return schema.Int64Attribute{Optional: true, Description: d}
}
func optBool(d string) schema.BoolAttribute {
	return schema.BoolAttribute{Optional: true, Description: d}
}

func (r *instanceResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	in := instanceFeatures.in
	replace := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	keep := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	secrets := map[string]schema.Attribute{}
	for _, g := range generatedSecrets {
		secrets[g.attr] = schema.StringAttribute{Computed: true, Description: g.desc}
	}
	resp.Schema = schema.Schema{
		Description: "A whole Mastodon instance on Kubernetes: configuration and secrets, the embedded PostgreSQL and Redis " +
			"when no external ones are given, the database prepared by a Job before anything that runs Rails starts, then web, " +
			"streaming and Sidekiq with their Services and an Ingress, all waited for until ready.",
		// The features add their attributes (instanceFeatures); every nested
		// type is built once (cacheNestedTypes).
		Attributes: cacheNestedTypes(in("", map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, Description: "`namespace/name`.", PlanModifiers: keep},
			"name": checkName.on(schema.StringAttribute{Required: true, PlanModifiers: replace,
				Description: "The instance's name: a DNS label of at most 40 characters. Its objects are named after it. Changing it creates a new instance."}),
			"namespace": checkNamespace.on(schema.StringAttribute{Required: true, PlanModifiers: replace,
				Description: "The namespace of the instance's objects. Changing it creates a new instance."}),
			"create_namespace": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(true),
				Description: "Create the namespace when it does not exist (default). A namespace the provider creates is marked as the instance's, " +
					"and destroy deletes it when nothing else lives in it; a namespace that already existed is used as it is and never deleted. " +
					"Set to false to require an existing namespace (for credentials limited to it)."},
			"local_domain": checkDomain.on(schema.StringAttribute{Required: true, PlanModifiers: replace,
				Description: "`LOCAL_DOMAIN`: the domain of users' handles. Mastodon cannot change it once federated, so changing it creates a new instance. " +
					"What the destroy of the old one keeps (the data volumes and the generated secrets, unless `delete_volume_on_destroy` says otherwise) " +
					"belongs to the old domain: every account, status and key in it is the old domain's, so a plan that would reopen it under another " +
					"domain is refused, naming the data and the two ways out (keep the old domain, or delete the kept data). A create that reopens data " +
					"kept for the same domain does so with a plan warning that names it."}),
			"web_domain": checkDomain.on(schema.StringAttribute{Optional: true, PlanModifiers: replace,
				Description: "`WEB_DOMAIN`: where the web interface is served, when it differs from `local_domain`. Changing it creates a new instance, " +
					"which reopens the data the old one kept (same `local_domain`; the plan warns, naming it): Mastodon does not support changing it " +
					"once federated, as other servers know the accounts by addresses on the old one."}),
			"version": checkVersion.on(schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(mastodon.DefaultVersion),
				Description: "The Mastodon version (image tag, with its `v`: `v4.7.3`, not `4.7.3`), default `" + mastodon.DefaultVersion + "`. " +
					"A new instance needs " + mastodon.OldestNewVersion + " or newer (4.3 is end-of-life and cannot boot without an `OTP_SECRET`); an existing instance keeps its OTP secret."}),
			"image": schema.SingleNestedAttribute{Optional: true, Description: "Where the images come from.",
				Attributes: map[string]schema.Attribute{
					"repository":           optString("The web/Sidekiq image repository, default `" + mastodon.DefaultRepository + "`."),
					"streaming_repository": optString("The streaming image repository, default `" + mastodon.DefaultStreamingRepository + "`."),
					"pull_policy":          checkPullPolicy.on(optString("`Always`, `IfNotPresent` (default) or `Never`.")),
					"pull_secrets":         schema.ListAttribute{Optional: true, ElementType: types.StringType, Description: "Names of image pull Secrets in the namespace, for Mastodon's image (web, streaming, Sidekiq, the Jobs and CronJobs). The embedded PostgreSQL and Redis take theirs from `pod.image_pull_secrets` or their own `pod` block."},
				}},
			"web": schema.SingleNestedAttribute{Optional: true, Description: "The web (Puma) processes.",
				Attributes: in("web", map[string]schema.Attribute{
					"resources":   resourcesAttribute("each web Pod", mastodon.DefaultWebResources),
					"concurrency": checkCount.on(optInt("`WEB_CONCURRENCY`: Puma workers per Pod, default 2.")),
					"max_threads": checkCount.on(optInt("`MAX_THREADS`: threads per worker, default 5.")),
				})},
			"streaming": schema.SingleNestedAttribute{Optional: true, Description: "The streaming (Node) processes.",
				Attributes: in("streaming", map[string]schema.Attribute{
					"resources": resourcesAttribute("each streaming Pod", mastodon.DefaultStreamResources),
				})},
			"sidekiq": schema.ListNestedAttribute{Optional: true,
				Description: "Sidekiq processes, each a Deployment. Default: one process `all` serving every queue. Every queue of the version " +
					"must be served by a process with replicas (a queue nobody serves is never worked: no mails without `mailers`, no scheduled " +
					"jobs without `scheduler`; `fasp` from 4.4). Exactly one process may serve `scheduler`, with one replica.",
				NestedObject: schema.NestedAttributeObject{Attributes: in("sidekiq", map[string]schema.Attribute{
					"name": checkProcess.on(schema.StringAttribute{Required: true, Description: "The process's name (a DNS label of at most 20 characters)."}),
					"queues": schema.ListAttribute{Required: true, ElementType: types.StringType, Validators: checkQueues,
						Description: "Queues, optionally weighted as Sidekiq writes it: `default,8`. Known queues: default, push, ingress, mailers, pull, scheduler, fasp."},
					"concurrency": checkCount.on(optInt("Threads (`-c`), default 5; also its `DB_POOL`.")),
					"resources":   resourcesAttribute("each Pod", mastodon.DefaultSidekiqResources),
				})},
			},
			"embedded_database": schema.SingleNestedAttribute{Optional: true,
				Description: "Settings of the embedded PostgreSQL used when `database` is not given.",
				Attributes: in("embedded_database", map[string]schema.Attribute{
					"storage_size":             checkQuantity("10Gi").on(optString("Volume size, default `10Gi`.")),
					"storage_class":            optString("Storage class of the volume (the cluster's default when unset)." + classDoc),
					"resources":                resourcesAttribute("the PostgreSQL Pod", mastodon.DefaultDatabaseResources),
					"delete_volume_on_destroy": optBool("Delete the data volume when the instance is destroyed. Default false: the volume (and so the namespace) is kept." + neverBoundDoc),
				})},
			"embedded_redis": schema.SingleNestedAttribute{Optional: true,
				Description: "Settings of the embedded Redis used when `redis` is not given. It keeps Sidekiq's queues, scheduled jobs and retries " +
					"(federation deliveries, mails) on a volume, in an append-only file and in snapshots, so they survive a restart.",
				Attributes: in("embedded_redis", map[string]schema.Attribute{
					"storage_size":             checkQuantity("1Gi").on(optString("Volume size, default `1Gi`.")),
					"storage_class":            optString("Storage class of the volume (the cluster's default when unset)." + classDoc),
					"resources":                resourcesAttribute("the Redis Pod", mastodon.DefaultRedisResources),
					"delete_volume_on_destroy": optBool("Delete the Redis volume when the instance is destroyed. Default false: the volume (and so the namespace) is kept." + neverBoundDoc),
				})},
			"media": schema.SingleNestedAttribute{Optional: true, Description: "The volume holding uploaded media.",
				Attributes: map[string]schema.Attribute{
					"storage_size":             checkQuantity("10Gi").on(optString("Volume size, default `10Gi`.")),
					"storage_class":            optString("Storage class (the cluster's default when unset)." + classDoc),
					"access_mode":              checkAccessMode.on(optString("ReadWriteOnce (default) or ReadWriteMany (needed to spread web and Sidekiq over nodes). ReadWriteOncePod is refused: web, Sidekiq and every Job mount the volume.")),
					"delete_volume_on_destroy": optBool("Delete the media volume when the instance is destroyed. Default false." + neverBoundDoc),
					"existing_claim": checkClaimName.on(optString("A PersistentVolumeClaim of the namespace that someone else made and that already holds the media " +
						"(the `system` claim of an adopted Helm release): web, Sidekiq and the Jobs mount it, the instance makes no claim of its own and never " +
						"deletes or resizes it. Conflicts with `storage_size` and `storage_class`.")),
				}},
			"settings": schema.SingleNestedAttribute{Optional: true, Description: "Mastodon's common options.",
				Attributes: in("settings", map[string]schema.Attribute{
					"single_user_mode":        optBool("`SINGLE_USER_MODE`."),
					"authorized_fetch":        optBool("`AUTHORIZED_FETCH`."),
					"limited_federation_mode": optBool("`LIMITED_FEDERATION_MODE`."),
					"default_locale":          checkLocale.on(optString("`DEFAULT_LOCALE`, e.g. `en`.")),
					"trusted_proxy_ip":        optString("`TRUSTED_PROXY_IP`."),
					"time_zone": checkTimeZone.on(optString("`TZ` of every Mastodon process (an IANA name such as `Europe/Berlin`; the images' default is `Etc/UTC`): " +
						"the zone of their logs and of the Sidekiq scheduler's recurring jobs (Rails keeps its own times in UTC). The CronJobs' schedules " +
						"(`maintenance`, `backup`) are read in it too (`timeZone`). `settings.extra_env` may not set `TZ` beside it.")),
					"extra_env": schema.MapAttribute{Optional: true, ElementType: types.StringType, Validators: checkEnvNames, Description: "Any other environment variables (kept in the ConfigMap). " +
						"A variable the instance renders for this configuration (the core's, a credential's, a generated secret's, an enabled block's) or that an attribute " +
						"owns (`DB_HOST`, `SMTP_SERVER`, ...: what an adoption maps) is refused at plan, naming the attribute: it would replace the typed value. " +
						"A variable of a block's family that the instance does not render while the block is unset (`OIDC_*` without `sso`, `ES_*` without " +
						"`opensearch`) is passed on as it is, as an adopted release carries it, with a plan warning naming the block. Mastodon's OpenStack Swift and Azure Blob media variables are refused too " +
						"(`SWIFT_*`, `AZURE_*` of `config/initializers/paperclip.rb`): the instance deploys media on its volume or in `media_bucket` (S3-compatible: " +
						"Swift's S3 API, or an S3 gateway in front of Azure Blob), not in those stores. The same holds for the other `extra_secret_env*` maps."},
					"extra_secret_env": schema.MapAttribute{Optional: true, Sensitive: true, ElementType: types.StringType, Validators: checkEnvNames, Description: "Any other secret environment variables (kept in the Secret)."},
					"extra_secret_env_wo": schema.MapAttribute{Optional: true, Sensitive: true, WriteOnly: true, ElementType: types.StringType, Validators: checkEnvNames,
						Description: "More secret environment variables, write-only: never stored in Terraform state (Terraform 1.11+). Requires `extra_secret_env_wo_version`; its names must not repeat those of `extra_secret_env` or `extra_env`."},
					"extra_secret_env_wo_version": woVersionAttribute("extra_secret_env_wo"),
					"extra_secret_env_refs": schema.MapNestedAttribute{Optional: true, Validators: checkEnvNames, NestedObject: schema.NestedAttributeObject{Attributes: secretRefAttributes()},
						Description: "More secret environment variables, each read by the Pods from a key of an existing Secret of the namespace that someone else " +
							"manages (External Secrets, Vault, sealed-secrets): variable name -> `{ name = <Secret>, key = <key> }`. The values never pass through " +
							"Terraform; a change of one rolls the Pods at the next apply. Its names must not repeat those of `extra_env`, `extra_secret_env` or `extra_secret_env_wo`."},
				})},
			"deletion_protection": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(true),
				Description: "While true (the default), destroying the instance is refused."},
			"timeouts": timeouts.Attributes(ctx, timeouts.Opts{Create: true, Read: true, Update: true, Delete: true}),
			"url":      schema.StringAttribute{Computed: true, PlanModifiers: keep, Description: "The instance's public address."},
			"vapid_public_key": schema.StringAttribute{Computed: true, PlanModifiers: keep,
				Description: "The VAPID public key (web push), generated or given in `own_secrets`."},
			"secrets": schema.SingleNestedAttribute{Computed: true, Sensitive: true, Attributes: secrets,
				Description: "The secrets generated once for the instance (or given in `own_secrets`) and never changed afterwards, whatever else changes but a rotation (`own_secrets.rotate`) " +
					"(an embedded password is kept while an external service is used, for the volume that was kept)."},
			"ready": schema.BoolAttribute{Computed: true,
				Description: "Whether every Deployment has rolled out and all its replicas are ready, and no maintenance or backup CronJob's last Job failed " +
					"(a refresh then also warns, naming the task and the Job). An apply waits for the Deployments, so a plan shows false -> true when the cluster has drifted; " +
					"a failed scheduled Job is not repaired by an apply, and a plan does not propose one for it."},
			"migrated_version": schema.StringAttribute{Computed: true,
				Description: "The version whose database migrations have all run. It differs from `version` only while an upgrade is unfinished (a step failed); the next apply resumes it."},
			"drift": schema.ListAttribute{Computed: true, ElementType: types.StringType,
				Description: "What differs between the cluster and this configuration, as read by the last refresh (a deleted Secret, a Deployment scaled by hand, ...). An apply repairs it."},
			"load_balancer_ip": schema.StringAttribute{Computed: true,
				Description: "The Ingress's load balancer IP (with `gateway`: the Gateway's first `IPAddress` in `status.addresses`), for a DNS record."},
			"load_balancer_hostname": schema.StringAttribute{Computed: true,
				Description: "The Ingress's load balancer host name (with `gateway`: the Gateway's first `Hostname` in `status.addresses`), for a DNS record."},
		})),
	}
}
