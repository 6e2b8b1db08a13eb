package mastodon

import (
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/tootform/terraform-provider-mastodon/internal/tests3"
)

func restoreSpec(own bool) *Spec {
	s := defaultSpec()
	s.MediaBucket = &MediaBucket{Bucket: "media", Endpoint: "https://s3.example", AccessKeyID: "media-key", SecretAccessKey: "media-secret"}
	s.Restore = &Restore{Key: "backups/postgresql/social-20261128T022300Z-0123456789abcdef0123456789abcdef.dump"}
	if own {
		s.MediaBucket = nil
		s.Restore = &Restore{Key: "migration/mastodon_production.dump",
			Bucket: &MediaBucket{Bucket: "old-vm", Endpoint: "https://minio.example:9000", Region: "eu-west-1", PathStyle: true, AccessKeyID: "restore-key", SecretAccessKey: "restore-secret"}}
	}
	s.Defaults()
	return s
}

// The restore Job, from the media bucket (where the backup writes) and
// from a bucket of its own (whose settings go to a Secret of the Job's,
// not to the instance's Secret, which every Rails Pod reads).
func TestRestoreGolden(t *testing.T) {
	var objs []Object
	for _, own := range []bool{false, true} {
		s := restoreSpec(own)
		if errs := s.Validate(); len(errs) > 0 {
			t.Fatal(errs)
		}
		for _, o := range s.Render(fixedSecrets, "") {
			if o.Unstructured().GetLabels()[LabelComponent] == ComponentRestore {
				objs = append(objs, o)
			}
		}
		objs = append(objs, s.RestoreJob())
	}
	golden(t, "restore.yaml", renderYAML(t, objs))
}

// What each container of the Job runs, and why (PostgreSQL's
// documentation, https://www.postgresql.org/docs/17/):
//   - check, then restore, run in the embedded database's own image
//     (PostgresImage), whose pg_restore and psql match its server; the
//     download in Mastodon's image, the only one with an S3 client (Ruby
//     and aws-sdk-s3), with the client code the backup's upload uses.
//   - pg_restore (app-pgrestore.html): --single-transaction with
//     --exit-on-error makes a failed restore leave nothing; --no-owner and
//     --no-privileges restore every object as the connecting user
//     (mastodon), without the old host's roles (a docker-compose database
//     usually belongs to postgres) and their GRANTs; --dbname connects
//     to the database and restores into it (without it pg_restore only
//     prints SQL); --no-password never waits for a password prompt.
//     No --clean: the database is empty, the check made sure.
//   - psql (app-psql.html) for plain SQL: --set ON_ERROR_STOP=1 makes
//     an error end it with exit status 3 (by default psql goes on after
//     errors, and exits 0), --single-transaction wraps the file in one
//     transaction, -X skips a ~/.psqlrc.
//   - db:prepare afterwards only migrates: ActiveRecord's
//     DatabaseTasks#initialize_database loads the schema, and prepare_all
//     seeds, only where the schema_migrations table does not exist, and a
//     restored Mastodon database has it (TestRestoreScriptsAgainstPostgreSQL
//     checks the restored database has it).
//   - COMMENT ON DATABASE (sql-comment.html) marks the database as
//     filled by this restore; psql's :"DBNAME" and :'marker' quote an
//     identifier and a literal (variables are not interpolated in
//     --command, hence the here-document).
func TestRestoreJobCommands(t *testing.T) {
	s := restoreSpec(false)
	job := find[batchv1.Job](t, []Object{s.RestoreJob()}, "Job", s.RestoreJobName())
	pod := job.Spec.Template.Spec
	if len(pod.InitContainers) != 2 || pod.InitContainers[0].Name != "check" || pod.InitContainers[1].Name != "download" || pod.Containers[0].Name != "restore" {
		t.Fatalf("the Job checks, downloads, restores, in that order: %v %v", pod.InitContainers, pod.Containers)
	}
	check, download, restore := pod.InitContainers[0], pod.InitContainers[1], pod.Containers[0]
	if check.Image != PostgresImage || restore.Image != PostgresImage || download.Image != s.Image() {
		t.Errorf("images: check %s, download %s, restore %s", check.Image, download.Image, restore.Image)
	}
	for _, want := range []string{
		`pg_restore --no-owner --no-privileges --exit-on-error --single-transaction --no-password --dbname="$PGDATABASE" "$f"`,
		`psql -X --no-password --quiet --set ON_ERROR_STOP=1 --single-transaction --file="$f"`,
		`COMMENT ON DATABASE :"DBNAME" IS :'marker';`,
	} {
		if !strings.Contains(restore.Command[2], want) {
			t.Errorf("the restore script does not run %s", want)
		}
	}
	if strings.Contains(restore.Command[2], "--clean") {
		t.Error("the restore drops objects: it must only ever fill an empty database")
	}
	if !strings.Contains(download.Command[2], `exec bundle exec ruby -e "$RESTORE_DOWNLOAD_SCRIPT"`) ||
		!strings.Contains(restoreDownloadScript, s3ClientScript) || !strings.Contains(backupUploadScript, s3ClientScript) {
		t.Error("the download does not run in Ruby with the S3 client of the backup's upload")
	}
	// The bucket settings come from the instance's ConfigMap and Secret,
	// as Mastodon and the backup read them.
	if len(download.EnvFrom) != 2 || download.EnvFrom[0].ConfigMapRef.Name != s.ConfigMapName() || download.EnvFrom[1].SecretRef.Name != s.SecretName() {
		t.Errorf("download reads %v", download.EnvFrom)
	}
	for _, c := range []corev1.Container{check, download, restore} {
		if c.TerminationMessagePolicy != corev1.TerminationMessageFallbackToLogsOnError {
			t.Errorf("%s: a failure's last log lines must reach the Pod's status", c.Name)
		}
	}
	// Its own bucket: read from its own Secret, which holds the S3
	// variables Mastodon would read, and nothing of the instance's.
	own := restoreSpec(true)
	pod = find[batchv1.Job](t, []Object{own.RestoreJob()}, "Job", own.RestoreJobName()).Spec.Template.Spec
	if from := pod.InitContainers[1].EnvFrom; len(from) != 1 || from[0].SecretRef.Name != own.RestoreSecretName() {
		t.Errorf("download with its own bucket reads %v", from)
	}
	sec := find[corev1.Secret](t, own.Render(fixedSecrets, ""), "Secret", own.RestoreSecretName())
	for k, v := range map[string]string{"S3_BUCKET": "old-vm", "S3_ENDPOINT": "https://minio.example:9000", "S3_REGION": "eu-west-1",
		EnvS3AccessKey: "restore-key", EnvS3SecretKey: "restore-secret"} {
		if string(sec.Data[k]) != v {
			t.Errorf("restore Secret %s = %q, want %q", k, sec.Data[k], v)
		}
	}
	if _, ok := sec.Data["S3_OVERRIDE_PATH_STYLE"]; ok {
		t.Error("path_style = true must leave S3_OVERRIDE_PATH_STYLE out")
	}
	instance := find[corev1.Secret](t, own.Render(fixedSecrets, ""), "Secret", own.SecretName())
	if _, ok := instance.Data[EnvS3SecretKey]; ok {
		t.Error("the restore's credentials reached the instance's Secret")
	}
	// Another dump, another Job: the restore of one dump runs once.
	other := restoreSpec(true)
	other.Restore.Key = "migration/other.dump"
	if other.RestoreJobName() == own.RestoreJobName() || !strings.HasPrefix(own.RestoreJobName(), "social-db-restore-") {
		t.Errorf("Job names %s and %s", own.RestoreJobName(), other.RestoreJobName())
	}
}

func TestRestoreValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(s *Spec)
		want string
	}{
		{"external database", func(s *Spec) { s.Database = &Database{Host: "db", Port: 5432, Name: "m", User: "m", Password: "p"} },
			"restore: restores into the embedded PostgreSQL only"},
		{"no bucket", func(s *Spec) { s.MediaBucket = nil }, "restore.bucket: must be set: without media_bucket"},
		{"own bucket without its secret key", func(s *Spec) {
			s.Restore.Bucket = &MediaBucket{Bucket: "b", Endpoint: "https://s3.example", AccessKeyID: "k"}
		}, "restore.bucket.secret_access_key: must be set (it reaches Pods through the Secret social-db-restore of the restore Job only)"},
		{"own bucket, endpoint not a URL", func(s *Spec) {
			s.Restore.Bucket = &MediaBucket{Bucket: "b", Endpoint: "s3.example", AccessKeyID: "k", SecretAccessKey: "s"}
		}, `restore.bucket.endpoint: "s3.example" must be a URL`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := restoreSpec(false)
			tc.edit(s)
			var got []string
			for _, e := range s.Validate() {
				got = append(got, e.Error())
			}
			if !slices.ContainsFunc(got, func(e string) bool { return strings.HasPrefix(e, tc.want) }) {
				t.Errorf("errors %q, want one starting with %q", got, tc.want)
			}
		})
	}
	for _, bad := range []string{"/dump.sql", "s3://b/dump.sql", "a\nb", strings.Repeat("k", 1025)} {
		if CheckRestoreKey(bad) == nil {
			t.Errorf("key %q accepted", bad)
		}
	}
	for _, good := range []string{"dump.sql", "migration/mastodon production.dump", "backups/postgresql/social-20261128T022300Z-0123456789abcdef0123456789abcdef.dump"} {
		if err := CheckRestoreKey(good); err != nil {
			t.Error(err)
		}
	}
}

