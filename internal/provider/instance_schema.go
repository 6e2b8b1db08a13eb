package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

type instanceModel struct {
	ID                   types.String           `tfsdk:"id"`
	Name                 types.String           `tfsdk:"name"`
	Namespace            types.String           `tfsdk:"namespace"`
	CreateNamespace      types.Bool             `tfsdk:"create_namespace"`
	LocalDomain          types.String           `tfsdk:"local_domain"`
	WebDomain            types.String           `tfsdk:"web_domain"`
	Version              types.String           `tfsdk:"version"`
	Image                *imageModel            `tfsdk:"image"`
	Web                  *webModel              `tfsdk:"web"`
	Streaming            *streamingModel        `tfsdk:"streaming"`
	Sidekiq              []sidekiqModel         `tfsdk:"sidekiq"`
	Database             *databaseModel         `tfsdk:"database"`
	EmbeddedDatabase     *embeddedDatabaseModel `tfsdk:"embedded_database"`
	Redis                *redisModel            `tfsdk:"redis"`
	EmbeddedRedis        *embeddedRedisModel    `tfsdk:"embedded_redis"`
	SMTP                 *smtpModel             `tfsdk:"smtp"`
	Media                *mediaModel            `tfsdk:"media"`
	MediaBucket          *instanceBucketModel   `tfsdk:"media_bucket"`
	Ingress              *ingressModel          `tfsdk:"ingress"`
	Settings             *settingsModel         `tfsdk:"settings"`
	Opensearch           *opensearchModel       `tfsdk:"opensearch"`
	Translation          *translationModel      `tfsdk:"translation"`
	SearchIndex          types.String           `tfsdk:"search_index"`
	Maintenance          *maintenanceModel      `tfsdk:"maintenance"`
	Backup               *backupModel           `tfsdk:"backup"`
	DeletionProtection   types.Bool             `tfsdk:"deletion_protection"`
	Timeouts             timeouts.Value         `tfsdk:"timeouts"`
	URL                  types.String           `tfsdk:"url"`
	VapidPublicKey       types.String           `tfsdk:"vapid_public_key"`
	Secrets              types.Object           `tfsdk:"secrets"`
	Ready                types.Bool             `tfsdk:"ready"`
	MigratedVersion      types.String           `tfsdk:"migrated_version"`
	Drift                types.List             `tfsdk:"drift"`
	LoadBalancerIP       types.String           `tfsdk:"load_balancer_ip"`
	LoadBalancerHostname types.String           `tfsdk:"load_balancer_hostname"`
	Metrics              *metricsModel          `tfsdk:"metrics"`
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
	Replicas        types.Int64       `tfsdk:"replicas"`
	ExternalScaling types.Bool        `tfsdk:"external_scaling"`
	Resources       *resourcesModel   `tfsdk:"resources"`
	Concurrency     types.Int64       `tfsdk:"concurrency"`
	MaxThreads      types.Int64       `tfsdk:"max_threads"`
	Autoscaling     *autoscalingModel `tfsdk:"autoscaling"`
}

type streamingModel struct {
	Replicas        types.Int64       `tfsdk:"replicas"`
	ExternalScaling types.Bool        `tfsdk:"external_scaling"`
	Resources       *resourcesModel   `tfsdk:"resources"`
	Autoscaling     *autoscalingModel `tfsdk:"autoscaling"`
}

type sidekiqModel struct {
	Name            types.String      `tfsdk:"name"`
	Queues          types.List        `tfsdk:"queues"`
	Concurrency     types.Int64       `tfsdk:"concurrency"`
	Replicas        types.Int64       `tfsdk:"replicas"`
	ExternalScaling types.Bool        `tfsdk:"external_scaling"`
	Resources       *resourcesModel   `tfsdk:"resources"`
	Autoscaling     *autoscalingModel `tfsdk:"autoscaling"`
}

type databaseModel struct {
	Host     types.String   `tfsdk:"host"`
	Port     types.Int64    `tfsdk:"port"`
	Name     types.String   `tfsdk:"name"`
	User     types.String   `tfsdk:"user"`
	Password types.String   `tfsdk:"password"`
	SSLMode  types.String   `tfsdk:"sslmode"`
	Pool     types.Int64    `tfsdk:"pool"`
	MaxConns types.Int64    `tfsdk:"max_connections"`
	CloudSQL *cloudSQLModel `tfsdk:"cloud_sql"`
	CACert   types.String   `tfsdk:"ca_certificate_pem"`
	writeOnlyPassword
}

