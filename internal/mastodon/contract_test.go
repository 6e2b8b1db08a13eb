package mastodon

// Contract tests: each pins a setting we render because Mastodon or an
// image needs it, states what it means there and names the source.

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/tootform/terraform-provider-mastodon/internal/testcert"
)

// find returns the rendered object of that kind and name, converted to T.
func find[T any](t *testing.T, objs []Object, kind, name string) *T {
	t.Helper()
	for _, o := range objs {
		if o.Kind == kind && o.Name == name {
			out := new(T)
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Unstructured().Object, out); err != nil {
				t.Fatal(err)
			}
			return out
		}
	}
	t.Fatalf("no %s %s rendered", kind, name)
	return nil
}

func envOf(c corev1.Container) map[string]string {
	out := map[string]string{}
	for _, e := range c.Env {
		out[e.Name] = e.Value
	}
	return out
}

func errorPaths(errs []FieldError) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Path)
	}
	return out
}

// config/initializers/paperclip.rb: with S3_ENDPOINT set, Mastodon passes
// force_path_style: ENV['S3_OVERRIDE_PATH_STYLE'] != 'true' to the S3
// client, so the variable set to true means virtual-host addressing
// (bucket.endpoint), which MinIO, Ceph and Garage do not serve.
func TestS3PathStyleContract(t *testing.T) {
	for _, tc := range []struct {
		pathStyle bool
		want      string // "" for absent
	}{{true, ""}, {false, "true"}} {
		s := defaultSpec()
		s.MediaBucket = &MediaBucket{Bucket: "media", Endpoint: "http://127.0.0.1:9000", PathStyle: tc.pathStyle, AccessKeyID: "a", SecretAccessKey: "b"}
		plain, _ := s.Environment(fixedSecrets)
		got, set := plain["S3_OVERRIDE_PATH_STYLE"]
		if got != tc.want || set != (tc.want != "") {
			t.Errorf("path_style=%v: S3_OVERRIDE_PATH_STYLE=%q (set %v), want %q", tc.pathStyle, got, set, tc.want)
		}
		if plain["S3_ENDPOINT"] == "" {
			t.Error("S3_ENDPOINT must be set: path style depends on it")
		}
	}
}

// streaming/database.js (v4.6.5, main at 4.7.0-alpha.2): DB_SSLMODE
// disable (or empty) means no TLS (ssl: false), no-verify TLS without
// verification (rejectUnauthorized: false), any other value ssl: {}, TLS
// verified against Node's CAs (NODE_EXTRA_CA_CERTS adds ours), host name
// included. node-postgres never falls back to plain text: with ssl set it
// aborts against a server without TLS, where libpq's allow and prefer
// connect in plain text. So allow and prefer get disable (works against
// both kinds of server), require no-verify, verify-ca no-verify (Node has
// no CA-only check; a host-name check would refuse servers reached by IP
// address that Rails accepts), verify-full full verification. libpq
// (Rails) refuses no-verify and reads its CA from PGSSLROOTCERT when
// config/database.yml names none. MASTODON.md: "DB_SSLMODE means two
// different things".
func TestStreamingDatabaseTLSContract(t *testing.T) {
	for libpq, want := range map[string]string{"disable": "disable", "allow": "disable", "prefer": "disable", "require": "no-verify", "verify-ca": "no-verify", "verify-full": "verify-full"} {
		if got := StreamingSSLMode(libpq); got != want {
			t.Errorf("sslmode %s: streaming DB_SSLMODE %q, want %q", libpq, got, want)
		}
	}
	cert, _ := testcert.SelfSigned(t, "db.internal", 0)
	s := defaultSpec()
	s.Database = &Database{Host: "db.internal", User: "mastodon", Password: "p", SSLMode: "verify-full", CACertificatePEM: cert}
	s.Defaults()
	if errs := s.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	objs := s.Render(fixedSecrets, "")
	plain, _ := s.Environment(fixedSecrets)
	if plain["DB_SSLMODE"] != "verify-full" || plain["PGSSLROOTCERT"] != "/etc/mastodon/database-ca/ca.crt" {
		t.Errorf("Rails (libpq) settings: %v", plain)
	}
	ca := find[corev1.ConfigMap](t, objs, "ConfigMap", s.DatabaseCAName())
	if ca.Data["ca.crt"] != cert {
		t.Error("the CA ConfigMap does not hold the certificate")
	}
	streaming := find[appsv1.Deployment](t, objs, "Deployment", s.StreamingName()).Spec.Template.Spec
	env := envOf(streaming.Containers[0])
	if env["DB_SSLMODE"] != "verify-full" || env["NODE_EXTRA_CA_CERTS"] != "/etc/mastodon/database-ca/ca.crt" {
		t.Errorf("streaming env: %v", env)
	}
	for _, name := range []string{s.StreamingName(), s.WebName(), s.SidekiqName("all")} {
		pod := find[appsv1.Deployment](t, objs, "Deployment", name).Spec.Template.Spec
		if !slices.ContainsFunc(pod.Containers[0].VolumeMounts, func(m corev1.VolumeMount) bool { return m.MountPath == "/etc/mastodon/database-ca" }) {
			t.Errorf("%s does not mount the CA", name)
		}
	}
	// The default sslmode (prefer) must not make streaming demand TLS.
	s.Database.SSLMode, s.Database.CACertificatePEM = "", ""
	s.Defaults()
	streaming = find[appsv1.Deployment](t, s.Render(fixedSecrets, ""), "Deployment", s.StreamingName()).Spec.Template.Spec
	if env := envOf(streaming.Containers[0]); env["DB_SSLMODE"] != "disable" {
		t.Errorf("streaming with sslmode prefer: %v", env)
	}
	s.Database.CACertificatePEM = "not a certificate"
	if p := errorPaths(s.Validate()); !slices.Contains(p, "database.ca_certificate_pem") {
		t.Errorf("a bad CA is accepted: %v", p)
	}
}

