package mastodon

import (
	"crypto/x509"
	"fmt"
	"math"
	"regexp"
	"strings"
)

// DefaultVersion is the Mastodon release a new instance runs unless told
// otherwise: the newest stable 4.x tag. Bump it here alone.
const DefaultVersion = "v4.7.3"

// Default images.
const (
	DefaultRepository          = "ghcr.io/mastodon/mastodon"
	DefaultStreamingRepository = "ghcr.io/mastodon/mastodon-streaming"
	PostgresImage              = "postgres:17-alpine"
	RedisImage                 = "redis:7.4-alpine"
)

// Queues are the Sidekiq queues Mastodon uses.
var Queues = []string{"default", "push", "ingress", "mailers", "pull", "scheduler", "fasp"}

// QueueWeights are the weights of Mastodon's config/sidekiq.yml, which any
// -q on the command line replaces: queues given without weights are served
// in strict order, so under load the later ones starve.
var QueueWeights = map[string]int{"default": 8, "push": 6, "ingress": 4, "mailers": 2, "pull": 1, "scheduler": 1, "fasp": 1}

// Resources are a container's requests and limits, as Kubernetes quantities.
type Resources struct {
	CPURequest, MemoryRequest, CPULimit, MemoryLimit string
}

// The requests of the containers the instance runs where neither a
// request nor a limit of that kind is given (with a limit alone,
// Kubernetes requests as much). Without requests a Pod is BestEffort, the
// first evicted when a node runs short of memory, and the scheduler packs
// it anywhere. Web's and streaming's are what Mastodon's own chart
// suggests (mastodon/chart values.yaml: web 250m and 768Mi, streaming 250m
// and 128Mi); no limit is set by default (a CPU limit throttles Puma's
// and Sidekiq's bursts, a memory limit kills them mid-request).
var (
	DefaultWebResources      = Resources{CPURequest: "250m", MemoryRequest: "768Mi"}
	DefaultStreamResources   = Resources{CPURequest: "250m", MemoryRequest: "128Mi"}
	DefaultSidekiqResources  = Resources{CPURequest: "250m", MemoryRequest: "512Mi"}
	DefaultDatabaseResources = Resources{CPURequest: "250m", MemoryRequest: "256Mi"}
	DefaultRedisResources    = Resources{CPURequest: "100m", MemoryRequest: "128Mi"}
	DefaultProxyResources    = Resources{CPURequest: "50m", MemoryRequest: "64Mi"}
)

// withDefault fills r's requests from d where r gives neither the request
// nor the limit of that kind.
func (r *Resources) withDefault(d Resources) {
	if r.CPURequest == "" && r.CPULimit == "" {
		r.CPURequest = d.CPURequest
	}
	if r.MemoryRequest == "" && r.MemoryLimit == "" {
		r.MemoryRequest = d.MemoryRequest
	}
}

// Default sizes of the volumes.
const (
	DefaultMediaSize    = "10Gi"
	DefaultDatabaseSize = "10Gi"
	DefaultRedisSize    = "1Gi"
)

// ScaledElsewhere as a number of replicas leaves them to another controller
// (an autoscaler): the Deployment is rendered without replicas, so the
// provider neither sets them nor reports them as drift.
const ScaledElsewhere int32 = math.MinInt32

// Queue is a Sidekiq queue with an optional weight (0: none).
type Queue struct {
	Name   string
	Weight int
}

// SidekiqProcess is one Sidekiq Deployment.
type SidekiqProcess struct {
	Name        string
	Queues      []Queue
	Concurrency int32
	Replicas    int32
	Resources   Resources

	// Autoscaling, when set, scales the process (Replicas is then
	// ScaledElsewhere).
	Autoscaling *Autoscaling `json:",omitempty"`
	// Pod are the process's own Pod settings, over the instance's.
	Pod PodSettings `json:",omitzero"`
}