type cloudSQLModel struct {
	InstanceConnectionName         types.String    `tfsdk:"instance_connection_name"`
	PrivateIP                      types.Bool      `tfsdk:"private_ip"`
	AutoIAMAuthn                   types.Bool      `tfsdk:"auto_iam_authn"`
	ProxyImage                     types.String    `tfsdk:"proxy_image"`
	ProxyResources                 *resourcesModel `tfsdk:"proxy_resources"`
	CredentialsJSON                types.String    `tfsdk:"credentials_json"`
	CredentialsJSONWO              types.String    `tfsdk:"credentials_json_wo"`
	CredentialsJSONWOVersion       types.Int64     `tfsdk:"credentials_json_wo_version"`
	WorkloadIdentityServiceAccount types.String    `tfsdk:"workload_identity_service_account"`
}

// writeOnlyPassword is the write-only alternative to a password attribute.
type writeOnlyPassword struct {
	PasswordWO        types.String `tfsdk:"password_wo"`
	PasswordWOVersion types.Int64  `tfsdk:"password_wo_version"`
}

type embeddedDatabaseModel struct {
	StorageSize           types.String    `tfsdk:"storage_size"`
	StorageClass          types.String    `tfsdk:"storage_class"`
	Resources             *resourcesModel `tfsdk:"resources"`
	DeleteVolumeOnDestroy types.Bool      `tfsdk:"delete_volume_on_destroy"`
}

type embeddedRedisModel struct {
	StorageSize           types.String `tfsdk:"storage_size"`
	StorageClass          types.String `tfsdk:"storage_class"`
	DeleteVolumeOnDestroy types.Bool   `tfsdk:"delete_volume_on_destroy"`
}

type redisModel struct {
	Host     types.String `tfsdk:"host"`
	Port     types.Int64  `tfsdk:"port"`
	User     types.String `tfsdk:"user"`
	Password types.String `tfsdk:"password"`
	writeOnlyPassword
}

type smtpModel struct {
	Server            types.String `tfsdk:"server"`
	Port              types.Int64  `tfsdk:"port"`
	Login             types.String `tfsdk:"login"`
	Password          types.String `tfsdk:"password"`
	FromAddress       types.String `tfsdk:"from_address"`
	Domain            types.String `tfsdk:"domain"`
	AuthMethod        types.String `tfsdk:"auth_method"`
	EnableStartTLS    types.String `tfsdk:"enable_starttls"`
	OpenSSLVerifyMode types.String `tfsdk:"openssl_verify_mode"`
	TLS               types.Bool   `tfsdk:"tls"`
	SSL               types.Bool   `tfsdk:"ssl"`
	DeliveryMethod    types.String `tfsdk:"delivery_method"`
	writeOnlyPassword
}

// mediaBucketModel is also the type of mastodon_media_bucket's settings.
type mediaBucketModel struct {
	Bucket          types.String `tfsdk:"bucket"`
	Endpoint        types.String `tfsdk:"endpoint"`
	Region          types.String `tfsdk:"region"`
	AliasHost       types.String `tfsdk:"alias_host"`
	Permission      types.String `tfsdk:"permission"`
	PathStyle       types.Bool   `tfsdk:"path_style"`
	AccessKeyID     types.String `tfsdk:"access_key_id"`
	SecretAccessKey types.String `tfsdk:"secret_access_key"`
}

// instanceBucketModel is the instance's media_bucket: the settings, and the
// secret key's write-only form.
type instanceBucketModel struct {
	mediaBucketModel
	SecretAccessKeyWO        types.String `tfsdk:"secret_access_key_wo"`
	SecretAccessKeyWOVersion types.Int64  `tfsdk:"secret_access_key_wo_version"`
}