// MASTODON.md: tags carry the v (v4.7.3; 4.7.3 does not exist); 4.3 needs
// OTP_SECRET, which 4.4+ do not read for new installs, and is end-of-life.
func TestVersionContract(t *testing.T) {
	// The schema runs CheckVersion at version (internal/provider, TestCoreChecks).
	if err := CheckVersion("4.6.5"); err == nil || !strings.Contains(err.Error(), `"v4.6.5"`) {
		t.Errorf("a tag without v: %v", err)
	}
	for v, ok := range map[string]bool{"v4.3.9": false, "v4.4.0-rc.1": false, "v4.4.0": true, DefaultVersion: true} {
		if err := CheckNewInstanceVersion(v); (err == nil) != ok {
			t.Errorf("new instance on %s: %v", v, err)
		}
	}
	if !strings.HasPrefix(DefaultVersion, "v4.7.") {
		t.Errorf("DefaultVersion %s is not the newest 4.7", DefaultVersion)
	}
}

// The media volume is mounted by web, Sidekiq and every Job at once:
// ReadWriteOncePod admits a single Pod. The schema runs CheckAccessMode at
// media.access_mode (internal/provider, TestCoreChecks).
func TestMediaAccessModeContract(t *testing.T) {
	if err := CheckAccessMode("ReadWriteOncePod"); err == nil {
		t.Error("ReadWriteOncePod is accepted")
	}
}

// config/environments/production.rb: SMTP_ENABLE_STARTTLS auto sets
// enable_starttls_auto, and unset leaves it true; the mail gem refuses
// every delivery that asks for it together with tls/ssl; never sets
// enable_starttls false and nothing else. config/email.yml: without
// SMTP_FROM_ADDRESS the sender is notifications@localhost. letter_opener
// is a development gem (MASTODON.md).
func TestSMTPContract(t *testing.T) {
	s := defaultSpec()
	s.SMTP = &SMTP{Server: "smtp.example.org", Port: 465, TLS: true}
	s.Defaults()
	plain, _ := s.Environment(fixedSecrets)
	if plain["SMTP_ENABLE_STARTTLS"] != "never" || plain["SMTP_TLS"] != "true" {
		t.Errorf("implicit TLS: %v", plain)
	}
	if plain["SMTP_FROM_ADDRESS"] != "notifications@social.example" {
		t.Errorf("SMTP_FROM_ADDRESS = %q", plain["SMTP_FROM_ADDRESS"])
	}
	s.SMTP.EnableStartTLS = "auto"
	if p := errorPaths(s.Validate()); len(p) != 1 || p[0] != "smtp.enable_starttls" {
		t.Errorf("tls with STARTTLS auto: %v", p)
	}
	// The schema runs CheckDeliveryMethod at smtp.delivery_method
	// (internal/provider, TestFeatureChecks).
	if err := CheckDeliveryMethod("letter_opener"); err == nil {
		t.Error("letter_opener is accepted")
	}
	s.SMTP = &SMTP{Server: "smtp.example.org"}
	s.Defaults()
	if plain, _ := s.Environment(fixedSecrets); plain["SMTP_ENABLE_STARTTLS"] != "auto" {
		t.Errorf("STARTTLS on port 587: %v", plain["SMTP_ENABLE_STARTTLS"])
	}
}

// config/sidekiq.yml weights default 8, push 6, ingress 4, mailers 2, the
// rest 1; any -q replaces the file, and queues without weights are served
// in strict order (MASTODON.md).
func TestSidekiqWeightsContract(t *testing.T) {
	s := defaultSpec()
	d := find[appsv1.Deployment](t, s.Render(fixedSecrets, ""), "Deployment", s.SidekiqName("all"))
	got := strings.Join(d.Spec.Template.Spec.Containers[0].Command, " ")
	want := "bundle exec sidekiq -c 5 -q default,8 -q push,6 -q ingress,4 -q mailers,2 -q pull,1 -q scheduler,1 -q fasp,1"
	if got != want {
		t.Errorf("sidekiq command\n got %s\nwant %s", got, want)
	}
}

