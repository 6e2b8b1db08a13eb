package mastodon

import (
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// poolerSpec is an external database behind a transaction-mode pooler,
// reached directly by the migrations, with a read replica.
func poolerSpec() *Spec {
	s := &Spec{Name: "social", Namespace: "mastodon", LocalDomain: "social.example", WebReplicas: 1, StreamReplicas: 1,
		Database: &Database{Host: "pgbouncer.db", Port: 6432, User: "mastodon", Password: "pooled-password", SSLMode: "require",
			Pooler:  &Pooler{Mode: PoolTransaction},
			Direct:  &DirectDatabase{Host: "postgres.db", User: "mastodon_owner", Password: "direct-password"},
			Replica: &Replica{Host: "postgres-replica.db", Password: "replica-password"}}}
	s.Defaults()
	return s
}

// railsEnv is the environment of a container: envFrom's ConfigMap and
// Secret, then env over them (as Kubernetes gives it). A variable from a
// Secret reads "secret:<name>/<key>".
func railsEnv(plain, secret map[string]string, c corev1.Container) map[string]string {
	out := map[string]string{}
	for k, v := range plain {
		out[k] = v
	}
	for k, v := range secret {
		out[k] = v
	}
	for _, e := range c.Env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			out[e.Name] = "secret:" + e.ValueFrom.SecretKeyRef.Name + "/" + e.ValueFrom.SecretKeyRef.Key
		} else {
			out[e.Name] = e.Value
		}
	}
	return out
}

func TestRenderPooler(t *testing.T) {
	s := poolerSpec()
	if errs := s.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	golden(t, "pooler.yaml", renderYAML(t, append(s.Render(fixedSecrets, ""), s.PrepareJob(), s.MigrationJob(PreDeployment), s.MigrationJob(PostDeployment))))
}

// config/database.yml (v4.6.5, production.primary): prepared_statements is
// PREPARED_STATEMENTS, default true, and every query is prepared in the
// server's session; a transaction-mode pooler gives the next transaction
// any server session, where the statement does not exist (Mastodon's
// documentation, admin/scaling.md: PREPARED_STATEMENTS=false behind
// PgBouncer). Session mode keeps a server session per client: prepared
// statements stay on.
func TestPreparedStatementsContract(t *testing.T) {
	for mode, want := range map[string]string{PoolTransaction: "false", PoolSession: "true", "": "true"} {
		s := poolerSpec()
		s.Database.Pooler = &Pooler{Mode: mode}
		if mode == "" {
			s.Database.Pooler = nil
		}
		plain, _ := s.Environment(fixedSecrets)
		if plain["PREPARED_STATEMENTS"] != want || plain["REPLICA_PREPARED_STATEMENTS"] != want {
			t.Errorf("mode %q: PREPARED_STATEMENTS %q, REPLICA_PREPARED_STATEMENTS %q, want %q", mode,
				plain["PREPARED_STATEMENTS"], plain["REPLICA_PREPARED_STATEMENTS"], want)
		}
	}
	// Statement mode: a transaction of more than one statement is refused.
	if CheckPoolMode("statement") == nil || CheckPoolMode("transaction") != nil || CheckPoolMode("session") != nil || CheckPoolMode("pool") == nil {
		t.Error("CheckPoolMode")
	}
}