// Database is an external PostgreSQL.
type Database struct {
	Host     string
	Port     int32
	Name     string
	User     string
	Password string
	// PasswordRef, when set, gives the password instead (see SecretRef).
	PasswordRef *SecretRef `json:",omitempty"`
	SSLMode     string
	Pool        int32
	// MaxConnections is the server's max_connections, for the connection
	// budget (0: PostgreSQL's default, 100).
	MaxConnections int32
	// CACertificatePEM is the CA that signed the database's certificate,
	// for databases with a private CA ("" for none).
	CACertificatePEM string
	// CloudSQL, when set, reaches the database through the Cloud SQL Auth
	// Proxy on 127.0.0.1 (Host is then not used).
	CloudSQL *CloudSQL
	// Pooler, when set, is the pooler at Host and Port (see Pooler).
	Pooler *Pooler `json:",omitempty"`
	// Direct, when set, is where the migration Jobs reach the database.
	Direct *DirectDatabase `json:",omitempty"`
	// Replica, when set, is a read replica (see Replica).
	Replica *Replica `json:",omitempty"`
}

// EmbeddedDatabase configures the in-cluster PostgreSQL used when no
// external database is given.
type EmbeddedDatabase struct {
	StorageSize  string
	StorageClass string
	Resources    Resources
	// KeepVolumeOnDestroy keeps the data volume when the instance is destroyed.
	KeepVolumeOnDestroy bool
}

// EmbeddedRedis configures the in-cluster Redis used when no external
// Redis is given.
type EmbeddedRedis struct {
	StorageSize  string
	StorageClass string
	Resources    Resources
}

// Redis is an external Redis.
type Redis struct {
	Host     string
	Port     int32
	User     string
	Password string
	// PasswordRef, when set, gives the password instead (see SecretRef).
	PasswordRef *SecretRef `json:",omitempty"`
	// DB is the database number (0: Redis's first).
	DB int32 `json:",omitempty"`
	// TLS connects with rediss:// (redissplit.go).
	TLS bool `json:",omitempty"`
	// Sentinel, when set, finds the server through Redis Sentinel instead
	// of Host and Port (redissplit.go).
	Sentinel *Sentinel `json:",omitempty"`
}

// Media is the volume holding uploads when no bucket is used.
type Media struct {
	StorageSize  string
	StorageClass string
	AccessMode   string
	// ExistingClaim is a claim someone else made (an adopted Helm
	// release's): Pods mount it, the instance renders no claim of its own
	// and never deletes it.
	ExistingClaim string
}

// MediaClaim is the claim that holds media when no bucket does.
func (s *Spec) MediaClaim() string {
	if s.Media.ExistingClaim != "" {
		return s.Media.ExistingClaim
	}
	return s.MediaName()
}

// Settings are Mastodon's common options and free-form environment.
type Settings struct {
	SingleUserMode        bool
	AuthorizedFetch       bool
	LimitedFederationMode bool
	DefaultLocale         string
	TrustedProxyIP        string
	// TimeZone is the processes' TZ (an IANA name; "" for the images'
	// Etc/UTC), and the CronJobs' schedules' zone.
	TimeZone       string
	ExtraEnv       map[string]string
	ExtraSecretEnv map[string]string
	// ExtraSecretEnvWriteOnly are secret variables given write-only: their
	// names are recorded on the Secret (AnnotationWriteOnlyKeys), so a
	// refresh, which does not have their values, reads them back from it.
	ExtraSecretEnvWriteOnly map[string]string
	// ExtraSecretEnvRefs are secret variables read by reference (see SecretRef).
	ExtraSecretEnvRefs map[string]*SecretRef `json:",omitempty"`
}