// MASTODON.md: Redis holds Sidekiq's queues, scheduled jobs and retries;
// an embedded Redis needs a persistent volume and persistence on (AOF or
// RDB). The redis image's working directory, /data, is where it writes.
func TestEmbeddedRedisPersistenceContract(t *testing.T) {
	s := defaultSpec()
	sts := find[appsv1.StatefulSet](t, s.Render(fixedSecrets, ""), "StatefulSet", s.RedisName())
	cmd := strings.Join(sts.Spec.Template.Spec.Containers[0].Command, " ")
	for _, want := range []string{"--appendonly yes", "--save 3600 1 300 100 60 10000", "--dir /data"} {
		if !strings.Contains(cmd, want) {
			t.Errorf("redis command %q lacks %q", cmd, want)
		}
	}
	if len(sts.Spec.VolumeClaimTemplates) != 1 || sts.Spec.VolumeClaimTemplates[0].Name != "data" {
		t.Fatalf("claim templates: %v", sts.Spec.VolumeClaimTemplates)
	}
	if m := sts.Spec.Template.Spec.Containers[0].VolumeMounts; len(m) != 1 || m[0].Name != "data" || m[0].MountPath != "/data" {
		t.Errorf("mounts: %v", m)
	}
	if q := sts.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests[corev1.ResourceStorage]; q.String() != "1Gi" {
		t.Errorf("default size %s", q.String())
	}
	if sts.Spec.PersistentVolumeClaimRetentionPolicy.WhenDeleted != appsv1.RetainPersistentVolumeClaimRetentionPolicyType {
		t.Error("the Redis volume is not retained when its StatefulSet goes")
	}
}

// MASTODON.md: the postgres image runs a temporary server on the Unix
// socket only while it initialises; pg_isready without -h 127.0.0.1
// reports ready before the real server listens on TCP.
func TestEmbeddedPostgresReadinessContract(t *testing.T) {
	s := defaultSpec()
	sts := find[appsv1.StatefulSet](t, s.Render(fixedSecrets, ""), "StatefulSet", s.DatabaseName())
	cmd := strings.Join(sts.Spec.Template.Spec.Containers[0].ReadinessProbe.Exec.Command, " ")
	if !strings.HasPrefix(cmd, "pg_isready -h 127.0.0.1 ") {
		t.Errorf("readiness probe %q does not check TCP", cmd)
	}
}

// The image precompiles bootsnap's cache into /opt/mastodon/tmp and gives
// the directory to the mastodon user (Mastodon's Dockerfile): a volume
// there hides the cache. The Sidekiq readiness file lives there too
// (MASTODON.md). fsGroupChangePolicy OnRootMismatch spares a large media
// volume a recursive chown at every start.
func TestPodFilesystemContract(t *testing.T) {
	s := defaultSpec()
	for _, o := range s.Render(fixedSecrets, "") {
		if o.Kind != "Deployment" && o.Kind != "StatefulSet" {
			continue
		}
		y := renderYAML(t, []Object{o})
		if strings.Contains(y, "mountPath: "+mastodonTmp) {
			t.Errorf("%s mounts a volume over %s", o.Key(), mastodonTmp)
		}
		if !strings.Contains(y, "fsGroupChangePolicy: OnRootMismatch") {
			t.Errorf("%s lacks fsGroupChangePolicy OnRootMismatch", o.Key())
		}
	}
	d := find[appsv1.Deployment](t, s.Render(fixedSecrets, ""), "Deployment", s.SidekiqName("all"))
	if probe := strings.Join(d.Spec.Template.Spec.Containers[0].ReadinessProbe.Exec.Command, " "); !strings.Contains(probe, mastodonTmp+"/sidekiq_process_has_started_and_will_begin_processing_jobs") {
		t.Errorf("sidekiq readiness: %s", probe)
	}
}

// MASTODON.md and app/models/user.rb: User#change_password! ends every
// session and revokes every app token and push subscription, so the
// ensure Job sets the password only when Devise's valid_password? says it
// differs.
func TestAccountPasswordContract(t *testing.T) {
	i, j := strings.Index(ensureScript, "valid_password?(p)"), strings.Index(ensureScript, "change_password!(p)")
	if i < 0 || j < i || !strings.Contains(ensureScript[i:j], "else") {
		t.Errorf("the ensure script changes the password without checking it first:\n%s", ensureScript)
	}
}

// app/validators/email_mx_validator.rb: outside development and test, a
// new user's email domain must have MX or A records; special-use domains
// (RFC 2606, 6761) have none, so tootctl accounts create would fail.
func TestAccountEmailContract(t *testing.T) {
	for e, ok := range map[string]bool{"owner@social.example": false, "a@mail.test": false, "a@host.localhost": false, "owner@example.org": true, "owner@mastodon.social": true} {
		if err := ValidateEmail(e); (err == nil) != ok {
			t.Errorf("%s: %v", e, err)
		}
	}
}

// Cloud SQL Auth Proxy v2 (its examples/k8s-health-check/README.md):
// --health-check serves /startup (200 once started) and /liveness on
// --http-address:--http-port, localhost by default, which the kubelet
// cannot reach: it probes the Pod's IP.
func TestCloudSQLProxyHealthContract(t *testing.T) {
	s := cloudSQLSpec(CloudSQL{InstanceConnectionName: "my-project:europe-west1:mastodon", CredentialsJSON: "{}"})
	d := find[appsv1.Deployment](t, s.Render(fixedSecrets, ""), "Deployment", s.WebName())
	proxy := d.Spec.Template.Spec.InitContainers[0]
	args := strings.Join(proxy.Args, " ")
	for _, want := range []string{"--health-check", "--http-address=0.0.0.0", "--http-port=9801", "--address=127.0.0.1"} {
		if !strings.Contains(args, want) {
			t.Errorf("proxy args %q lack %s", args, want)
		}
	}
	if p := proxy.StartupProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/startup" || p.HTTPGet.Port.IntValue() != 9801 {
		t.Errorf("startup probe: %+v", proxy.StartupProbe)
	}
	if p := proxy.LivenessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/liveness" || p.HTTPGet.Port.IntValue() != 9801 {
		t.Errorf("liveness probe: %+v", proxy.LivenessProbe)
	}
}

