package mastodon

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"math"
	"net/mail"
	"net/url"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
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
}

// Database is an external PostgreSQL.
type Database struct {
	Host     string
	Port     int32
	Name     string
	User     string
	Password string
	SSLMode  string
	Pool     int32
	// MaxConnections is the server's max_connections, for the connection
	// budget (0: PostgreSQL's default, 100).
	MaxConnections int32
	// CACertificatePEM is the CA that signed the database's certificate,
	// for databases with a private CA ("" for none).
	CACertificatePEM string
	// CloudSQL, when set, reaches the database through the Cloud SQL Auth
	// Proxy on 127.0.0.1 (Host is then not used).
	CloudSQL *CloudSQL
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
}

// Redis is an external Redis.
type Redis struct {
	Host     string
	Port     int32
	User     string
	Password string
}

// SMTP is the outgoing mail server.
type SMTP struct {
	Server            string
	Port              int32
	Login             string
	Password          string
	FromAddress       string
	Domain            string
	AuthMethod        string
	EnableStartTLS    string
	OpenSSLVerifyMode string
	TLS               bool
	SSL               bool
	DeliveryMethod    string
}

// Media is the volume holding uploads when no bucket is used.
type Media struct {
	StorageSize  string
	StorageClass string
	AccessMode   string
}

// MediaBucket is the S3-compatible bucket that holds uploads instead of the
// media volume.
type MediaBucket struct {
	Bucket          string
	Endpoint        string // scheme://host[:port]
	Region          string
	AliasHost       string // the public host that serves the bucket's objects
	Permission      string // the canned ACL of new objects; "" when the bucket is made public otherwise
	PathStyle       bool
	AccessKeyID     string
	SecretAccessKey string
}

// S3Permission is the S3_PERMISSION that goes with a way of making objects
// public: Mastodon writes each object with this canned ACL, which stores
// without ACLs refuse, so it is empty unless objects are made public by ACL.
func S3Permission(publicByACL bool) string {
	if publicByACL {
		return "public-read"
	}
	return ""
}

// Ingress routes the instance's domain to web and streaming.
type Ingress struct {
	ClassName      string
	Annotations    map[string]string
	CertificatePEM string
	PrivateKeyPEM  string
	TLSSecretName  string
	// GKEStreamingTimeout, when set, is the backend timeout (seconds) of
	// GKE's load balancer for streaming: a BackendConfig attached to the
	// streaming Service. GKE's default, 30 s, cuts every websocket.
	GKEStreamingTimeout int32
}

// Settings are Mastodon's common options and free-form environment.
type Settings struct {
	SingleUserMode        bool
	AuthorizedFetch       bool
	LimitedFederationMode bool
	DefaultLocale         string
	TrustedProxyIP        string
	ExtraEnv              map[string]string
	ExtraSecretEnv        map[string]string
	// ExtraSecretEnvWriteOnly are secret variables given write-only: their
	// names are recorded on the Secret (AnnotationWriteOnlyKeys), so a
	// refresh, which does not have their values, reads them back from it.
	ExtraSecretEnvWriteOnly map[string]string
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
}