// Spec is everything that describes one instance.
type Spec struct {
	Name            string
	Namespace       string
	LocalDomain     string
	WebDomain       string
	Version         string
	Repository      string
	StreamingRepo   string
	PullPolicy      string
	PullSecrets     []string
	WebReplicas     int32 // or ScaledElsewhere
	WebResources    Resources
	WebConcurrency  int32
	MaxThreads      int32
	StreamReplicas  int32
	StreamResources Resources
	Sidekiq         []SidekiqProcess
	Database        *Database // nil: embedded
	Embedded        EmbeddedDatabase
	Redis           *Redis // nil: embedded
	EmbeddedRedis   EmbeddedRedis
	SMTP            *SMTP
	Media           Media
	MediaBucket     *MediaBucket // nil: the media volume
	Ingress         *Ingress
	Settings        Settings
	Search          *Search      // nil: no full-text search
	Translation     *Translation // nil: no translation
	Maintenance     Maintenance
	Backup          *Backup // nil: no backup

	// WebAutoscaling and StreamAutoscaling, when set, scale web and
	// streaming (their replicas are then ScaledElsewhere).
	WebAutoscaling, StreamAutoscaling *Autoscaling
	// Metrics, when set, switches Mastodon's Prometheus exporter on.
	Metrics *Metrics
	// OwnSecrets are secrets given instead of generated (nil: none).
	OwnSecrets *OwnSecrets
	// Restore fills a new embedded database from a dump (nil: none).
	Restore *Restore

	// Pod are the settings of every Pod (PodSettings); ComponentPods
	// override them per component (keys: ComponentWeb, ComponentStreaming,
	// ComponentDatabase, ComponentRedis, PodJobs); a Sidekiq process's are
	// its own (SidekiqProcess.Pod).
	Pod           PodSettings
	ComponentPods map[string]PodSettings
	// JobResources are the requests and limits of the Jobs' and
	// CronJobs' Mastodon containers (nil: web's).
	JobResources *Resources
	// ServiceAccount is the identity of every Pod (nil: the namespace's
	// default, unless Cloud SQL's Workload Identity needs one).
	ServiceAccount *ServiceAccount
	// Gateway routes the domains through a Gateway's HTTPRoutes instead
	// of an Ingress (nil: none).
	Gateway *Gateway
	// Domains are the alternate, streaming and CDN hosts (none when
	// empty).
	Domains Domains
	// SSO is single sign-on (nil: none).
	SSO *SSO `json:",omitempty"`
	// HCaptcha gives the sign-up form its CAPTCHA's keys (nil: none).
	HCaptcha *HCaptcha
	// OpenTelemetry sends the Rails processes' traces (nil: none).
	OpenTelemetry *OpenTelemetry
	// LogLevels are the processes' log levels.
	LogLevels LogLevels
	// Policy are the options of registrations, retention, API access and
	// outbound requests.
	Policy Policy

	// CacheRedis, EmbeddedCacheRedis and SidekiqRedis give Rails' cache
	// and Sidekiq their own Redis (nil: the main one; redissplit.go).
	CacheRedis         *Redis
	EmbeddedCacheRedis *EmbeddedCacheRedis
	SidekiqRedis       *Redis

	// keyBase is the SECRET_KEY_BASE of the last Environment, from which
	// the embedded cache Redis's password is derived (redissplit.go).
	keyBase string
}

// Defaults fills what the user left empty: the core's part, then each
// feature's.
func (s *Spec) Defaults() {
	setDefault(&s.Version, DefaultVersion)
	setDefault(&s.Repository, DefaultRepository)
	setDefault(&s.StreamingRepo, DefaultStreamingRepository)
	setDefault(&s.PullPolicy, "IfNotPresent")
	if s.Media.ExistingClaim == "" {
		setDefault(&s.Media.StorageSize, DefaultMediaSize)
	}
	setDefault(&s.Media.AccessMode, "ReadWriteOnce")
	setDefault(&s.Embedded.StorageSize, DefaultDatabaseSize)
	setDefault(&s.EmbeddedRedis.StorageSize, DefaultRedisSize)
	if s.WebConcurrency == 0 {
		s.WebConcurrency = 2
	}
	if s.MaxThreads == 0 {
		s.MaxThreads = 5
	}
	if len(s.Sidekiq) == 0 {
		s.Sidekiq = []SidekiqProcess{DefaultSidekiq()}
	}
	for i := range s.Sidekiq {
		if s.Sidekiq[i].Concurrency == 0 {
			s.Sidekiq[i].Concurrency = 5
		}
		s.Sidekiq[i].Resources.withDefault(DefaultSidekiqResources)
	}
	s.WebResources.withDefault(DefaultWebResources)
	if s.JobResources != nil {
		// jobs.resources gives some: web's fill the rest.
		s.JobResources.withDefault(s.WebResources)
	}
	s.StreamResources.withDefault(DefaultStreamResources)
	s.Embedded.Resources.withDefault(DefaultDatabaseResources)
	s.EmbeddedRedis.Resources.withDefault(DefaultRedisResources)
	if s.Database != nil {
		if s.Database.Port == 0 {
			s.Database.Port = 5432
		}
		setDefault(&s.Database.Name, "mastodon_production")
		setDefault(&s.Database.SSLMode, "prefer")
	}
	if s.Redis != nil && s.Redis.Port == 0 {
		s.Redis.Port = 6379
	}
	for _, f := range features {
		f.defaults(s)
	}
}