// MASTODON.md: with WEB_DOMAIN different from LOCAL_DOMAIN, remote servers
// resolve user@LOCAL_DOMAIN through https://LOCAL_DOMAIN/.well-known/
// (webfinger, host-meta, nodeinfo), and Mastodon accepts the local domain
// as a host. An Ingress without a TLS section gets the controller's
// placeholder certificate. ingress-nginx limits bodies to 1 MiB unless
// proxy-body-size is raised; Mastodon's dist/nginx.conf allows 99m.
func TestIngressContract(t *testing.T) {
	split := func(in *Ingress) *Spec {
		s := &Spec{Name: "social", Namespace: "fediverse", LocalDomain: "example.org", WebDomain: "social.example.org", WebReplicas: 1, StreamReplicas: 1, Ingress: in}
		s.Defaults()
		return s
	}
	ingressOf := func(s *Spec) *networkingv1.Ingress {
		return find[networkingv1.Ingress](t, s.Render(fixedSecrets, ""), "Ingress", s.Name)
	}

	s := split(&Ingress{Annotations: map[string]string{"cert-manager.io/cluster-issuer": "letsencrypt"}})
	ing := ingressOf(s)
	if len(ing.Spec.Rules) != 2 || ing.Spec.Rules[1].Host != "example.org" {
		t.Fatalf("rules: %+v", ing.Spec.Rules)
	}
	var paths []string
	for _, p := range ing.Spec.Rules[1].HTTP.Paths {
		if p.Backend.Service.Name != s.WebName() {
			t.Errorf("%s goes to %s", p.Path, p.Backend.Service.Name)
		}
		paths = append(paths, p.Path)
	}
	if strings.Join(paths, " ") != "/.well-known/webfinger /.well-known/host-meta /.well-known/nodeinfo" {
		t.Errorf("local domain paths: %v", paths)
	}
	if len(ing.Spec.TLS) != 1 || strings.Join(ing.Spec.TLS[0].Hosts, " ") != "social.example.org example.org" || ing.Spec.TLS[0].SecretName != "social-tls" {
		t.Errorf("cert-manager issues for every TLS host: %+v", ing.Spec.TLS)
	}
	if ing.Annotations[AnnotationProxyBodySize] != "99m" {
		t.Errorf("body size: %v", ing.Annotations)
	}
	if w := s.Warnings(); len(w) != 0 {
		t.Errorf("warnings: %v", w)
	}

	// cert-manager fills a Secret named by tls_secret_name for every host.
	s = split(&Ingress{TLSSecretName: "social-example-org-tls", Annotations: map[string]string{"cert-manager.io/issuer": "ca"}})
	if ing = ingressOf(s); strings.Join(ing.Spec.TLS[0].Hosts, " ") != "social.example.org example.org" || ing.Spec.TLS[0].SecretName != "social-example-org-tls" {
		t.Errorf("cert-manager with a named Secret: %+v", ing.Spec.TLS)
	}
	// An existing Secret: only the web domain is known to be covered.
	s = split(&Ingress{TLSSecretName: "existing"})
	if ing = ingressOf(s); strings.Join(ing.Spec.TLS[0].Hosts, " ") != "social.example.org" {
		t.Errorf("an existing Secret: %+v", ing.Spec.TLS)
	}
	if w := s.Warnings(); len(w) != 1 {
		t.Errorf("warnings: %v", w)
	}

	// Our certificate covers the local domain only if it says so.
	cert, key := testcert.SelfSigned(t, "social.example.org", time.Hour)
	s = split(&Ingress{CertificatePEM: cert, PrivateKeyPEM: key, Annotations: map[string]string{AnnotationProxyBodySize: "200m"}})
	ing = ingressOf(s)
	if len(ing.Spec.TLS) != 1 || strings.Join(ing.Spec.TLS[0].Hosts, " ") != "social.example.org" {
		t.Errorf("a certificate for the web domain only: %+v", ing.Spec.TLS)
	}
	if ing.Annotations[AnnotationProxyBodySize] != "200m" {
		t.Error("the user's annotation does not win")
	}
	if w := s.Warnings(); len(w) != 1 || !strings.Contains(w[0].Message, "local_domain example.org") {
		t.Errorf("warnings: %v", w)
	}
	cert, key = testcert.SelfSigned(t, "example.org", time.Hour)
	s = split(&Ingress{CertificatePEM: cert, PrivateKeyPEM: key})
	if ing = ingressOf(s); strings.Join(ing.Spec.TLS[0].Hosts, " ") != "social.example.org example.org" {
		t.Errorf("a certificate covering the local domain: %+v", ing.Spec.TLS)
	}

	// No certificate: no TLS section, and a warning.
	s = defaultSpec()
	s.Ingress = &Ingress{ClassName: "nginx"}
	if ing = ingressOf(s); ing.Spec.TLS != nil {
		t.Errorf("TLS without a certificate: %+v", ing.Spec.TLS)
	}
	if w := s.Warnings(); len(w) != 1 || w[0].Path != "ingress" {
		t.Errorf("warnings: %v", w)
	}
}