// Defaults fills what the user left empty.
func (s *Spec) Defaults() {
	def := func(v *string, d string) {
		if *v == "" {
			*v = d
		}
	}
	def(&s.Version, DefaultVersion)
	def(&s.Repository, DefaultRepository)
	def(&s.StreamingRepo, DefaultStreamingRepository)
	def(&s.PullPolicy, "IfNotPresent")
	def(&s.Media.StorageSize, DefaultMediaSize)
	def(&s.Media.AccessMode, "ReadWriteOnce")
	def(&s.Embedded.StorageSize, DefaultDatabaseSize)
	def(&s.EmbeddedRedis.StorageSize, DefaultRedisSize)
	if s.WebConcurrency == 0 {
		s.WebConcurrency = 2
	}
	if s.MaxThreads == 0 {
		s.MaxThreads = 5
	}
	s.Maintenance.defaults()
	if s.Backup != nil {
		s.Backup.defaults()
	}
	if len(s.Sidekiq) == 0 {
		s.Sidekiq = []SidekiqProcess{DefaultSidekiq()}
	}
	for i := range s.Sidekiq {
		if s.Sidekiq[i].Concurrency == 0 {
			s.Sidekiq[i].Concurrency = 5
		}
	}
	s.autoscaled()
	if s.Database != nil {
		if s.Database.Port == 0 {
			s.Database.Port = 5432
		}
		def(&s.Database.Name, "mastodon_production")
		def(&s.Database.SSLMode, "prefer")
		if c := s.Database.CloudSQL; c != nil {
			def(&c.ProxyImage, DefaultCloudSQLProxyImage)
			// The proxy encrypts the connection itself.
			s.Database.SSLMode = "disable"
			s.Database.Host = "127.0.0.1"
			s.Database.Port = cloudSQLPort
		}
	}
	if s.Redis != nil && s.Redis.Port == 0 {
		s.Redis.Port = 6379
	}
	if s.SMTP != nil {
		if s.SMTP.Port == 0 {
			// Implicit TLS (SMTP_TLS, SMTP_SSL) is spoken on port 465
			// (submissions, RFC 8314); 587 expects STARTTLS.
			s.SMTP.Port = 587
			if s.SMTP.TLS || s.SMTP.SSL {
				s.SMTP.Port = 465
			}
		}
		def(&s.SMTP.AuthMethod, "plain")
		if s.SMTP.TLS || s.SMTP.SSL {
			// Implicit TLS: STARTTLS must be off, else the mail gem
			// refuses every delivery (config/environments/production.rb).
			def(&s.SMTP.EnableStartTLS, "never")
		}
		def(&s.SMTP.EnableStartTLS, "auto")
		if s.LocalDomain != "" {
			// Mastodon's own default is notifications@localhost, which
			// relays refuse.
			def(&s.SMTP.FromAddress, "notifications@"+s.LocalDomain)
		}
		def(&s.SMTP.OpenSSLVerifyMode, "peer")
		def(&s.SMTP.DeliveryMethod, "smtp")
	}
	s.searchDefaults()
	s.translationDefaults()
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
	// Related are other attributes the error depends on: while one of
	// them is not known yet, the error may not hold.
	Related []string `json:",omitempty"`
}

func (e FieldError) Error() string { return e.Path + ": " + e.Message }