// mediaBucketAttributes describe the connection to a media bucket, for the
// instance's media_bucket and the bucket resource's settings.
func mediaBucketAttributes(computed bool) map[string]schema.Attribute {
	str := func(required bool, desc string) schema.Attribute {
		return schema.StringAttribute{Required: required && !computed, Optional: !required && !computed, Computed: computed, Description: desc}
	}
	return map[string]schema.Attribute{
		"bucket":     str(true, "Bucket name (`S3_BUCKET`)."),
		"endpoint":   str(true, "Endpoint URL, such as `https://storage.googleapis.com` (`S3_ENDPOINT`; `S3_HOSTNAME` and `S3_PROTOCOL` come from it)."),
		"region":     str(false, "Region (`S3_REGION`), default `us-east-1`."),
		"alias_host": str(false, "The public host that serves the bucket's objects, such as a CDN (`S3_ALIAS_HOST`)."),
		"permission": str(false, "The canned ACL written with each object (`S3_PERMISSION`): `public-read` when objects are made public by ACL, empty otherwise."),
		"path_style": schema.BoolAttribute{Optional: !computed, Computed: computed,
			Description: "Address the bucket as `endpoint/bucket` (needed by MinIO, Ceph, Garage) rather than `bucket.endpoint`. " +
				"Mastodon uses path style whenever `S3_ENDPOINT` is set unless `S3_OVERRIDE_PATH_STYLE` is `true`, so false renders `S3_OVERRIDE_PATH_STYLE=true` and true leaves it out."},
		"access_key_id": str(true, "Access key ID (`AWS_ACCESS_KEY_ID`, in the instance's Secret)."),
		"secret_access_key": schema.StringAttribute{Optional: !computed, Computed: computed, Sensitive: true,
			Description: "Secret access key (`AWS_SECRET_ACCESS_KEY`, in the instance's Secret)."},
	}
}

type mediaModel struct {
	StorageSize           types.String `tfsdk:"storage_size"`
	StorageClass          types.String `tfsdk:"storage_class"`
	AccessMode            types.String `tfsdk:"access_mode"`
	DeleteVolumeOnDestroy types.Bool   `tfsdk:"delete_volume_on_destroy"`
}

type ingressModel struct {
	ClassName      types.String `tfsdk:"class_name"`
	Annotations    types.Map    `tfsdk:"annotations"`
	CertificatePEM types.String `tfsdk:"certificate_pem"`
	PrivateKeyPEM  types.String `tfsdk:"private_key_pem"`
	PrivateKeyWO   types.String `tfsdk:"private_key_pem_wo"`
	PrivateKeyWOV  types.Int64  `tfsdk:"private_key_pem_wo_version"`
	TLSSecretName  types.String `tfsdk:"tls_secret_name"`
	GKETimeout     types.Int64  `tfsdk:"gke_streaming_timeout_seconds"`
	WaitForLB      types.Bool   `tfsdk:"wait_for_load_balancer"`
	LBTimeout      types.String `tfsdk:"load_balancer_timeout"`
}

// defaultLoadBalancerTimeout bounds the wait for a new Ingress's address:
// GKE's and EKS's load balancers usually publish it within a few minutes.
const defaultLoadBalancerTimeout = 10 * time.Minute

// loadBalancerWait says whether, and how long, the apply that creates the
// Ingress waits for its load balancer's address.
func (in *ingressModel) loadBalancerWait() (bool, time.Duration) {
	if in == nil || (!in.WaitForLB.IsNull() && !in.WaitForLB.ValueBool()) {
		return false, 0
	}
	if d, err := time.ParseDuration(in.LBTimeout.ValueString()); err == nil && d > 0 {
		return true, d
	}
	return true, defaultLoadBalancerTimeout
}

type settingsModel struct {
	SingleUserMode        types.Bool   `tfsdk:"single_user_mode"`
	AuthorizedFetch       types.Bool   `tfsdk:"authorized_fetch"`
	LimitedFederationMode types.Bool   `tfsdk:"limited_federation_mode"`
	DefaultLocale         types.String `tfsdk:"default_locale"`
	TrustedProxyIP        types.String `tfsdk:"trusted_proxy_ip"`
	ExtraEnv              types.Map    `tfsdk:"extra_env"`
	ExtraSecretEnv        types.Map    `tfsdk:"extra_secret_env"`
	ExtraSecretEnvWO      types.Map    `tfsdk:"extra_secret_env_wo"`
	ExtraSecretEnvWOV     types.Int64  `tfsdk:"extra_secret_env_wo_version"`
}