// MASTODON.md: GCE's load balancer closes connections after its backend
// timeout (30 s by default), websockets included, unless a BackendConfig
// attached to the Service (cloud.google.com/backend-config) raises it.
func TestGKEStreamingTimeoutContract(t *testing.T) {
	s := defaultSpec()
	s.Ingress = &Ingress{ClassName: "gce", GKEStreamingTimeout: 3600}
	objs := s.Render(fixedSecrets, "")
	svc := find[corev1.Service](t, objs, "Service", s.StreamingName())
	if got := svc.Annotations[AnnotationGKEBackendConfig]; got != `{"default":"social-streaming"}` {
		t.Errorf("streaming Service annotation %q", got)
	}
	var timeout any
	for _, o := range objs {
		if o.Kind == "BackendConfig" && o.Name == s.StreamingName() && o.APIVersion == "cloud.google.com/v1" {
			timeout = o.Body["spec"].(map[string]any)["timeoutSec"]
		}
	}
	if timeout != float64(3600) {
		t.Errorf("BackendConfig timeoutSec %v", timeout)
	}
	if web := find[corev1.Service](t, objs, "Service", s.WebName()); web.Annotations != nil {
		t.Errorf("web Service annotations %v", web.Annotations)
	}
	s.Ingress.GKEStreamingTimeout = 0
	for _, o := range s.Render(fixedSecrets, "") {
		if o.Kind == "BackendConfig" {
			t.Error("a BackendConfig without gke_streaming_timeout_seconds")
		}
	}
}

// lib/mastodon/cli/accounts.rb: `tootctl accounts modify` finds its user
// with Account.find_local(username)&.user and fails "No user with such
// username" without one; Account.find_local (app/models/concerns/account/
// finder_concern.rb, Account.with_username in app/models/account.rb)
// matches the local account's username case-insensitively, nil when there
// is none. The create Job looks the account up the same way before
// anything changes (tootctl accounts create, change_password!), and exits
// with ExitAccountExists when Mastodon holds it, which its Pod failure
// policy makes final: a create never takes over an account. A username
// that a deleted account keeps reserved (DeleteAccountService keeps the
// Account without its User) has no user: tootctl accounts create refuses it
// as taken, as before.
func TestAccountCreateLooksFirstContract(t *testing.T) {
	look := strings.Index(createScript, `Account.find_local(ENV.fetch("ACCOUNT_USERNAME"))&.user`)
	exit := strings.Index(createScript, "exit("+strconv.Itoa(ExitAccountExists)+") if ")
	create := strings.Index(createScript, "bin/tootctl accounts create")
	password := strings.Index(createScript, "change_password!")
	if look < 0 || exit < 0 || exit > look || create < look || password < create {
		t.Errorf("the create script does not look the account up, and exit with %d when it exists, before it creates it or sets a password:\n%s", ExitAccountExists, createScript)
	}
	if !strings.Contains(createScript, `[ "$rc" = `+strconv.Itoa(ExitAccountExists)+` ]`) || !strings.Contains(createScript, `exit "$rc"`) {
		t.Errorf("the create script does not pass the lookup's exit code on:\n%s", createScript)
	}
	if !strings.HasPrefix(createScript, "set -e\n") {
		t.Error("the create script does not stop at the first failure")
	}
	job := AccountJob("ns", "social", "social-account-create-1", JobBase{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "img"}}}},
		Account{Username: "alice", Email: "a@example.org", Role: "Owner"}, Create, "social-account-alice")
	var j batchv1.Job
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(job.Unstructured().Object, &j); err != nil {
		t.Fatal(err)
	}
	p := j.Spec.PodFailurePolicy
	if p == nil || len(p.Rules) != 1 || p.Rules[0].Action != batchv1.PodFailurePolicyActionFailJob || p.Rules[0].OnExitCodes == nil ||
		*p.Rules[0].OnExitCodes.ContainerName != j.Spec.Template.Spec.Containers[0].Name ||
		!slices.Equal(p.Rules[0].OnExitCodes.Values, []int32{ExitAccountExists}) {
		t.Errorf("the create Job's Pod failure policy does not end the Job on exit code %d: %+v", ExitAccountExists, p)
	}
	if j.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Error("a Pod failure policy needs restartPolicy Never")
	}
	if !strings.Contains(strings.Join(j.Spec.Template.Spec.Containers[0].Command, " "), createScript) {
		t.Error("the create Job does not run the create script")
	}
}

// An account imported without the provider's record (made by hand) has a
// password Terraform never knew: the Secret records an empty one, and the
// Jobs then leave the account's password as it is (change_password! would
// also end every session).
func TestAccountPasswordKeptWhenUnknownContract(t *testing.T) {
	for name, script := range map[string]string{"ensure": ensureScript, "create": createScript} {
		skip, set := strings.Index(script, `if [ -z "$ACCOUNT_PASSWORD" ]; then echo "password kept"; exit 0; fi`), strings.Index(script, "change_password!")
		if skip < 0 || set < skip {
			t.Errorf("the %s script sets an empty password instead of keeping the account's:\n%s", name, script)
		}
	}
}