// Rails' migrator (activerecord 8.1.3 in v4.6.5's Gemfile.lock,
// ActiveRecord::Migrator#with_advisory_lock): db:prepare and db:migrate
// take a session advisory lock (pg_try_advisory_lock) and release it at
// the end, which a transaction-mode pooler cannot keep on one server
// session; Mastodon's documentation (admin/scaling.md, MASTODON.md) says
// migrations cannot run through PgBouncer. So the migration Jobs alone reach the database at
// database.direct: their DB_HOST, DB_PORT, DB_USER and DB_PASS (env, over
// the ConfigMap's and the Secret's envFrom); web, Sidekiq, streaming and
// the tootctl Jobs go through the pooler. A direct password lives in a
// Secret that only those Jobs read.
func TestDirectMigrationContract(t *testing.T) {
	s := poolerSpec()
	plain, secret := s.Environment(fixedSecrets)
	objs := s.Render(fixedSecrets, "")
	for _, job := range []Object{s.PrepareJob(), s.MigrationJob(PreDeployment), s.MigrationJob(PostDeployment)} {
		j := find[batchv1.Job](t, []Object{job}, "Job", job.Name)
		c := j.Spec.Template.Spec.Containers[0]
		env := railsEnv(plain, secret, c)
		if env["DB_HOST"] != "postgres.db" || env["DB_PORT"] != "5432" || env["DB_USER"] != "mastodon_owner" || env["DB_NAME"] != "mastodon_production" ||
			env["DB_PASS"] != "secret:social-database-direct/DB_PASS" || env["DB_SSLMODE"] != "require" {
			t.Errorf("%s: %v", job.Name, env)
		}
		names := map[string]bool{}
		for _, e := range c.Env {
			if names[e.Name] {
				t.Errorf("%s sets %s twice", job.Name, e.Name)
			}
			names[e.Name] = true
		}
	}
	sec := find[corev1.Secret](t, objs, "Secret", "social-database-direct")
	if string(sec.Data["DB_PASS"]) != "direct-password" || len(sec.Data) != 1 {
		t.Errorf("the direct Secret: %v", sec.Data)
	}
	if strings.Contains(string(find[corev1.Secret](t, objs, "Secret", "social-secrets").Data["DB_PASS"]), "direct") {
		t.Error("the instance's Secret holds the direct password")
	}
	for _, name := range []string{"social-web", "social-streaming", "social-sidekiq-all"} {
		d := find[appsv1.Deployment](t, objs, "Deployment", name)
		if env := railsEnv(plain, secret, d.Spec.Template.Spec.Containers[0]); env["DB_HOST"] != "pgbouncer.db" || env["DB_PORT"] != "6432" {
			t.Errorf("%s: DB_HOST %s:%s, want the pooler", name, env["DB_HOST"], env["DB_PORT"])
		}
	}
	// By reference: the Jobs read the referenced key; no Secret of ours.
	s.Database.Direct.Password, s.Database.Direct.PasswordRef = "", &SecretRef{Name: "db-owner", Key: "password"}
	j := find[batchv1.Job](t, []Object{s.PrepareJob()}, "Job", s.PrepareJobName())
	if env := railsEnv(plain, secret, j.Spec.Template.Spec.Containers[0]); env["DB_PASS"] != "secret:db-owner/password" {
		t.Errorf("by reference: DB_PASS %s", env["DB_PASS"])
	}
	for _, o := range s.Render(fixedSecrets, "") {
		if o.Name == "social-database-direct" {
			t.Error("a reference renders the direct Secret")
		}
	}
	// Neither user nor password: the database's, from the ConfigMap and
	// the Secret.
	s.Database.Direct = &DirectDatabase{Host: "postgres.db", Port: 5432}
	j = find[batchv1.Job](t, []Object{s.PrepareJob()}, "Job", s.PrepareJobName())
	if env := railsEnv(plain, secret, j.Spec.Template.Spec.Containers[0]); env["DB_USER"] != "mastodon" || env["DB_PASS"] != "pooled-password" {
		t.Errorf("the database's user and password: %v", env)
	}
}

// The direct connection changes the migration Jobs only: web, Sidekiq and
// streaming do not roll. The prepare Job's name follows the server (the
// direct address), so a pooler switched on in front of it does not
// prepare the database again.
func TestDirectRollsNothing(t *testing.T) {
	checksum := func(s *Spec) string {
		d := find[appsv1.Deployment](t, s.Render(fixedSecrets, ""), "Deployment", "social-web")
		return d.Spec.Template.Annotations[AnnotationChecksum]
	}
	a, b := poolerSpec(), poolerSpec()
	b.Database.Direct.Password, b.Database.Direct.User = "another-password", "another-owner"
	if checksum(a) != checksum(b) || a.PrepareJobName() != b.PrepareJobName() {
		t.Error("a change of the direct user or password rolls the Deployments or prepares again")
	}
	b.Database.Direct.Host = "postgres-2.db"
	if a.PrepareJobName() == b.PrepareJobName() {
		t.Error("another server is not prepared")
	}
	plainDB := &Spec{Name: "social", Namespace: "mastodon", LocalDomain: "social.example", WebReplicas: 1, StreamReplicas: 1,
		Database: &Database{Host: "postgres.db", User: "mastodon"}}
	plainDB.Defaults()
	if a.PrepareJobName() != plainDB.PrepareJobName() {
		t.Error("a pooler in front of the same server prepares it again")
	}
}