const (
	sslmodeDescription = "`DB_SSLMODE` of Rails (libpq): disable, allow, prefer (default), require, verify-ca or verify-full; verify-ca and " +
		"verify-full need `ca_certificate_pem`. The streaming server (node-postgres) reads `DB_SSLMODE` differently and never falls back to plain " +
		"text, so its container gets its own: `disable` (no TLS) for disable, allow and prefer, which works against a server with or without TLS; " +
		"`no-verify` (TLS without verification) for require and verify-ca (Node cannot check the CA without the host name, which Rails does not " +
		"check with verify-ca); full verification (host name included) for verify-full. Against a server that demands TLS, say require or stronger."
	databaseCADescription = "PEM CA certificate of a database with a private CA, kept in a ConfigMap and mounted into every Pod: " +
		"Rails reads it through `PGSSLROOTCERT`, streaming through `NODE_EXTRA_CA_CERTS`. Use it with sslmode verify-ca or verify-full. Not with `cloud_sql`."
)

func resourcesAttribute(what string) schema.SingleNestedAttribute {
	q := func(d string) schema.StringAttribute {
		return schema.StringAttribute{Optional: true, Description: d + " (a Kubernetes quantity)."}
	}
	return schema.SingleNestedAttribute{
		Optional:    true,
		Description: "Requests and limits of " + what + ".",
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
	replace := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	keep := []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
	sensitive := func(d string) schema.StringAttribute {
		return schema.StringAttribute{Optional: true, Sensitive: true, Description: d}
	}
	// wo and woVersion are the write-only form of a secret input and the
	// version that says when to apply a new value.
	wo := func(what, clear string) schema.StringAttribute {
		return schema.StringAttribute{Optional: true, Sensitive: true, WriteOnly: true,
			Description: what + ", write-only: never stored in Terraform state (Terraform 1.11+). Requires the `_wo_version` beside it; conflicts with `" + clear + "`."}
	}
	woVersion := func(wo string) schema.Int64Attribute {
		return schema.Int64Attribute{Optional: true, Description: "Required with `" + wo + "`; change it to apply a new `" + wo + "`."}
	}
	externalScaling := optBool("Another controller (an autoscaler you run, KEDA, ...) sets the number of Pods: the provider neither sets " +
		"`replicas` nor reports a change of them as drift. Conflicts with `replicas`.")
	bucket := mediaBucketAttributes(false)
	bucket["secret_access_key_wo"] = wo("Secret access key", "secret_access_key")
	bucket["secret_access_key_wo_version"] = woVersion("secret_access_key_wo")
	secrets := map[string]schema.Attribute{}
	for _, g := range generatedSecrets {
		secrets[g.attr] = schema.StringAttribute{Computed: true, Description: g.desc}
	}
	defer func() {
		for name, a := range searchAttributes(sensitive, wo, woVersion) {
			resp.Schema.Attributes[name] = a
		}
	}()
	resp.Schema = schema.Schema{
		Description: "A whole Mastodon instance on Kubernetes: configuration and secrets, the embedded PostgreSQL and Redis " +
			"when no external ones are given, the database prepared by a Job before anything that runs Rails starts, then web, " +
			"streaming and Sidekiq with their Services and an Ingress, all waited for until ready.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, Description: "`namespace/name`.", PlanModifiers: keep},
			"name": schema.StringAttribute{Required: true, PlanModifiers: replace,
				Description: "The instance's name: a DNS label of at most 40 characters. Its objects are named after it. Changing it creates a new instance."},
			"namespace": schema.StringAttribute{Required: true, PlanModifiers: replace,
				Description: "The namespace of the instance's objects. Changing it creates a new instance."},
			"create_namespace": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(true),
				Description: "Create the namespace when it does not exist (default). A namespace the provider creates is marked as the instance's, " +
					"and destroy deletes it when nothing else lives in it; a namespace that already existed is used as it is and never deleted. " +
					"Set to false to require an existing namespace (for credentials limited to it)."},
			"local_domain": schema.StringAttribute{Required: true, PlanModifiers: replace,
				Description: "`LOCAL_DOMAIN`: the domain of users' handles. Mastodon cannot change it once federated, so changing it creates a new instance. " +
					"What the destroy of the old one keeps (the data volumes and the generated secrets, unless `delete_volume_on_destroy` says otherwise) " +
					"belongs to the old domain: every account, status and key in it is the old domain's, so a plan that would reopen it under another " +
					"domain is refused, naming the data and the two ways out (keep the old domain, or delete the kept data). A create that reopens data " +
					"kept for the same domain does so with a plan warning that names it."},
			"web_domain": schema.StringAttribute{Optional: true, PlanModifiers: replace,
				Description: "`WEB_DOMAIN`: where the web interface is served, when it differs from `local_domain`. Changing it creates a new instance, " +
					"which reopens the data the old one kept (same `local_domain`; the plan warns, naming it): Mastodon does not support changing it " +
					"once federated, as other servers know the accounts by addresses on the old one."},
			"version": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString(mastodon.DefaultVersion),
				Description: "The Mastodon version (image tag, with its `v`: `v4.7.3`, not `4.7.3`), default `" + mastodon.DefaultVersion + "`. " +
					"A new instance needs " + mastodon.OldestNewVersion + " or newer (4.3 is end-of-life and cannot boot without an `OTP_SECRET`); an existing instance keeps its OTP secret."},
			"image": schema.SingleNestedAttribute{Optional: true, Description: "Where the images come from.",
				Attributes: map[string]schema.Attribute{
					"repository":           optString("The web/Sidekiq image repository, default `" + mastodon.DefaultRepository + "`."),
					"streaming_repository": optString("The streaming image repository, default `" + mastodon.DefaultStreamingRepository + "`."),
					"pull_policy":          optString("`Always`, `IfNotPresent` (default) or `Never`."),
					"pull_secrets":         schema.ListAttribute{Optional: true, ElementType: types.StringType, Description: "Names of image pull Secrets in the namespace."},
				}},
			"web": schema.SingleNestedAttribute{Optional: true, Description: "The web (Puma) processes.",
				Attributes: map[string]schema.Attribute{
					"replicas":         optInt("Number of Pods, default 1."),
					"external_scaling": externalScaling,
					"autoscaling":      autoscalingAttribute("web", "`web.resources`"),
					"resources":        resourcesAttribute("each web Pod"),
					"concurrency":      optInt("`WEB_CONCURRENCY`: Puma workers per Pod, default 2."),
					"max_threads":      optInt("`MAX_THREADS`: threads per worker, default 5."),
				}},
			"streaming": schema.SingleNestedAttribute{Optional: true, Description: "The streaming (Node) processes.",
				Attributes: map[string]schema.Attribute{
					"replicas":         optInt("Number of Pods, default 1."),
					"external_scaling": externalScaling,
					"autoscaling":      autoscalingAttribute("streaming", "`streaming.resources`"),
					"resources":        resourcesAttribute("each streaming Pod"),
				}},
			"sidekiq": schema.ListNestedAttribute{Optional: true,
				Description: "Sidekiq processes, each a Deployment. Default: one process `all` serving every queue. Every queue of the version " +
					"must be served by a process with replicas (a queue nobody serves is never worked: no mails without `mailers`, no scheduled " +
					"jobs without `scheduler`; `fasp` from 4.4). Exactly one process may serve `scheduler`, with one replica.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"name": schema.StringAttribute{Required: true, Description: "The process's name (a DNS label of at most 20 characters)."},
					"queues": schema.ListAttribute{Required: true, ElementType: types.StringType,
						Description: "Queues, optionally weighted as Sidekiq writes it: `default,8`. Known queues: default, push, ingress, mailers, pull, scheduler, fasp."},
					"concurrency":      optInt("Threads (`-c`), default 5; also its `DB_POOL`."),
					"replicas":         optInt("Number of Pods, default 1."),
					"external_scaling": externalScaling,
					"autoscaling":      autoscalingAttribute("the process", "its `resources`; a process serving `scheduler` cannot autoscale"),
					"resources":        resourcesAttribute("each Pod"),
				}},
			},
			"database": schema.SingleNestedAttribute{Optional: true,
				Description: "An external PostgreSQL (14 or newer). Without it, an embedded PostgreSQL runs in the namespace.",
				Attributes: map[string]schema.Attribute{
					"host": optString("Host name or address (not with `cloud_sql`)."),
					"port": optInt("Port, default 5432."),
					"cloud_sql": schema.SingleNestedAttribute{Optional: true,
						Description: "Reach a Cloud SQL for PostgreSQL instance through the Cloud SQL Auth Proxy v2, run as a native sidecar " +
							"(an init container that keeps running) in every Pod that talks to the database, Jobs included; " +
							"the application connects to it on 127.0.0.1:5432.",
						Attributes: map[string]schema.Attribute{
							"instance_connection_name": schema.StringAttribute{Required: true,
								Description: "`project:region:instance`, e.g. `google_sql_database_instance.x.connection_name`."},
							"private_ip":      optBool("Connect over the instance's private IP (`--private-ip`)."),
							"auto_iam_authn":  optBool("IAM database authentication (`--auto-iam-authn`); `user` is then the IAM user."),
							"proxy_image":     optString("The proxy image, default `" + mastodon.DefaultCloudSQLProxyImage + "`."),
							"proxy_resources": resourcesAttribute("the proxy sidecar"),
							"credentials_json": schema.StringAttribute{Optional: true, Sensitive: true,
								Description: "A service-account key in JSON (`base64decode(google_service_account_key.x.private_key)`), kept in a Secret and mounted read-only. " +
									"Conflicts with `workload_identity_service_account`, which is preferred."},
							"credentials_json_wo":         wo("The service-account key in JSON", "credentials_json"),
							"credentials_json_wo_version": woVersion("credentials_json_wo"),
							"workload_identity_service_account": optString("The Google service account (email) that the instance's Kubernetes ServiceAccount " +
								"acts as through Workload Identity: the ServiceAccount gets the `iam.gke.io/gcp-service-account` annotation. No key to leak or rotate."),
						}},
					"name":                optString("Database name, default `mastodon_production`."),
					"user":                schema.StringAttribute{Required: true, Description: "User name."},
					"password":            sensitive("Password. It reaches Pods through a Secret only. Conflicts with `password_wo`."),
					"password_wo":         wo("Password", "password"),
					"password_wo_version": woVersion("password_wo"),
					"sslmode":             optString(sslmodeDescription),
					"ca_certificate_pem":  optString(databaseCADescription),
					"pool": optInt("`DB_POOL`: the pool of each web (Puma) worker and of each streaming Pod (Sidekiq uses its concurrency). " +
						"Default: web's `max_threads` for web, 10 for streaming. Not below `web.max_threads` (a thread without a connection waits, then fails)."),
					"max_connections": optInt("The server's `max_connections`, default 100 (PostgreSQL's). Nothing is set on the server: the plan warns when " +
						"the instance may hold more connections at full scale than it leaves (3 are reserved for superusers). The sum: web Pods (the " +
						"autoscaler's maximum) x `web.concurrency` x `web.max_threads`, each Sidekiq process's Pods x its `concurrency`, streaming Pods x " +
						"its pool, and the Jobs that may run beside them (6 per scheduled tootctl task and for the search index build, 2 for a " +
						"migration and 2 for an account's tootctl, 1 for the backup). A process scaled by `external_scaling` counts as one Pod."),
				}},
			"embedded_database": schema.SingleNestedAttribute{Optional: true,
				Description: "Settings of the embedded PostgreSQL used when `database` is not given.",
				Attributes: map[string]schema.Attribute{
					"storage_size":             optString("Volume size, default `10Gi`."),
					"storage_class":            optString("Storage class of the volume (the cluster's default when unset)." + classDoc),
					"resources":                resourcesAttribute("the PostgreSQL Pod"),
					"delete_volume_on_destroy": optBool("Delete the data volume when the instance is destroyed. Default false: the volume (and so the namespace) is kept." + neverBoundDoc),
				}},
			"embedded_redis": schema.SingleNestedAttribute{Optional: true,
				Description: "Settings of the embedded Redis used when `redis` is not given. It keeps Sidekiq's queues, scheduled jobs and retries " +
					"(federation deliveries, mails) on a volume, in an append-only file and in snapshots, so they survive a restart.",
				Attributes: map[string]schema.Attribute{
					"storage_size":             optString("Volume size, default `1Gi`."),
					"storage_class":            optString("Storage class of the volume (the cluster's default when unset)." + classDoc),
					"delete_volume_on_destroy": optBool("Delete the Redis volume when the instance is destroyed. Default false: the volume (and so the namespace) is kept." + neverBoundDoc),
				}},
			"redis": schema.SingleNestedAttribute{Optional: true,
				Description: "An external Redis (6.2 or newer). Without it, an embedded Redis runs in the namespace.",
				Attributes: map[string]schema.Attribute{
					"host":                schema.StringAttribute{Required: true, Description: "Host name or address."},
					"port":                optInt("Port, default 6379."),
					"user":                optString("ACL user name."),
					"password":            sensitive("Password. It reaches Pods through a Secret only."),
					"password_wo":         wo("Password", "password"),
					"password_wo_version": woVersion("password_wo"),
				}},
			"smtp": schema.SingleNestedAttribute{Optional: true, Description: "Outgoing mail.",
				Attributes: map[string]schema.Attribute{
					"server":              schema.StringAttribute{Required: true, Description: "SMTP server, e.g. `smtp.sendgrid.net`."},
					"port":                optInt("Port, default 587, or 465 with `tls` or `ssl` (implicit TLS). SendGrid also listens on 2525 where 25/465/587 are blocked."),
					"login":               optString("Login (`apikey` for SendGrid)."),
					"password":            sensitive("Password or API key. It reaches Pods through a Secret only. Conflicts with `password_wo`."),
					"password_wo":         wo("Password or API key", "password"),
					"password_wo_version": woVersion("password_wo"),
					"from_address":        optString("Sender address, default `notifications@<local_domain>` (Mastodon's own default, `notifications@localhost`, is refused by relays)."),
					"domain":              optString("HELO domain."),
					"auth_method":         optString("plain (default), login, cram_md5 or none."),
					"enable_starttls":     optString("auto (default), always or never; never (the default then) with `tls` or `ssl`, which the mail gem refuses to combine with STARTTLS."),
					"openssl_verify_mode": optString("peer (default), none, client_once or fail_if_no_peer_cert."),
					"tls":                 optBool("Implicit TLS (`SMTP_TLS`, port 465)."),
					"ssl":                 optBool("Implicit SSL (`SMTP_SSL`)."),
					"delivery_method":     optString("smtp (default), sendmail or file (letter_opener is development-only and refused)."),
				}},
			"media": schema.SingleNestedAttribute{Optional: true, Description: "The volume holding uploaded media.",
				Attributes: map[string]schema.Attribute{
					"storage_size":             optString("Volume size, default `10Gi`."),
					"storage_class":            optString("Storage class (the cluster's default when unset)." + classDoc),
					"access_mode":              optString("ReadWriteOnce (default) or ReadWriteMany (needed to spread web and Sidekiq over nodes). ReadWriteOncePod is refused: web, Sidekiq and every Job mount the volume."),
					"delete_volume_on_destroy": optBool("Delete the media volume when the instance is destroyed. Default false." + neverBoundDoc),
				}},
			"media_bucket": schema.SingleNestedAttribute{Optional: true,
				Description: "Store media in an S3-compatible bucket instead of the `media` volume: usually `mastodon_media_bucket.x.settings`. " +
					"Sets `S3_ENABLED` and the `S3_*` variables; the credentials go into the instance's Secret only. Conflicts with `media`.",
				Attributes: bucket},
			"ingress": schema.SingleNestedAttribute{Optional: true,
				Description: "An Ingress routing the web domain to web, and `/api/v1/streaming` to streaming, with TLS.",
				Attributes: map[string]schema.Attribute{
					"class_name":                 optString("The IngressClass."),
					"annotations":                schema.MapAttribute{Optional: true, ElementType: types.StringType, Description: "Annotations of the Ingress (e.g. for cert-manager)."},
					"certificate_pem":            optString("PEM certificate (chain) for the web domain. Requires `private_key_pem`."),
					"private_key_pem":            sensitive("PEM private key of `certificate_pem`."),
					"private_key_pem_wo":         wo("PEM private key of `certificate_pem`", "private_key_pem"),
					"private_key_pem_wo_version": woVersion("private_key_pem_wo"),
					"tls_secret_name":            optString("An existing TLS Secret to use instead, e.g. one cert-manager fills."),
					"gke_streaming_timeout_seconds": optInt("On GKE's Ingress (class `gce`): the load balancer's backend timeout for streaming, in seconds, " +
						"as a BackendConfig attached to the streaming Service (`cloud.google.com/backend-config`). GKE's default, 30 s, cuts every websocket; 3600 keeps them an hour. " +
						"Needs the BackendConfig resource, which GKE clusters serve."),
					"wait_for_load_balancer": optBool("Whether the apply that creates the Ingress waits until its load balancer publishes an address " +
						"(default true), so that `load_balancer_ip` or `load_balancer_hostname` is known when the apply ends and a DNS record fed from it in the same " +
						"apply gets it. On GKE and EKS the address comes seconds to minutes after the Ingress. The wait is bounded by `load_balancer_timeout`; " +
						"when that runs out the apply succeeds with a warning and the address stays null until a later apply reads it. Set false on a cluster " +
						"whose Ingress controller never publishes an address (some bare-metal setups), so that creating an Ingress does not wait."),
					"load_balancer_timeout": schema.StringAttribute{Optional: true,
						Validators: []validator.String{durationValidator{}},
						Description: "How long the apply that creates the Ingress waits for the load balancer's address, as a Go duration such as `5m` (default `10m`). " +
							"Counted within the create or update timeout."},
				}},
			"settings": schema.SingleNestedAttribute{Optional: true, Description: "Mastodon's common options.",
				Attributes: map[string]schema.Attribute{
					"single_user_mode":        optBool("`SINGLE_USER_MODE`."),
					"authorized_fetch":        optBool("`AUTHORIZED_FETCH`."),
					"limited_federation_mode": optBool("`LIMITED_FEDERATION_MODE`."),
					"default_locale":          optString("`DEFAULT_LOCALE`, e.g. `en`."),
					"trusted_proxy_ip":        optString("`TRUSTED_PROXY_IP`."),
					"extra_env":               schema.MapAttribute{Optional: true, ElementType: types.StringType, Description: "Any other environment variables (kept in the ConfigMap)."},
					"extra_secret_env":        schema.MapAttribute{Optional: true, Sensitive: true, ElementType: types.StringType, Description: "Any other secret environment variables (kept in the Secret)."},
					"extra_secret_env_wo": schema.MapAttribute{Optional: true, Sensitive: true, WriteOnly: true, ElementType: types.StringType,
						Description: "More secret environment variables, write-only: never stored in Terraform state (Terraform 1.11+). Requires `extra_secret_env_wo_version`; its names must not repeat those of `extra_secret_env` or `extra_env`."},
					"extra_secret_env_wo_version": woVersion("extra_secret_env_wo"),
				}},
			"maintenance": maintenanceSchema(),
			"backup":      backupSchema(),
			"deletion_protection": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(true),
				Description: "While true (the default), destroying the instance is refused."},
			"timeouts": timeouts.Attributes(ctx, timeouts.Opts{Create: true, Read: true, Update: true, Delete: true}),
			"url":      schema.StringAttribute{Computed: true, PlanModifiers: keep, Description: "The instance's public address."},
			"vapid_public_key": schema.StringAttribute{Computed: true, PlanModifiers: keep,
				Description: "The generated VAPID public key (web push)."},
			"secrets": schema.SingleNestedAttribute{Computed: true, Sensitive: true, Attributes: secrets,
				Description: "The secrets generated once for the instance and never changed afterwards, whatever else changes " +
					"(an embedded password is kept while an external service is used, for the volume that was kept)."},
			"ready": schema.BoolAttribute{Computed: true,
				Description: "Whether every Deployment has rolled out and all its replicas are ready, and no maintenance or backup CronJob's last Job failed " +
					"(a refresh then also warns, naming the task and the Job). An apply waits for the Deployments, so a plan shows false -> true when the cluster has drifted; " +
					"a failed scheduled Job is not repaired by an apply, and a plan does not propose one for it."},
			"migrated_version": schema.StringAttribute{Computed: true,
				Description: "The version whose database migrations have all run. It differs from `version` only while an upgrade is unfinished (a step failed); the next apply resumes it."},
			"drift": schema.ListAttribute{Computed: true, ElementType: types.StringType,
				Description: "What differs between the cluster and this configuration, as read by the last refresh (a deleted Secret, a Deployment scaled by hand, ...). An apply repairs it."},
			"load_balancer_ip":       schema.StringAttribute{Computed: true, Description: "The Ingress's load balancer IP, for a DNS record."},
			"load_balancer_hostname": schema.StringAttribute{Computed: true, Description: "The Ingress's load balancer host name, for a DNS record."},
			"metrics":                metricsAttribute(),
		},
	}
}

// durationValidator accepts a positive Go duration such as `5m` or `90s`.
type durationValidator struct{}

func (durationValidator) Description(context.Context) string {
	return "a positive duration such as `5m` or `90s`"
}
func (v durationValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }
func (durationValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if d, err := time.ParseDuration(req.ConfigValue.ValueString()); err != nil || d <= 0 {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid duration",
			fmt.Sprintf("%s: %q is not a positive duration such as \"5m\" or \"90s\".", req.Path, req.ConfigValue.ValueString()))
	}
}
