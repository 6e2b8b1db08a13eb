package mastodon

import (
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"

	"github.com/tootform/terraform-provider-mastodon/internal/testcert"
)

func warningPaths(ws []FieldError) []string { return errorPaths(ws) }

// config/database.yml passes DB_SSLMODE to libpq as sslmode and names no
// sslrootcert; libpq's verify-ca and verify-full then read
// ~/.postgresql/root.crt (PGSSLROOTCERT overrides it), which Mastodon's
// image does not have: every connection fails. The Cloud SQL proxy
// encrypts on its own (sslmode disable).
func TestDatabaseCARequiredContract(t *testing.T) {
	cert, _ := testcert.SelfSigned(t, "db.internal", 0)
	for _, tc := range []struct {
		mode, ca string
		refused  bool
	}{{"verify-ca", "", true}, {"verify-full", "", true}, {"verify-ca", cert, false}, {"verify-full", cert, false}, {"require", "", false}, {"prefer", "", false}} {
		s := defaultSpec()
		s.Database = &Database{Host: "db.internal", User: "mastodon", SSLMode: tc.mode, CACertificatePEM: tc.ca}
		s.Defaults()
		p := errorPaths(s.Validate())
		if slices.Contains(p, "database.sslmode") != tc.refused {
			t.Errorf("sslmode %s with CA %v: errors %v", tc.mode, tc.ca != "", p)
		}
	}
	s := defaultSpec()
	s.Database = &Database{User: "mastodon", SSLMode: "verify-full", CloudSQL: &CloudSQL{InstanceConnectionName: "p:r:i", WorkloadIdentityServiceAccount: "sa@p.iam.gserviceaccount.com"}}
	s.Defaults()
	if p := errorPaths(s.Validate()); slices.Contains(p, "database.sslmode") {
		t.Errorf("Cloud SQL: %v", p)
	}
}

// config/sidekiq.yml (v4.6.5, main at 4.7.0-alpha.2): the queues are
// default, push, ingress, mailers, pull, scheduler and fasp (fasp since
// v4.4.0); a process started with -q works only the queues it names, and
// sidekiq-scheduler enqueues the schedule only in a process that serves
// scheduler (listened_queues_only). A queue no running process serves is
// never worked.
func TestQueuesServedContract(t *testing.T) {
	without := func(drop string) []Queue {
		return slices.DeleteFunc(slices.Clone(DefaultSidekiq().Queues), func(q Queue) bool { return q.Name == drop })
	}
	for _, q := range Queues {
		s := defaultSpec()
		s.Sidekiq = []SidekiqProcess{{Name: "main", Queues: without(q), Concurrency: 5, Replicas: 1}}
		errs := s.Validate()
		if len(errs) != 1 || errs[0].Path != "sidekiq" || !strings.Contains(errs[0].Message, "the "+q+" queue") ||
			!strings.Contains(errs[0].Message, QueueRoles[q]) || !slices.Contains(errs[0].Related, "version") {
			t.Errorf("without %s: %v", q, errs)
		}
	}
	// The scheduler's process with no replica.
	s := defaultSpec()
	s.Sidekiq = []SidekiqProcess{
		{Name: "main", Queues: without("scheduler"), Concurrency: 5, Replicas: 2},
		{Name: "scheduler", Queues: []Queue{{Name: "scheduler"}}, Concurrency: 1, Replicas: 0},
	}
	if errs := s.Validate(); len(errs) != 1 || !strings.Contains(errs[0].Message, "every process serving the scheduler queue has 0 replicas") {
		t.Errorf("scheduler with 0 replicas: %v", errs)
	}
	// Sidekiq stopped as a whole (a restore, docs/guides/backup-restore.md).
	s.Sidekiq[0].Replicas = 0
	if errs := s.Validate(); len(errs) != 0 {
		t.Errorf("every process stopped: %v", errs)
	}
	// A process that autoscales or that another controller scales runs.
	s.Sidekiq[1].Replicas = 1
	s.Sidekiq[0].Replicas = ScaledElsewhere
	if errs := s.Validate(); len(errs) != 0 {
		t.Errorf("scaled elsewhere: %v", errs)
	}
	// 4.3 has no fasp queue.
	s = defaultSpec()
	s.Version = "v4.3.9"
	s.Sidekiq = []SidekiqProcess{{Name: "main", Queues: without("fasp"), Concurrency: 5, Replicas: 1}}
	if errs := s.Validate(); len(errs) != 0 {
		t.Errorf("4.3 without fasp: %v", errs)
	}
}