// config/database.yml (v4.6.5, production.replica): REPLICA_DB_HOST,
// _PORT, _NAME, _USER, _PASS and REPLICA_PREPARED_STATEMENTS, each falling
// back to the primary's; sslmode is the shared default's DB_SSLMODE.
// app/helpers/database_helper.rb: replica_enabled? is REPLICA_DB_NAME,
// REPLICA_DB_HOST (since v4.6.0) or REPLICA_DATABASE_URL, and
// app/models/application_record.rb connects_to the replica for reading
// only then: REPLICA_DB_NAME is always rendered, so 4.4 and 4.5 use the
// replica too. streaming/database.js reads no REPLICA_ variable.
func TestReplicaContract(t *testing.T) {
	s := poolerSpec()
	plain, secret := s.Environment(fixedSecrets)
	if plain["REPLICA_DB_HOST"] != "postgres-replica.db" || plain["REPLICA_DB_PORT"] != "5432" || plain["REPLICA_DB_NAME"] != "mastodon_production" ||
		secret["REPLICA_DB_PASS"] != "replica-password" {
		t.Errorf("replica: %v, password %q", plain, secret["REPLICA_DB_PASS"])
	}
	if _, set := plain["REPLICA_DB_USER"]; set {
		t.Error("REPLICA_DB_USER set without a user: database.yml falls back to DB_USER")
	}
	if _, held := plain["REPLICA_DB_PASS"]; held {
		t.Error("the replica's password in the ConfigMap")
	}
	s.Database.Replica.Password, s.Database.Replica.PasswordRef = "", &SecretRef{Name: "replica", Key: "password"}
	_, secret = s.Environment(fixedSecrets)
	if _, held := secret["REPLICA_DB_PASS"]; held || s.EnvRefs()["REPLICA_DB_PASS"] == nil {
		t.Error("by reference: REPLICA_DB_PASS is read from the referenced Secret only")
	}
	// Another database of the pooler: REPLICA_DB_HOST and _PORT fall
	// back to DB_HOST and DB_PORT.
	s.Database.Replica = &Replica{Name: "mastodon_replica"}
	s.Defaults()
	plain, _ = s.Environment(fixedSecrets)
	if _, set := plain["REPLICA_DB_HOST"]; set || plain["REPLICA_DB_NAME"] != "mastodon_replica" {
		t.Errorf("a replica by name: %v", plain)
	}
	// No replica: no REPLICA_ variable.
	s.Database.Replica = nil
	plain, _ = s.Environment(fixedSecrets)
	for k := range plain {
		if strings.HasPrefix(k, "REPLICA_") {
			t.Errorf("%s without a replica", k)
		}
	}
}

func TestPoolerValidation(t *testing.T) {
	cloudSQL := &CloudSQL{InstanceConnectionName: "my-project:europe-west1:mastodon", WorkloadIdentityServiceAccount: "sa@my-project.iam.gserviceaccount.com"}
	for name, tc := range map[string]struct {
		change func(s *Spec)
		want   []string
	}{
		"valid":                              {func(*Spec) {}, nil},
		"transaction without direct":         {func(s *Spec) { s.Database.Direct = nil }, []string{"database.direct"}},
		"session without direct":             {func(s *Spec) { s.Database.Pooler.Mode, s.Database.Direct = PoolSession, nil }, nil},
		"direct without a pooler is allowed": {func(s *Spec) { s.Database.Pooler = nil }, nil},
		"prepared statements in extra_env": {func(s *Spec) { s.Settings.ExtraEnv = map[string]string{"PREPARED_STATEMENTS": "true"} },
			[]string{"settings.extra_env"}},
		"DATABASE_URL by reference": {func(s *Spec) {
			s.Settings.ExtraSecretEnvRefs = map[string]*SecretRef{"DATABASE_URL": {Name: "db", Key: "url"}}
		}, []string{"settings.extra_secret_env_refs"}},
		"a replica variable": {func(s *Spec) { s.Settings.ExtraSecretEnv = map[string]string{"REPLICA_DB_PASS": "x"} },
			[]string{"settings.extra_secret_env"}},
		"negative client limit": {func(s *Spec) { s.Database.Pooler.MaxClientConnections = -1 }, []string{"database.pooler.max_client_connections"}},
		"Cloud SQL": {func(s *Spec) { s.Database.CloudSQL = cloudSQL },
			[]string{"database.direct", "database.pooler", "database.replica.host"}},
		"a Cloud SQL replica": {func(s *Spec) {
			s.Database.CloudSQL, s.Database.Pooler, s.Database.Direct = cloudSQL, nil, nil
			s.Database.Replica = &Replica{CloudSQLInstance: "my-project:europe-west1:replica"}
		}, nil},
		"a Cloud SQL replica without cloud_sql": {func(s *Spec) {
			s.Database.Replica = &Replica{CloudSQLInstance: "my-project:europe-west1:replica"}
		}, []string{"database.replica.cloud_sql_instance"}},
		"a Cloud SQL replica with a host": {func(s *Spec) {
			s.Database.CloudSQL, s.Database.Pooler, s.Database.Direct = cloudSQL, nil, nil
			s.Database.Replica = &Replica{CloudSQLInstance: "my-project:europe-west1:replica", Host: "10.0.0.9"}
		}, []string{"database.replica.cloud_sql_instance"}},
		"a replica without host":                  {func(s *Spec) { s.Database.Replica = &Replica{} }, []string{"database.replica.host"}},
		"a replica of another name on the pooler": {func(s *Spec) { s.Database.Replica = &Replica{Name: "mastodon_replica"} }, nil},
		"a replica's port without host":           {func(s *Spec) { s.Database.Replica = &Replica{Name: "r", Port: 5433} }, []string{"database.replica.port"}},
	} {
		s := poolerSpec()
		tc.change(s)
		got := errorPaths(s.Validate())
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: errors %v, want %v", name, got, tc.want)
		}
	}
	// Without pooler, direct and replica: PREPARED_STATEMENTS is the
	// core's and REPLICA_DB_HOST database.replica.host's (an adoption maps
	// it), so neither is free-form; a replica variable no adoption maps is
	// accepted with a warning naming the block.
	s := defaultSpec()
	s.Settings.ExtraEnv = map[string]string{"PREPARED_STATEMENTS": "false", "REPLICA_DB_HOST": "r", "REPLICA_DATABASE_URL": "postgres://r/db"}
	errs := s.Validate()
	if len(errs) != 2 || !strings.Contains(errs[0].Message, `"PREPARED_STATEMENTS" is set by database.pooler`) ||
		!strings.Contains(errs[1].Message, `"REPLICA_DB_HOST" is set by database.replica.host`) {
		t.Errorf("features off: %v", errs)
	}
	if w := s.Warnings(); len(w) != 1 || !strings.Contains(w[0].Message, `"REPLICA_DATABASE_URL" belongs to database.replica`) {
		t.Errorf("features off, warnings: %v", w)
	}
}