// setDefault sets an empty string to its default.
func setDefault(v *string, d string) {
	if *v == "" {
		*v = d
	}
}

// DefaultSidekiq is the single process serving every queue.
func DefaultSidekiq() SidekiqProcess {
	p := SidekiqProcess{Name: "all", Replicas: 1, Concurrency: 5}
	for _, q := range Queues {
		p.Queues = append(p.Queues, Queue{Name: q, Weight: QueueWeights[q]})
	}
	return p
}

// FieldError is a validation error tied to an attribute path such as
// "sidekiq[1].replicas".
type FieldError struct {
	Path    string
	Message string
	// Related are the other attributes its rule reads, every one: while
	// one of them is not known yet, the error may not hold.
	Related []string `json:",omitempty"`
}

func (e FieldError) Error() string { return e.Path + ": " + e.Message }

var (
	versionRe  = regexp.MustCompile(`^v?(\d+)\.(\d+)\.(\d+)(-[0-9A-Za-z.-]+)?$`)
	processRe  = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,18}[a-z0-9])?$`)
	envNameRe  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	localeRe   = regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$`)
	sslModes   = []string{"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}
	pullPols   = []string{"Always", "IfNotPresent", "Never"}
	accessMode = []string{"ReadWriteOnce", "ReadWriteMany"}
)

func oneOf(v string, allowed []string) bool {
	for _, a := range allowed {
		if v == a {
			return true
		}
	}
	return false
}

// Validate checks a defaulted spec and returns every problem, each naming
// its attribute: the core's, each feature's, then the contracts with
// Mastodon that span several attributes. Values that are not known yet
// (empty) are skipped. What one attribute's value is alone is not checked
// here but by its Check function (checks.go), which the provider's schema
// runs.
func (s *Spec) Validate() []FieldError {
	var e fieldErrors
	s.validateVersion(&e)
	s.validateSidekiq(&e)
	s.validateDatabase(&e)
	s.validateStorage(&e)
	s.validateSettings(&e)
	s.validatePods(&e)
	for _, f := range features {
		f.validate(s, &e)
	}
	s.refuseOwnedExtra(&e)
	s.validateContracts(&e)
	return e
}

// Warnings are what the spec allows but will likely not work as meant,
// each naming its attribute: the core's, then each feature's.
func (s *Spec) Warnings() []FieldError {
	out := s.contractWarnings()
	for _, f := range features {
		out = append(out, f.warnings(s)...)
	}
	return append(out, s.extraFamilyWarnings()...)
}

// validateVersion checks the version against the repository: the
// official images of versions before 4.3 have no streaming image of their
// own. Its form is checked alone (CheckVersion).
func (s *Spec) validateVersion(e *fieldErrors) {
	v, ok := Parse(s.Version)
	if !ok || !strings.HasPrefix(s.Version, "v") || s.Repository != DefaultRepository {
		return
	}
	if v.Major < 4 || (v.Major == 4 && v.Minor < 3) {
		e.add("version", "%s is older than v4.3.0, the oldest version this provider deploys (streaming runs from its own image since 4.3)", s.Version)
		e.related("image.repository")
	}
}

// validateSidekiq checks the processes and their queues: the scheduler
// queue runs in exactly one Pod.
func (s *Spec) validateSidekiq(e *fieldErrors) {
	scheduler, schedulerPath := "", ""
	names := map[string]string{} // name -> the path of the first process of that name
	for i, p := range s.Sidekiq {
		path := fmt.Sprintf("sidekiq[%d]", i)
		// A name of the wrong form is reported alone (CheckProcessName).
		if first, ok := names[p.Name]; ok && processRe.MatchString(p.Name) {
			e.add(path+".name", "%q is used by two processes", p.Name)
			e.related(first + ".name")
		} else if !ok {
			names[p.Name] = path
		}
		// The list's own problems are reported alone (CheckQueues).
		for _, q := range p.Queues {
			if q.Name != "scheduler" {
				continue
			}
			if scheduler != "" {
				e.add(path+".queues", "the scheduler queue is already served by process %q: exactly one process may serve it", scheduler)
				e.related(schedulerPath+".queues", schedulerPath+".name")
			}
			scheduler, schedulerPath = p.Name, path
			// Each rule below reads the queues and names the process; the
			// number of Pods comes from replicas, autoscaling and
			// external_scaling.
			if p.Autoscaling != nil {
				e.add(path+".autoscaling", "process %q serves the scheduler queue, which exactly one Pod may serve: it cannot autoscale (serve the scheduler queue from a process of its own)", p.Name)
				e.related(path+".queues", path+".name")
			} else if p.Replicas == ScaledElsewhere {
				e.add(path+".external_scaling", "process %q serves the scheduler queue, which exactly one Pod may serve: it cannot be scaled by another controller", p.Name)
				e.related(path+".queues", path+".name", path+".autoscaling")
			}
			if p.Replicas > 1 {
				e.add(path+".replicas", "process %q serves the scheduler queue, so it must have at most 1 replica (got %d)", p.Name, p.Replicas)
				e.related(path+".queues", path+".name", path+".autoscaling", path+".external_scaling")
			}
		}
	}
}

