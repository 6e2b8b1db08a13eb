package mastodon

import (
	"fmt"
	"net/mail"
	"regexp"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// DefaultCloudSQLProxyImage is the Cloud SQL Auth Proxy v2 the sidecar runs
// unless told otherwise.
const DefaultCloudSQLProxyImage = "gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.23.0"

// CloudSQL reaches a Cloud SQL for PostgreSQL instance through the Cloud SQL
// Auth Proxy, run as a native sidecar in every Pod that talks to the
// database; the application connects to it on 127.0.0.1.
type CloudSQL struct {
	InstanceConnectionName string
	PrivateIP              bool
	AutoIAMAuthn           bool
	ProxyImage             string
	ProxyResources         Resources
	// One of the two: a service-account key, or the Google service account
	// that Workload Identity maps the instance's Kubernetes ServiceAccount to.
	CredentialsJSON                string
	WorkloadIdentityServiceAccount string
	// CredentialsRef, when set, gives the key instead: its Secret is
	// mounted (see SecretRef).
	CredentialsRef *SecretRef `json:",omitempty"`
}

// keyFile says whether the proxy reads a key file (given, or by reference).
func (c *CloudSQL) keyFile() bool { return c.CredentialsJSON != "" || c.CredentialsRef != nil }

// AnnotationWorkloadIdentity maps a Kubernetes ServiceAccount to a Google one.
const AnnotationWorkloadIdentity = "iam.gke.io/gcp-service-account"

const (
	cloudSQLPort      = 5432
	cloudSQLHTTPPort  = 9801
	cloudSQLKeyDir    = "/secrets/cloudsql"
	CloudSQLKeyFile   = "key.json"
	ComponentCloudSQL = "cloudsql"
)

// project:region:instance; a legacy domain-scoped project has a
// "domain.com:" prefix.
var connectionNameRe = regexp.MustCompile(`^([a-z][a-z0-9.-]*[a-z0-9]:)?[a-z][a-z0-9-]{4,28}[a-z0-9]:[a-z]+-[a-z]+[0-9]+:[a-z][a-z0-9-]{0,96}$`)

// CloudSQLSecretName is the Secret holding the service-account key.
func (s *Spec) CloudSQLSecretName() string { return s.Name + "-cloudsql" }

// cloudSQLFeature reaches the database through the Cloud SQL Auth Proxy
// (Database.CloudSQL).
type cloudSQLFeature struct{ noFeature }

// cloudSQL is the spec's Cloud SQL settings, or nil.
func (s *Spec) cloudSQL() *CloudSQL {
	if s.Database == nil {
		return nil
	}
	return s.Database.CloudSQL
}

func (cloudSQLFeature) defaults(s *Spec) {
	c := s.cloudSQL()
	if c == nil {
		return
	}
	setDefault(&c.ProxyImage, DefaultCloudSQLProxyImage)
	c.ProxyResources.withDefault(DefaultProxyResources)
	// The proxy encrypts the connection itself.
	s.Database.SSLMode = "disable"
	s.Database.Host = "127.0.0.1"
	s.Database.Port = cloudSQLPort
}

func (cloudSQLFeature) validate(s *Spec, e *fieldErrors) {
	c := s.cloudSQL()
	if c == nil {
		return
	}
	c.validate(e, s.ServiceAccount != nil && s.ServiceAccount.Name != "")
	if s.Database.CACertificatePEM != "" {
		e.add("database.ca_certificate_pem", "conflicts with database.cloud_sql: the proxy encrypts the connection itself")
		e.related("database.cloud_sql")
	}
}

// objects are the Secret of the service-account key, before any Pod names
// it (the ServiceAccount that Workload Identity maps is
// serviceAccountFeature's).
func (cloudSQLFeature) objects(s *Spec, at stage) []Object {
	c := s.cloudSQL()
	if c == nil || at != beforeConfig {
		return nil
	}
	var out []Object
	if c.CredentialsJSON != "" {
		out = append(out, NewObject(&corev1.Secret{
			TypeMeta:   typeMeta("v1", "Secret"),
			ObjectMeta: s.meta(s.CloudSQLSecretName(), ComponentCloudSQL),
			Type:       corev1.SecretTypeOpaque,
			Data:       map[string][]byte{CloudSQLKeyFile: []byte(c.CredentialsJSON)},
		}))
	}
	return out
}

func (cloudSQLFeature) inputs(s *Spec) []any {
	if c := s.cloudSQL(); c != nil {
		return []any{c}
	}
	return nil
}

// The key is given clear, write-only or by reference: a rule that reads it
// reads all three.
func (c *CloudSQL) validate(e *fieldErrors, existingAccount bool) {
	const key, keyWO, keyRef, gsa = "database.cloud_sql.credentials_json", "database.cloud_sql.credentials_json_wo",
		"database.cloud_sql.credentials_json_secret_ref", "database.cloud_sql.workload_identity_service_account"
	switch {
	case c.keyFile() && c.WorkloadIdentityServiceAccount != "":
		e.add(key, "conflicts with database.cloud_sql.workload_identity_service_account: authenticate one way")
		e.related(keyWO, keyRef, gsa)
	case !c.keyFile() && c.WorkloadIdentityServiceAccount == "" && !existingAccount:
		e.add(gsa, "or database.cloud_sql.credentials_json must be set (or service_account.name, a ServiceAccount that Workload Identity maps already): the proxy needs a way to authenticate")
		e.related(key, keyWO, keyRef, "service_account")
	case c.WorkloadIdentityServiceAccount != "" && existingAccount:
		e.add(gsa, "needs the instance's own ServiceAccount, to annotate it, and service_account.name names an existing one: annotate that one with %s yourself and remove this attribute", AnnotationWorkloadIdentity)
		e.related("service_account")
	}
	if j := strings.TrimSpace(c.CredentialsJSON); j != "" && !strings.HasPrefix(j, "{") {
		e.add(key, "is not a service-account key in JSON (google_service_account_key.private_key is base64: use base64decode())")
		e.related(keyWO)
	}
}

// cloudSQLSidecar is the proxy as a native sidecar: an init container that
// keeps running, so Jobs still complete when their main container ends.
func (s *Spec) cloudSQLSidecar() corev1.Container {
	c := s.Database.CloudSQL
	// --health-check serves /startup and /liveness on the HTTP port; the
	// kubelet probes them at the Pod's IP, so it listens on every address
	// of the Pod (the database port stays on 127.0.0.1).
	args := []string{"--port=5432", "--address=127.0.0.1", "--structured-logs", "--exit-zero-on-sigterm",
		"--health-check", "--http-address=0.0.0.0", "--http-port=" + strconv.Itoa(cloudSQLHTTPPort)}
	if c.PrivateIP {
		args = append(args, "--private-ip")
	}
	if c.AutoIAMAuthn {
		args = append(args, "--auto-iam-authn")
	}
	container := corev1.Container{
		Name:            "cloud-sql-proxy",
		Image:           c.ProxyImage,
		RestartPolicy:   ptr.To(corev1.ContainerRestartPolicyAlways),
		Resources:       c.ProxyResources.requirements(),
		SecurityContext: containerSecurity(),
		// A native sidecar's startup probe holds the Pod's other containers
		// until the proxy is up.
		StartupProbe: &corev1.Probe{
			ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/startup", Port: intstr.FromInt32(cloudSQLHTTPPort)}},
			PeriodSeconds: 1, TimeoutSeconds: 5, FailureThreshold: 20,
		},
		LivenessProbe: &corev1.Probe{
			ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/liveness", Port: intstr.FromInt32(cloudSQLHTTPPort)}},
			PeriodSeconds: 60, TimeoutSeconds: 30, FailureThreshold: 5,
		},
	}
	container.SecurityContext.ReadOnlyRootFilesystem = ptr.To(true)
	if c.keyFile() {
		args = append(args, "--credentials-file="+cloudSQLKeyDir+"/"+CloudSQLKeyFile)
		container.VolumeMounts = []corev1.VolumeMount{{Name: "cloudsql-key", MountPath: cloudSQLKeyDir, ReadOnly: true}}
	}
	args = append(args, c.InstanceConnectionName)
	if r := s.Database.Replica; r != nil && r.CloudSQLInstance != "" {
		// The proxy's per-instance option: the replica on its own port.
		args = append(args, r.CloudSQLInstance+"?port="+strconv.Itoa(cloudSQLReplicaPort))
	}
	container.Args = args
	return container
}

// pod adds the proxy sidecar (and its key volume) to a Pod that talks to
// the database.
func (cloudSQLFeature) pod(s *Spec, pod *corev1.PodSpec) {
	if s.cloudSQL() == nil {
		return
	}
	pod.InitContainers = append(pod.InitContainers, s.cloudSQLSidecar())
	key := &corev1.SecretVolumeSource{SecretName: s.CloudSQLSecretName(), DefaultMode: ptr.To[int32](0o400)}
	if r := s.Database.CloudSQL.CredentialsRef; r != nil {
		// Someone else's Secret: its key, as the file the proxy reads.
		key.SecretName, key.Items = r.Name, []corev1.KeyToPath{{Key: r.Key, Path: CloudSQLKeyFile}}
	}
	if s.Database.CloudSQL.keyFile() {
		pod.Volumes = append(pod.Volumes, corev1.Volume{Name: "cloudsql-key", VolumeSource: corev1.VolumeSource{Secret: key}})
	}
}

// CheckConnectionName checks a Cloud SQL instance connection name.
func CheckConnectionName(v string) error {
	if v != "" && !connectionNameRe.MatchString(v) {
		return fmt.Errorf("%q is not an instance connection name project:region:instance (such as my-project:europe-west1:mastodon)", v)
	}
	return nil
}

// CheckServiceAccount checks a Google service account's email.
func CheckServiceAccount(v string) error {
	if v == "" {
		return nil
	}
	if _, err := mail.ParseAddress(v); err != nil || !strings.HasSuffix(v, ".gserviceaccount.com") {
		return fmt.Errorf("%q is not a Google service account email (name@project.iam.gserviceaccount.com)", v)
	}
	return nil
}