// RFC 8314 and the mail gem: SMTP_TLS/SMTP_SSL open the connection with
// TLS (implicit TLS, the submissions port 465); port 587 speaks plain text
// first and expects STARTTLS, so implicit TLS against it fails every
// delivery. config/environments/production.rb passes SMTP_PORT as is.
func TestSMTPPortFollowsTLSContract(t *testing.T) {
	for _, tc := range []struct {
		smtp SMTP
		want string
	}{
		{SMTP{Server: "smtp.example", TLS: true}, "465"},
		{SMTP{Server: "smtp.example", SSL: true}, "465"},
		{SMTP{Server: "smtp.example"}, "587"},
		{SMTP{Server: "smtp.example", TLS: true, Port: 2465}, "2465"},
	} {
		s := defaultSpec()
		m := tc.smtp
		s.SMTP = &m
		s.Defaults()
		if plain, _ := s.Environment(fixedSecrets); plain["SMTP_PORT"] != tc.want {
			t.Errorf("%+v: SMTP_PORT %s, want %s", tc.smtp, plain["SMTP_PORT"], tc.want)
		}
	}
}

// Mastodon's exporter arrived in v4.4.0 (config/initializers/prometheus_exporter.rb,
// bin/prometheus_exporter and lib/mastodon/prometheus_exporter/ are absent
// from v4.3.23): a 4.3 instance ignores the variables and serves nothing.
func TestMetricsNeedFourFourContract(t *testing.T) {
	s := scalingSpec()
	s.Version = "v4.3.9"
	errs := s.Validate()
	if len(errs) != 1 || errs[0].Path != "metrics" || !slices.Contains(errs[0].Related, "version") {
		t.Errorf("metrics on 4.3: %v", errs)
	}
	s.Version = "v4.4.0"
	if errs := s.Validate(); len(errs) != 0 {
		t.Errorf("metrics on 4.4: %v", errs)
	}
}

// The connection budget. config/puma.rb: WEB_CONCURRENCY workers of
// MAX_THREADS threads; config/database.yml: each process's pool is DB_POOL,
// default MAX_THREADS (Sidekiq: its concurrency); streaming/database.js:
// a pool of DB_POOL, default 10, in one process (STREAMING_CLUSTER_NUM is
// read no more). PostgreSQL refuses connections past max_connections
// (default 100, 3 of them reserved for superusers).
func TestConnectionBudgetContract(t *testing.T) {
	s := defaultSpec()
	c := s.Connections()
	// web 1x2x5, Sidekiq 5, streaming 10, Jobs: a migration and an
	// account's tootctl (2 each), three scheduled tasks (6 each).
	if c != (Connections{Web: 10, Sidekiq: 5, Streaming: 10, Jobs: 22}) {
		t.Errorf("default: %+v", c)
	}
	pg := func(s *Spec) []string {
		sts := find[appsv1.StatefulSet](t, s.Render(fixedSecrets, ""), "StatefulSet", s.DatabaseName())
		return sts.Spec.Template.Spec.Containers[0].Args
	}
	if a := pg(s); a != nil {
		t.Errorf("within PostgreSQL's default the server is started as the image starts it, got args %v", a)
	}
	// Autoscaled: counted at the autoscaler's maximum.
	s = scalingSpec()
	if c := s.Connections(); c.Web != 6*2*5 || c.Sidekiq != 5+4*5 || c.Streaming != 3*10 {
		t.Errorf("autoscaled: %+v", c)
	}
	// docker-library's postgres entrypoint runs `postgres` with the
	// arguments it is given: -c sets a server setting.
	if a := strings.Join(pg(s), " "); a != "postgres -c max_connections=200" {
		t.Errorf("args %q", a)
	}
	if n := s.EmbeddedMaxConnections(); n != 200 {
		t.Errorf("max_connections %d", n)
	}
	// An external database: a warning past its limit.
	s = defaultSpec()
	s.WebReplicas, s.MaxThreads = 4, 10
	s.Database = &Database{Host: "db", User: "mastodon", Pool: 20}
	s.Defaults()
	if ws := warningPaths(s.Warnings()); !slices.Contains(ws, "database") {
		t.Errorf("4 web Pods x 2 x 10 + streaming's 20 on a server of 100: warnings %v", ws)
	}
	s.Database.MaxConnections = 500
	if ws := warningPaths(s.Warnings()); slices.Contains(ws, "database") {
		t.Errorf("on a server of 500: warnings %v", ws)
	}
	// DB_POOL below MAX_THREADS: threads wait for a connection, then fail.
	s.Database.Pool = 5
	if errs := s.Validate(); len(errs) != 1 || errs[0].Path != "database.pool" || !slices.Contains(errs[0].Related, "web.max_threads") {
		t.Errorf("pool 5 under 10 threads: %v", errs)
	}
}