// validateDatabase checks the external database.
func (s *Spec) validateDatabase(e *fieldErrors) {
	d := s.Database
	if d == nil {
		return
	}
	if d.Host == "" && d.CloudSQL == nil {
		e.add("database.host", "must be set (or database.cloud_sql)")
		e.related("database.cloud_sql")
	}
	if d.CACertificatePEM != "" && d.CloudSQL == nil && !x509.NewCertPool().AppendCertsFromPEM([]byte(d.CACertificatePEM)) {
		e.add("database.ca_certificate_pem", "holds no PEM certificate")
		e.related("database.cloud_sql")
	}
}

// validateStorage checks the external Redis and the media claim.
func (s *Spec) validateStorage(e *fieldErrors) {
	if r := s.Redis; r != nil && r.Host == "" && r.Sentinel == nil {
		e.add("redis.host", "must be set (or redis.sentinel)")
		e.related("redis.sentinel")
	}
	if s.Media.ExistingClaim == "" {
		return
	}
	if s.MediaBucket != nil {
		e.add("media.existing_claim", "media_bucket is set: media is in the bucket, no claim is mounted")
		e.related("media_bucket")
	}
	for attr, v := range map[string]string{"media.storage_size": s.Media.StorageSize, "media.storage_class": s.Media.StorageClass} {
		if v != "" {
			e.add(attr, "media.existing_claim is set: the claim's size and class are its owner's, not the instance's")
			e.related("media.existing_claim")
		}
	}
}

// validateSettings checks that the free-form environment names a variable
// once. The names' form is checked alone (CheckEnvName); a write-only name
// of the wrong form is reported for that only.
func (s *Spec) validateSettings(e *fieldErrors) {
	st := s.Settings
	if st.TimeZone != "" {
		s.refuseExtra("settings.time_zone", func(k string) bool { return k == "TZ" }, e)
	}
	for k := range st.ExtraEnv {
		if _, ok := st.ExtraSecretEnv[k]; ok {
			e.add("settings.extra_env", "%q is also in settings.extra_secret_env", k)
			e.related("settings.extra_secret_env")
		}
	}
	for k := range st.ExtraSecretEnvWriteOnly {
		_, inPlain := st.ExtraEnv[k]
		_, inSecret := st.ExtraSecretEnv[k]
		if envNameRe.MatchString(k) && (inPlain || inSecret) {
			e.add("settings.extra_secret_env_wo", "%q is also in settings.extra_env or settings.extra_secret_env", k)
			e.related("settings.extra_env", "settings.extra_secret_env")
		}
	}
}

// OldestNewVersion is the oldest version a new instance may start on: 4.3
// cannot boot without an OTP_SECRET, which new instances do not get, and
// reached its end of life in May 2026 (MASTODON.md).
const OldestNewVersion = "v4.4.0"

// CheckNewInstanceVersion refuses a version too old for a new instance;
// existing instances keep their OTP secret and may stay on or upgrade from
// older versions.
func CheckNewInstanceVersion(tag string) error {
	v, ok := Parse(tag)
	oldest, _ := Parse(OldestNewVersion)
	if !ok || v.Compare(oldest) >= 0 {
		return nil
	}
	return fmt.Errorf("%s is older than %s, the oldest version a new instance can start on: 4.3 needs an OTP_SECRET and is end-of-life; use %s", tag, OldestNewVersion, DefaultVersion)
}