// Behind a pooler, what web, Sidekiq, streaming and the tootctl Jobs hold
// goes through it, and only the migration reaches the server directly:
// the server's max_connections is not checked (it sees the pooler's own
// pool), the pooler's client limit is when given.
func TestPoolerConnectionsContract(t *testing.T) {
	s := poolerSpec()
	c := s.Connections()
	if c.Direct != migrationConnections || c.Jobs != 22-migrationConnections || c.Pooled() != 10+5+10+20 || c.Total() != 10+5+10+22 {
		t.Errorf("behind a pooler: %+v", c)
	}
	if !strings.HasSuffix(c.String(), ", direct 2)") {
		t.Errorf("%s", c)
	}
	s.WebReplicas, s.MaxThreads = 10, 10
	if ws := warningPaths(s.Warnings()); slices.Contains(ws, "database") || slices.Contains(ws, "database.pooler.max_client_connections") {
		t.Errorf("no client limit given: warnings %v", ws)
	}
	s.Database.Pooler.MaxClientConnections = 100
	if ws := warningPaths(s.Warnings()); !slices.Contains(ws, "database.pooler.max_client_connections") || slices.Contains(ws, "database") {
		t.Errorf("10 web Pods x 2 x 10 through a pooler of 100 clients: warnings %v", ws)
	}
	s.Database.Pooler = nil
	if ws := warningPaths(s.Warnings()); !slices.Contains(ws, "database") {
		t.Errorf("without the pooler, a server of 100: warnings %v", ws)
	}
	if c := s.Connections(); c.Direct != migrationConnections || c.Total() != 10*2*10+5+10+22 {
		t.Errorf("direct without a pooler: %+v", c)
	}
}

// The Cloud SQL Auth Proxy v2 serves every instance named on its command
// line, each on the port of its "?port=" option (MASTODON.md, Cloud SQL):
// the replica's instance on 127.0.0.1:5433 beside the primary's on 5432,
// with the same flags (private IP, IAM authentication, key). The proxy
// encrypts, so the replica's sslmode (the primary's DB_SSLMODE, per
// config/database.yml) is disable, as the primary's.
func TestCloudSQLReplicaContract(t *testing.T) {
	s := cloudSQLSpec(CloudSQL{InstanceConnectionName: "my-project:europe-west1:mastodon", WorkloadIdentityServiceAccount: "sa@my-project.iam.gserviceaccount.com"})
	s.Database.Replica = &Replica{CloudSQLInstance: "my-project:europe-west1:replica"}
	s.Defaults()
	if errs := s.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	plain, _ := s.Environment(fixedSecrets)
	if plain["REPLICA_DB_HOST"] != "127.0.0.1" || plain["REPLICA_DB_PORT"] != "5433" || plain["DB_SSLMODE"] != "disable" {
		t.Errorf("replica through the proxy: %v", plain)
	}
	args := s.cloudSQLSidecar().Args
	if n := len(args); n < 2 || args[n-2] != "my-project:europe-west1:mastodon" || args[n-1] != "my-project:europe-west1:replica?port=5433" {
		t.Errorf("proxy args %v", args)
	}
}