// config/initializers/paperclip.rb (v4.5.0 and v4.6.5, lines 60-64) gives
// Paperclip s3_credentials { access_key_id: ENV['AWS_ACCESS_KEY_ID'],
// secret_access_key: ENV['AWS_SECRET_ACCESS_KEY'] }, and kt-paperclip's
// s3_interface (lib/paperclip/storage/s3.rb, read at 7.4.0) copies a credential into the
// Aws::S3::Resource options only when it is truthy: unset variables give
// the client no credentials, and aws-sdk-core's CredentialProviderChain
// takes over (the environment, AWS_ROLE_ARN with
// AWS_WEB_IDENTITY_TOKEN_FILE for EKS IRSA, AWS_CONTAINER_CREDENTIALS_FULL_URI
// for EKS Pod Identity, the instance profile). An empty string is truthy
// in Ruby, so a keyless bucket must render neither variable, not empty
// ones. Every other S3 use (app/lib/attachment_batch.rb,
// lib/mastodon/cli/media.rb) goes through the same s3_interface; the
// streaming server reads no AWS_* variable. One key without the other is
// refused, and so is keyless Cloud Storage: its S3 interface signs with
// HMAC keys only, and Workload Identity gives OAuth tokens an S3 client
// cannot send.
func TestS3KeylessContract(t *testing.T) {
	keyless := func(endpoint string) *Spec {
		s := defaultSpec()
		s.MediaBucket = &MediaBucket{Bucket: "media", Endpoint: endpoint, Region: "eu-west-1"}
		s.ServiceAccount = &ServiceAccount{Annotations: map[string]string{"eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/mastodon"}}
		s.Backup = &Backup{Keep: 2}
		s.Defaults()
		return s
	}
	s := keyless("https://s3.eu-west-1.amazonaws.com")
	if errs := s.Validate(); len(errs) > 0 {
		t.Fatalf("a keyless bucket with service_account: %v", errs)
	}
	if w := s.Warnings(); len(w) > 0 {
		t.Errorf("a keyless bucket with service_account warned of: %v", w)
	}
	plain, secret := s.Environment(fixedSecrets)
	for _, k := range []string{EnvS3AccessKey, EnvS3SecretKey} {
		if _, ok := plain[k]; ok {
			t.Errorf("%s in the ConfigMap's variables", k)
		}
		if v, ok := secret[k]; ok {
			t.Errorf("%s=%q in the Secret's variables: a keyless bucket renders none (an empty key is a static credential to kt-paperclip)", k, v)
		}
	}
	if plain["S3_ENABLED"] != "true" {
		t.Errorf("S3_ENABLED=%q, want true", plain["S3_ENABLED"])
	}
	objs := s.Render(fixedSecrets, "")
	for _, o := range objs {
		if o.Kind != "Secret" && o.Kind != "ConfigMap" {
			continue
		}
		for _, field := range []string{"data", "stringData"} {
			m, _ := o.Unstructured().Object[field].(map[string]any)
			for k := range m {
				if strings.HasPrefix(k, "AWS_") {
					t.Errorf("%s %s holds %s", o.Kind, o.Name, k)
				}
			}
		}
	}
	// The backup's upload runs in Mastodon's image as the instance's
	// ServiceAccount and builds its client without credentials, so it
	// takes the same default chain (s3ClientScript).
	cj := find[batchv1.CronJob](t, objs, "CronJob", s.BackupName())
	pod := cj.Spec.JobTemplate.Spec.Template.Spec
	if pod.ServiceAccountName != s.Name {
		t.Errorf("the backup's Pod runs as %q, want the instance's ServiceAccount %q", pod.ServiceAccountName, s.Name)
	}
	for _, e := range pod.Containers[0].Env {
		if strings.HasPrefix(e.Name, "AWS_") {
			t.Errorf("the backup's upload container sets %s", e.Name)
		}
	}
	for _, word := range []string{"credentials", "access_key_id", "secret_access_key", "AWS_"} {
		if strings.Contains(s3ClientScript, word) {
			t.Errorf("the backup's S3 client names %q: it must leave credentials to the SDK's default chain", word)
		}
	}

	// One key without the other.
	for _, tc := range []struct {
		id, secret, path string
	}{{"AKIA", "", "media_bucket.secret_access_key"}, {"", "secret", "media_bucket.access_key_id"}} {
		s := keyless("https://s3.eu-west-1.amazonaws.com")
		s.MediaBucket.AccessKeyID, s.MediaBucket.SecretAccessKey = tc.id, tc.secret
		if got := errorPaths(s.Validate()); !slices.Equal(got, []string{tc.path}) {
			t.Errorf("access_key_id %q, secret %q: errors at %v, want %s", tc.id, tc.secret, got, tc.path)
		}
	}
	// Keyless Cloud Storage.
	gcs := keyless("https://storage.googleapis.com")
	if errs := gcs.Validate(); !slices.Equal(errorPaths(errs), []string{"media_bucket.access_key_id"}) || !strings.Contains(errs[0].Message, "HMAC") {
		t.Errorf("keyless storage.googleapis.com: %v, want media_bucket.access_key_id refused (HMAC keys only)", errs)
	}
	gcs.MediaBucket.AccessKeyID, gcs.MediaBucket.SecretAccessKey = "GOOG1E", "secret"
	if errs := gcs.Validate(); len(errs) > 0 {
		t.Errorf("storage.googleapis.com with HMAC keys: %v", errs)
	}
	// Keyless without service_account: warned of on any endpoint but AWS
	// (where a node's instance profile may serve).
	for endpoint, warned := range map[string]bool{"https://minio.example": true, "https://acct.r2.cloudflarestorage.com": true, "https://s3.eu-west-1.amazonaws.com": false} {
		s := keyless(endpoint)
		s.ServiceAccount = nil
		if errs := s.Validate(); len(errs) > 0 {
			t.Errorf("keyless %s without service_account: %v", endpoint, errs)
		}
		w := s.Warnings()
		if got := len(w) == 1 && w[0].Path == "media_bucket.access_key_id" && strings.Contains(w[0].Message, "AWS_WEB_IDENTITY_TOKEN_FILE"); got != warned {
			t.Errorf("keyless %s without service_account: warnings %v, want warned %v", endpoint, w, warned)
		}
	}
	// The restore's own bucket keeps its keys required.
	s = keyless("https://s3.eu-west-1.amazonaws.com")
	s.Restore = &Restore{Key: "x.dump", Bucket: &MediaBucket{Bucket: "old", Endpoint: "https://s3.eu-west-1.amazonaws.com"}}
	if got := errorPaths(s.Validate()); !slices.Equal(got, []string{"restore.bucket.access_key_id", "restore.bucket.secret_access_key"}) {
		t.Errorf("a restore bucket without keys: errors at %v", got)
	}
}