// The check and restore scripts, run as rendered (sh, with the Pod's
// environment) against a real PostgreSQL: each form of dump fills an
// empty database with the old host's data, owned by mastodon although
// the old tables belonged to another role; a dump that fails half way
// leaves the database empty (and the next attempt succeeds); a database
// that holds tables is refused, with nothing changed; the database this
// very restore filled is found done, and nothing runs again.
func TestRestoreScriptsAgainstPostgreSQL(t *testing.T) {
	env := localPostgres(t)
	psql(t, env, "postgres", "CREATE ROLE mastodon LOGIN SUPERUSER PASSWORD 'db-password'")
	psql(t, env, "postgres", "CREATE ROLE old_owner LOGIN")
	psql(t, env, "postgres", "CREATE DATABASE old OWNER old_owner")
	oldOwner := append(slices.Clone(env), "PGUSER=old_owner")
	psql(t, oldOwner, "old", "CREATE TABLE schema_migrations (version text PRIMARY KEY); INSERT INTO schema_migrations VALUES ('20250101000000'); "+
		"CREATE TABLE accounts (id bigint PRIMARY KEY, username text NOT NULL); INSERT INTO accounts SELECT i, 'user' || i FROM generate_series(1, 300) i; "+
		"GRANT SELECT ON accounts TO PUBLIC")
	dir := t.TempDir()
	dump := func(args ...string) []byte {
		cmd := exec.Command("pg_dump", append(args, "--dbname=old")...)
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("pg_dump %v: %v", args, err)
		}
		return out
	}
	custom, plain := dump("--format=custom"), dump("--format=plain", "--no-owner", "--no-privileges")
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	_, _ = w.Write(plain)
	_ = w.Close()

	s := restoreSpec(false)
	job := find[batchv1.Job](t, []Object{s.RestoreJob()}, "Job", s.RestoreJobName())
	pod := job.Spec.Template.Spec
	run := func(db, restoreDir string, c corev1.Container) (string, error) {
		vars := map[string]string{}
		for _, e := range c.Env {
			vars[e.Name] = e.Value
		}
		vars["PGHOST"], vars["PGPORT"], vars["PGUSER"], vars["PGPASSWORD"] = strings.TrimPrefix(env[0], "PGHOST="), "54329", "mastodon", "db-password"
		vars["PGDATABASE"], vars["RESTORE_DIR"] = db, restoreDir
		cmd := exec.Command(c.Command[0], c.Command[1:]...)
		cmd.Env = os.Environ()
		for k, v := range vars {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	check, restore := pod.InitContainers[0], pod.Containers[0]
	// attempt runs the Pod's check, then (with the file the download
	// would have written) the restore.
	attempt := func(db string, file []byte) (string, error) {
		d, err := os.MkdirTemp(dir, db+"-")
		if err != nil {
			t.Fatal(err)
		}
		out, err := run(db, d, check)
		if err != nil {
			return out, err
		}
		if _, statErr := os.Stat(filepath.Join(d, "restored")); statErr != nil {
			if err := os.WriteFile(filepath.Join(d, "dump"), file, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		more, err := run(db, d, restore)
		return out + more, err
	}
	restored := func(db string) {
		t.Helper()
		if got := psql(t, env, db, "SELECT count(*) || ' ' || max(username) FROM accounts"); got != "300 user99" {
			t.Errorf("%s: accounts %q", db, got)
		}
		if got := psql(t, env, db, "SELECT count(*) FROM schema_migrations"); got != "1" {
			t.Errorf("%s: schema_migrations holds %s rows: db:prepare would load the schema and seed", db, got)
		}
		if got := psql(t, env, db, "SELECT tableowner FROM pg_tables WHERE tablename = 'accounts'"); got != "mastodon" {
			t.Errorf("%s: accounts belongs to %s, want mastodon (--no-owner)", db, got)
		}
	}
	for i, tc := range []struct {
		form string
		file []byte
		want string
	}{{"custom", custom, "with pg_restore"}, {"plain", plain, "with psql"}, {"gzip", gz.Bytes(), "with psql"}} {
		db := "restore_" + tc.form
		psql(t, env, "postgres", "CREATE DATABASE "+db+" OWNER mastodon")
		out, err := attempt(db, tc.file)
		if err != nil || !strings.Contains(out, tc.want) {
			t.Fatalf("restore of the %s dump: %v\n%s", tc.form, err, out)
		}
		restored(db)
		if i > 0 {
			continue
		}
		// Run again (the Job of an instance created again on its kept
		// data volume): found done, nothing restored twice.
		out, err = attempt(db, custom)
		if err != nil || !strings.Contains(out, "was restored from "+s.Restore.Key+" already: nothing to do") || strings.Contains(out, "pg_restore") {
			t.Errorf("a second run: %v\n%s", err, out)
		}
		restored(db)
		// Another dump into it: refused, nothing changed.
		other := restoreSpec(false)
		other.Restore.Key = "other.dump"
		c := find[batchv1.Job](t, []Object{other.RestoreJob()}, "Job", other.RestoreJobName()).Spec.Template.Spec.InitContainers[0]
		out, err = run(db, t.TempDir(), c)
		if err == nil || !strings.Contains(out, "refusing to restore other.dump: database "+db+" on ") ||
			!strings.Contains(out, "already holds 2 tables, Mastodon's among them (schema_migrations)") {
			t.Errorf("another dump into the restored database: %v\n%s", err, out)
		}
		restored(db)
	}

	// A database db:prepare filled (no marker): refused.
	psql(t, env, "postgres", "CREATE DATABASE prepared OWNER mastodon")
	psql(t, env, "prepared", "CREATE TABLE schema_migrations (version text); CREATE TABLE accounts (id bigint)")
	if out, err := attempt("prepared", custom); err == nil || !strings.Contains(out, "a restore only fills an empty database and never overwrites one") {
		t.Errorf("restore into a prepared database: %v\n%s", err, out)
	}
	if got := psql(t, env, "prepared", "SELECT count(*) FROM accounts"); got != "0" {
		t.Errorf("the prepared database was changed: %s accounts", got)
	}

	// A dump that fails half way leaves the database empty; the next
	// attempt, with a good dump, succeeds.
	psql(t, env, "postgres", "CREATE DATABASE broken OWNER mastodon")
	bad := append(slices.Clone(plain), []byte("\nCREATE TABLE public.half (id int);\nSELECT no_such_function();\n")...)
	if out, err := attempt("broken", bad); err == nil || !strings.Contains(out, "no_such_function") {
		t.Errorf("a broken dump: %v\n%s", err, out)
	}
	if got := psql(t, env, "broken", "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"); got != "0" {
		t.Errorf("a failed restore left %s tables", got)
	}
	if out, err := attempt("broken", custom); err != nil {
		t.Errorf("the attempt after a failed one: %v\n%s", err, out)
	}
	restored("broken")
}

// The download script, run by Ruby with aws-sdk-s3 (Mastodon's image has
// both; here Debian's ruby-aws-sdk-s3, when installed) against MinIO on
// 127.0.0.1, with the restore Secret's variables: the dump lands in
// RESTORE_DIR/dump; a missing key fails naming it.
func TestRestoreDownloadScriptAgainstMinIO(t *testing.T) {
	if err := exec.Command("ruby", "-e", `require "aws-sdk-s3"`).Run(); err != nil {
		t.Skip("needs ruby with the aws-sdk-s3 gem (Debian: ruby-aws-sdk-s3)")
	}
	srv := tests3.MinIO(t)
	ctx := context.Background()
	client := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.Endpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(srv.AccessKey, srv.SecretKey, "")})
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("old-vm")}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("old-vm"), Key: aws.String("migration/mastodon_production.dump"),
		Body: strings.NewReader("PGDMP the dump")}); err != nil {
		t.Fatal(err)
	}
	s := restoreSpec(true)
	s.Restore.Bucket.Endpoint, s.Restore.Bucket.AccessKeyID, s.Restore.Bucket.SecretAccessKey = srv.Endpoint, srv.AccessKey, srv.SecretKey
	sec := find[corev1.Secret](t, s.Render(fixedSecrets, ""), "Secret", s.RestoreSecretName())
	download := func(key string) (string, string, error) {
		dir := t.TempDir()
		cmd := exec.Command("ruby", "-e", restoreDownloadScript)
		cmd.Env = append(os.Environ(), "RESTORE_DIR="+dir, "RESTORE_KEY="+key)
		for k, v := range sec.Data {
			cmd.Env = append(cmd.Env, k+"="+string(v))
		}
		out, err := cmd.CombinedOutput()
		return dir, string(out), err
	}
	dir, out, err := download(s.Restore.Key)
	if err != nil {
		t.Fatalf("download: %v\n%s", err, out)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "dump")); string(got) != "PGDMP the dump" {
		t.Errorf("downloaded %q", got)
	}
	if _, out, err := download("migration/missing.dump"); err == nil || !strings.Contains(out, "cannot download migration/missing.dump from bucket old-vm") ||
		!strings.Contains(out, "NoSuchKey") {
		t.Errorf("a missing key: %v\n%s", err, out)
	}
}