var (
	versionRe  = regexp.MustCompile(`^v?(\d+)\.(\d+)\.(\d+)(-[0-9A-Za-z.-]+)?$`)
	processRe  = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,18}[a-z0-9])?$`)
	envNameRe  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	localeRe   = regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$`)
	sslModes   = []string{"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}
	authMeths  = []string{"plain", "login", "cram_md5", "none"}
	starttls   = []string{"auto", "always", "never"}
	verifyMode = []string{"none", "peer", "client_once", "fail_if_no_peer_cert"}
	delivery   = []string{"smtp", "sendmail", "file", "letter_opener"}
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
// its attribute. Values that are not known yet (empty) are skipped.
func (s *Spec) Validate() []FieldError {
	var errs []FieldError
	add := func(path, format string, args ...any) {
		errs = append(errs, FieldError{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	if s.Name != "" {
		if msgs := validation.IsDNS1035Label(s.Name); len(msgs) > 0 || len(s.Name) > 40 {
			add("name", "%q must be a lowercase DNS label of at most 40 characters (letters, digits, '-', starting with a letter): the instance's objects are named after it", s.Name)
		}
	}
	if s.Namespace != "" {
		if msgs := validation.IsDNS1123Label(s.Namespace); len(msgs) > 0 {
			add("namespace", "%q is not a valid namespace name: %s", s.Namespace, strings.Join(msgs, "; "))
		}
	}
	checkDomain := func(path, d string) {
		if d == "" {
			return
		}
		if msgs := validation.IsDNS1123Subdomain(d); len(msgs) > 0 || !strings.Contains(d, ".") {
			add(path, "%q is not a domain name (lowercase, with at least one dot, no scheme or path)", d)
		}
	}
	checkDomain("local_domain", s.LocalDomain)
	checkDomain("web_domain", s.WebDomain)
	if v, ok := Parse(s.Version); s.Version != "" && !ok {
		add("version", "%q is not a Mastodon version such as %s", s.Version, DefaultVersion)
	} else if ok && !strings.HasPrefix(s.Version, "v") {
		add("version", "%q is not an image tag: Mastodon's tags start with v, write %q", s.Version, "v"+s.Version)
	} else if ok && s.Repository == DefaultRepository {
		if v.Major < 4 || (v.Major == 4 && v.Minor < 3) {
			add("version", "%s is older than v4.3.0, the oldest version this provider deploys (streaming runs from its own image since 4.3)", s.Version)
		}
	}
	if s.PullPolicy != "" && !oneOf(s.PullPolicy, pullPols) {
		add("image.pull_policy", "must be one of %s, not %q", strings.Join(pullPols, ", "), s.PullPolicy)
	}
	checkReplicas := func(path string, n int32) {
		if n < 0 && n != ScaledElsewhere {
			add(path, "must not be negative (got %d)", n)
		}
	}
	checkPositive := func(path string, n int32) {
		if n < 1 {
			add(path, "must be at least 1 (got %d)", n)
		}
	}
	checkReplicas("web.replicas", s.WebReplicas)
	checkPositive("web.concurrency", s.WebConcurrency)
	checkPositive("web.max_threads", s.MaxThreads)
	checkReplicas("streaming.replicas", s.StreamReplicas)
	checkResources := func(path string, r Resources) {
		for name, q := range map[string]string{"cpu_request": r.CPURequest, "memory_request": r.MemoryRequest, "cpu_limit": r.CPULimit, "memory_limit": r.MemoryLimit} {
			if q == "" {
				continue
			}
			if _, err := resource.ParseQuantity(q); err != nil {
				add(path+"."+name, "%q is not a Kubernetes quantity (such as 500m or 1Gi)", q)
			}
		}
	}
	checkResources("web.resources", s.WebResources)
	checkResources("streaming.resources", s.StreamResources)
	checkResources("embedded_database.resources", s.Embedded.Resources)
	s.WebAutoscaling.validate("web", s.WebResources, add)
	s.StreamAutoscaling.validate("streaming", s.StreamResources, add)
	s.Metrics.validate(add)

	scheduler := ""
	names := map[string]bool{}
	for i, p := range s.Sidekiq {
		path := fmt.Sprintf("sidekiq[%d]", i)
		if !processRe.MatchString(p.Name) {
			add(path+".name", "%q must be a lowercase DNS label of at most 20 characters", p.Name)
		} else if names[p.Name] {
			add(path+".name", "%q is used by two processes", p.Name)
		}
		names[p.Name] = true
		checkReplicas(path+".replicas", p.Replicas)
		checkPositive(path+".concurrency", p.Concurrency)
		checkResources(path+".resources", p.Resources)
		p.Autoscaling.validate(path, p.Resources, add)
		if len(p.Queues) == 0 {
			add(path+".queues", "must name at least one queue")
		}
		seen := map[string]bool{}
		for _, q := range p.Queues {
			if !oneOf(q.Name, Queues) {
				add(path+".queues", "unknown queue %q: Mastodon's queues are %s", q.Name, strings.Join(Queues, ", "))
				continue
			}
			if seen[q.Name] {
				add(path+".queues", "queue %q is listed twice", q.Name)
			}
			seen[q.Name] = true
			if q.Weight < 0 {
				add(path+".queues", "queue %q has a negative weight", q.Name)
			}
			if q.Name == "scheduler" {
				if scheduler != "" {
					add(path+".queues", "the scheduler queue is already served by process %q: exactly one process may serve it", scheduler)
				}
				scheduler = p.Name
				if p.Autoscaling != nil {
					add(path+".autoscaling", "process %q serves the scheduler queue, which exactly one Pod may serve: it cannot autoscale (serve the scheduler queue from a process of its own)", p.Name)
				} else if p.Replicas == ScaledElsewhere {
					add(path+".external_scaling", "process %q serves the scheduler queue, which exactly one Pod may serve: it cannot be scaled by another controller", p.Name)
				}
				if p.Replicas > 1 {
					add(path+".replicas", "process %q serves the scheduler queue, so it must have at most 1 replica (got %d)", p.Name, p.Replicas)
				}
			}
		}
	}
	if d := s.Database; d != nil {
		if d.Host == "" && d.CloudSQL == nil {
			add("database.host", "must be set (or database.cloud_sql)")
		}
		if d.CloudSQL != nil {
			d.CloudSQL.validate(add)
		}
		if d.Port < 1 || d.Port > 65535 {
			add("database.port", "must be a TCP port (got %d)", d.Port)
		}
		if d.SSLMode != "" && !oneOf(d.SSLMode, sslModes) {
			add("database.sslmode", "must be one of %s, not %q", strings.Join(sslModes, ", "), d.SSLMode)
		}
		if d.Pool < 0 {
			add("database.pool", "must not be negative")
		}
		if d.CACertificatePEM != "" {
			if d.CloudSQL != nil {
				add("database.ca_certificate_pem", "conflicts with database.cloud_sql: the proxy encrypts the connection itself")
			} else if !x509.NewCertPool().AppendCertsFromPEM([]byte(d.CACertificatePEM)) {
				add("database.ca_certificate_pem", "holds no PEM certificate")
			}
		}
	}
	if s.Embedded.StorageSize != "" {
		if _, err := resource.ParseQuantity(s.Embedded.StorageSize); err != nil {
			add("embedded_database.storage_size", "%q is not a Kubernetes quantity (such as 10Gi)", s.Embedded.StorageSize)
		}
	}
	if s.EmbeddedRedis.StorageSize != "" {
		if _, err := resource.ParseQuantity(s.EmbeddedRedis.StorageSize); err != nil {
			add("embedded_redis.storage_size", "%q is not a Kubernetes quantity (such as 1Gi)", s.EmbeddedRedis.StorageSize)
		}
	}
	if r := s.Redis; r != nil {
		if r.Host == "" {
			add("redis.host", "must be set")
		}
		if r.Port < 1 || r.Port > 65535 {
			add("redis.port", "must be a TCP port (got %d)", r.Port)
		}
	}
	if m := s.SMTP; m != nil {
		if m.Server == "" {
			add("smtp.server", "must be set")
		}
		if m.Port < 1 || m.Port > 65535 {
			add("smtp.port", "must be a TCP port (got %d)", m.Port)
		}
		if m.FromAddress != "" {
			if _, err := mail.ParseAddress(m.FromAddress); err != nil {
				add("smtp.from_address", "%q is not an email address", m.FromAddress)
			}
		}
		for path, c := range map[string]struct {
			v       string
			allowed []string
		}{
			"smtp.auth_method":         {m.AuthMethod, authMeths},
			"smtp.enable_starttls":     {m.EnableStartTLS, starttls},
			"smtp.openssl_verify_mode": {m.OpenSSLVerifyMode, verifyMode},
			"smtp.delivery_method":     {m.DeliveryMethod, delivery},
		} {
			if c.v != "" && !oneOf(c.v, c.allowed) {
				add(path, "must be one of %s, not %q", strings.Join(c.allowed, ", "), c.v)
			}
		}
		if m.TLS && m.SSL {
			add("smtp.tls", "conflicts with smtp.ssl: both mean implicit TLS, set one")
		}
		if (m.TLS || m.SSL) && m.EnableStartTLS != "" && m.EnableStartTLS != "never" {
			add("smtp.enable_starttls", "must be never (or unset) with implicit TLS (smtp.tls or smtp.ssl): the mail gem refuses every delivery that asks for both, not %q", m.EnableStartTLS)
		}
		if m.DeliveryMethod == "letter_opener" {
			add("smtp.delivery_method", "letter_opener is Mastodon's development-only delivery method (it writes mails to files nobody reads): use smtp, sendmail or file")
		}
	}
	if b := s.MediaBucket; b != nil {
		if b.Bucket == "" {
			add("media_bucket.bucket", "must be set")
		}
		if u, err := url.Parse(b.Endpoint); err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
			add("media_bucket.endpoint", "%q must be a URL such as https://storage.googleapis.com", b.Endpoint)
		}
		if b.AccessKeyID == "" {
			add("media_bucket.access_key_id", "must be set")
		}
		if b.SecretAccessKey == "" {
			add("media_bucket.secret_access_key", "must be set (it reaches Pods through the instance's Secret)")
		}
	}
	if s.Media.StorageSize != "" {
		if _, err := resource.ParseQuantity(s.Media.StorageSize); err != nil {
			add("media.storage_size", "%q is not a Kubernetes quantity (such as 10Gi)", s.Media.StorageSize)
		}
	}
	if s.Media.AccessMode == string(corev1.ReadWriteOncePod) {
		add("media.access_mode", "ReadWriteOncePod lets one Pod mount the volume, but web, Sidekiq and every Job mount it: use ReadWriteOnce (one node) or ReadWriteMany")
	} else if s.Media.AccessMode != "" && !oneOf(s.Media.AccessMode, accessMode) {
		add("media.access_mode", "must be one of %s, not %q", strings.Join(accessMode, ", "), s.Media.AccessMode)
	}
	if in := s.Ingress; in != nil {
		switch {
		case in.TLSSecretName != "" && (in.CertificatePEM != "" || in.PrivateKeyPEM != ""):
			add("ingress.tls_secret_name", "conflicts with ingress.certificate_pem and ingress.private_key_pem: give an existing Secret or a certificate, not both")
		case (in.CertificatePEM == "") != (in.PrivateKeyPEM == ""):
			add("ingress.certificate_pem", "and ingress.private_key_pem must be given together")
		case in.CertificatePEM != "":
			if _, err := tls.X509KeyPair([]byte(in.CertificatePEM), []byte(in.PrivateKeyPEM)); err != nil {
				add("ingress.certificate_pem", "and ingress.private_key_pem do not parse as a matching PEM certificate and key: %v", err)
			}
		}
		if in.GKEStreamingTimeout < 0 {
			add("ingress.gke_streaming_timeout_seconds", "must not be negative")
		}
		if in.TLSSecretName != "" {
			if msgs := validation.IsDNS1123Subdomain(in.TLSSecretName); len(msgs) > 0 {
				add("ingress.tls_secret_name", "%q is not a valid Secret name", in.TLSSecretName)
			}
		}
	}
	s.Maintenance.validate(add)
	s.validateBackup(add)
	if l := s.Settings.DefaultLocale; l != "" && !localeRe.MatchString(l) {
		add("settings.default_locale", "%q is not a locale such as en or pt-BR", l)
	}
	for k := range s.Settings.ExtraEnv {
		if !envNameRe.MatchString(k) {
			add("settings.extra_env", "%q is not an environment variable name", k)
		}
		if _, ok := s.Settings.ExtraSecretEnv[k]; ok {
			add("settings.extra_env", "%q is also in settings.extra_secret_env", k)
		}
	}
	for k := range s.Settings.ExtraSecretEnv {
		if !envNameRe.MatchString(k) {
			add("settings.extra_secret_env", "%q is not an environment variable name", k)
		}
	}
	for k := range s.Settings.ExtraSecretEnvWriteOnly {
		_, inPlain := s.Settings.ExtraEnv[k]
		_, inSecret := s.Settings.ExtraSecretEnv[k]
		switch {
		case !envNameRe.MatchString(k):
			add("settings.extra_secret_env_wo", "%q is not an environment variable name", k)
		case inPlain || inSecret:
			add("settings.extra_secret_env_wo", "%q is also in settings.extra_env or settings.extra_secret_env", k)
		}
	}
	s.validateSearch(add)
	s.validateTranslation(add)
	s.validateContracts(add, func(paths ...string) {
		errs[len(errs)-1].Related = append(errs[len(errs)-1].Related, paths...)
	})
	return errs
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