// Dockerfile (ARG TZ="Etc/UTC", ENV TZ, tzdata installed; lines 42-111 at
// v4.6.5) and streaming/Dockerfile (the same, lines 26-78): TZ is the
// zone of the images' processes. Mastodon leaves Rails' Time.zone at UTC
// (config/application.rb keeps config.time_zone commented out), so TZ moves
// the clocks of the logs and of the Sidekiq scheduler's cron entries
// (config/sidekiq.yml). The instance's CronJobs read their schedules in the
// same zone; an unknown zone is refused, and extra_env may not say TZ twice.
func TestTimeZoneContract(t *testing.T) {
	s := defaultSpec()
	s.Settings.TimeZone = "Europe/Berlin"
	s.Maintenance.Tasks = map[string]MaintenanceTask{"statuses": {Enabled: ptrTo(true), RetentionDays: 30}}
	if errs := s.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	plain, _ := s.Environment(fixedSecrets)
	if plain["TZ"] != "Europe/Berlin" {
		t.Errorf("TZ = %q", plain["TZ"])
	}
	for _, o := range s.Render(fixedSecrets, "") {
		if o.Kind == "CronJob" {
			if spec, _ := o.Body["spec"].(map[string]any); spec["timeZone"] != "Europe/Berlin" {
				t.Errorf("CronJob %s reads its schedule in %v", o.Name, spec["timeZone"])
			}
		}
	}
	if plain, _ := defaultSpec().Environment(fixedSecrets); plain["TZ"] != "" {
		t.Error("TZ rendered without a time zone: the images' Etc/UTC is theirs to keep")
	}
	for _, bad := range []string{"Mars/Olympus", "Local", "/etc/localtime", "CEST+2"} {
		if CheckTimeZone(bad) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	for _, good := range []string{"Etc/UTC", "UTC", "America/Sao_Paulo", "Asia/Kolkata"} {
		if err := CheckTimeZone(good); err != nil {
			t.Error(err)
		}
	}
	s.Settings.ExtraEnv = map[string]string{"TZ": "Asia/Tokyo"}
	if p := errorPaths(s.Validate()); !slices.Contains(p, "settings.extra_env") {
		t.Errorf("TZ in extra_env beside time_zone: %v", p)
	}
}

// config/omniauth.yml: each OmniAuth provider is on only when its
// variable is exactly "true" (CAS_ENABLED, OIDC_ENABLED, SAML_ENABLED);
// config/initializers/devise.rb: LDAP when LDAP_ENABLED is "true".
// config/routes.rb (devise_for :users, path: 'auth') puts OmniAuth's
// callbacks at /auth/auth/<provider>/callback, on the web domain: the
// redirect URI (OIDC_REDIRECT_URI, which 3_omniauth.rb passes as is) and
// SAML's assertion consumer service URL (SAML_ACS_URL) say so.
// 3_omniauth.rb splits OIDC_SCOPE on commas with no default (nil.split
// stops the boot), so the scope is always rendered.
func TestSSOEnvironmentContract(t *testing.T) {
	s := ssoSpec(everySSO(t))
	plain, secret := s.Environment(fixedSecrets)
	for _, v := range []string{"OIDC_ENABLED", "SAML_ENABLED", "CAS_ENABLED", "LDAP_ENABLED"} {
		if plain[v] != "true" {
			t.Errorf("%s = %q", v, plain[v])
		}
	}
	if got := plain["OIDC_REDIRECT_URI"]; got != "https://www.social.example/auth/auth/openid_connect/callback" {
		t.Errorf("OIDC_REDIRECT_URI = %q", got)
	}
	if got := plain["SAML_ACS_URL"]; got != "https://www.social.example/auth/auth/saml/callback" {
		t.Errorf("SAML_ACS_URL = %q", got)
	}
	if got := ssoSpec(&SSO{OIDC: &OIDC{Issuer: "https://id.example.org", ClientID: "c"}}); got.SSO.OIDC.Scope == nil {
		t.Error("no default scope")
	} else if plain, _ := got.Environment(fixedSecrets); plain["OIDC_SCOPE"] != "openid,profile,email" || plain["OIDC_DISCOVERY"] != "true" {
		t.Errorf("OIDC_SCOPE = %q, OIDC_DISCOVERY = %q", plain["OIDC_SCOPE"], plain["OIDC_DISCOVERY"])
	}
	// The credentials are in the Secret only; SAML_CERT and
	// SAML_PRIVATE_KEY are PEM values (3_omniauth.rb passes them to
	// ruby-saml as certificate and private_key), not paths.
	for _, k := range []string{EnvOIDCClientSecret, EnvSAMLPrivateKey, EnvLDAPPassword} {
		if _, inPlain := plain[k]; inPlain || secret[k] == "" {
			t.Errorf("%s: in the ConfigMap %v, in the Secret %v", k, inPlain, secret[k] != "")
		}
	}
	if !strings.HasPrefix(plain["SAML_CERT"], "-----BEGIN CERTIFICATE-----") || !strings.HasPrefix(secret[EnvSAMLPrivateKey], "-----BEGIN") {
		t.Error("SAML_CERT or SAML_PRIVATE_KEY is not PEM")
	}
	// Without sso, none of it.
	plain, _ = ssoSpec(nil).Environment(fixedSecrets)
	for k := range plain {
		if ssoEnv(k) {
			t.Errorf("%s rendered without sso", k)
		}
	}
}

// config/initializers/devise.rb: LDAP_BASE, LDAP_BIND_DN and LDAP_PASSWORD
// are read with ENV.fetch and no default (a missing one stops the boot);
// LDAP_PORT defaults to 389 and LDAP_METHOD to simple_tls, which is TLS
// from the first byte (port 636); user/ldap_authenticable.rb encrypts
// only with simple_tls or start_tls and formats LDAP_SEARCH_FILTER with
// uid, mail and email.
func TestLDAPContract(t *testing.T) {
	for method, port := range map[string]string{"": "636", "simple_tls": "636", "start_tls": "389", "plain": "389"} {
		s := ssoSpec(&SSO{LDAP: &LDAP{Host: "ldap", Method: method, Base: "dc=example", BindDN: "cn=m", Password: "p"}})
		plain, secret := s.Environment(fixedSecrets)
		if plain["LDAP_PORT"] != port || plain["LDAP_BASE"] == "" || plain["LDAP_BIND_DN"] == "" || secret[EnvLDAPPassword] == "" {
			t.Errorf("method %q: port %s, base %q, bind DN %q", method, plain["LDAP_PORT"], plain["LDAP_BASE"], plain["LDAP_BIND_DN"])
		}
	}
	if p := errorPaths(ssoSpec(&SSO{LDAP: &LDAP{Host: "ldap", Base: "dc=example", BindDN: "cn=m"}}).Validate()); !slices.Contains(p, "sso.ldap.password") {
		t.Errorf("no LDAP password: %v", p)
	}
	if CheckLDAPSearchFilter("(|(%<uid>s=%<email>s)(%<mail>s=%<email>s))") != nil || CheckLDAPSearchFilter("(cn=%<name>s)") == nil {
		t.Error("the search filter's references")
	}
}

// app/controllers/concerns/web_app_controller_concern.rb,
// app/serializers/initial_state_serializer.rb and
// app/lib/content_security_policy.rb act on ONE_CLICK_SSO_LOGIN only with
// OMNIAUTH_ONLY and exactly one OmniAuth provider (LDAP is not one);
// app/views/auth/sessions/new.html.haml hides the password form under
// OMNIAUTH_ONLY and shows a button per OmniAuth provider, so OMNIAUTH_ONLY
// with LDAP alone leaves no way in. What Mastodon would silently ignore or
// lock out is refused.
func TestSSOCombinationsContract(t *testing.T) {
	oidc := &OIDC{Issuer: "https://id.example.org", ClientID: "c"}
	cas := &CAS{Host: "cas.example.org"}
	ldap := &LDAP{Host: "ldap", Base: "dc=example", BindDN: "cn=m", Password: "p"}
	for _, tc := range []struct {
		sso  SSO
		want string
	}{
		{SSO{OIDC: oidc, OmniAuthOnly: true, OneClickLogin: true}, ""},
		{SSO{CAS: cas, LDAP: ldap, OmniAuthOnly: true, OneClickLogin: true}, ""},
		{SSO{OIDC: oidc, OneClickLogin: true}, "sso.one_click_login"},
		{SSO{OIDC: oidc, CAS: cas, OmniAuthOnly: true, OneClickLogin: true}, "sso.one_click_login"},
		{SSO{LDAP: ldap, OmniAuthOnly: true}, "sso.omniauth_only"},
	} {
		sso := tc.sso
		p := errorPaths(ssoSpec(&sso).Validate())
		if tc.want == "" && len(p) > 0 || tc.want != "" && !slices.Contains(p, tc.want) {
			t.Errorf("%+v: %v, want %q", tc.sso, p, tc.want)
		}
	}
}