// Autoscaling against a ReadWriteOnce media volume pins every replica to
// the volume's node (the Pods' required affinity); Ruby processes seldom
// give memory back, so a memory target rarely scales down.
func TestAutoscalingWarningsContract(t *testing.T) {
	s := scalingSpec()
	s.WebAutoscaling.TargetCPU = 0
	ws := warningPaths(s.Warnings())
	for _, want := range []string{"web.autoscaling", "sidekiq[1].autoscaling", "web.autoscaling.target_memory_utilization"} {
		if !slices.Contains(ws, want) {
			t.Errorf("warnings %v lack %s", ws, want)
		}
	}
	s.Media.AccessMode = "ReadWriteMany"
	s.WebAutoscaling.TargetCPU = 70
	if ws := warningPaths(s.Warnings()); len(ws) != 0 {
		t.Errorf("ReadWriteMany, CPU and memory: %v", ws)
	}
}

// lib/mastodon/cli/statuses.rb: `statuses remove` runs ANALYZE on statuses
// and conversations, and VACUUM FULL ANALYZE only with --compress-database,
// which we do not pass.
func TestStatusesRemoveDocContract(t *testing.T) {
	task, _ := maintenanceTaskOf("statuses")
	if cmd := strings.Join(task.command(90), " "); strings.Contains(cmd, "compress") {
		t.Errorf("command %s", cmd)
	}
	d := strings.ToLower(task.Description)
	if !strings.Contains(d, "analyze") || strings.Contains(d, "vacuums") {
		t.Errorf("description: %s", task.Description)
	}
}

// An account's Job runs in a copy of the live web Pod (accounts.go), which
// carries web's metrics exporter: a container that never exits, so the
// Job would never complete. The copy leaves it out.
func TestAccountJobWithoutExporter(t *testing.T) {
	s := scalingSpec()
	web := find[appsv1.Deployment](t, s.Render(fixedSecrets, ""), "Deployment", s.WebName()).Spec.Template.Spec
	if len(web.Containers) != 2 {
		t.Fatalf("web has %d containers", len(web.Containers))
	}
	o := AccountJob(s.Namespace, s.Name, "social-account-owner", JobBase{Spec: web}, Account{Username: "owner", Email: "owner@social.example", Role: "Owner"}, Ensure, "owner-secret")
	job := find[batchv1.Job](t, []Object{o}, "Job", "social-account-owner")
	if cs := job.Spec.Template.Spec.Containers; len(cs) != 1 || cs[0].Name == MetricsContainer {
		t.Errorf("account Job containers: %v", cs)
	}
}
