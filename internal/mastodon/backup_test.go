package mastodon

import (
	"context"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	batchv1 "k8s.io/api/batch/v1"

	"sigs.k8s.io/yaml"

	"github.com/tootform/terraform-provider-mastodon/internal/tests3"
)

// RestoreCommand is the restore command of the guide
// (templates/guides/backup-restore.md.tmpl), run in the postgres image
// against the fresh instance's database, which db:prepare already filled:
// --clean --if-exists drops each object of the dump before creating it.
const RestoreCommand = `pg_restore --clean --if-exists --no-owner --no-privileges --exit-on-error --single-transaction --dbname="$PGDATABASE" "$DUMP"`

func TestRestoreCommandInGuide(t *testing.T) {
	guide, err := os.ReadFile("../../templates/guides/backup-restore.md.tmpl")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(guide), RestoreCommand) {
		t.Errorf("the guide does not give the tested restore command %s", RestoreCommand)
	}
	// The guide's Job runs that command, in the embedded database's image,
	// with the database's Service, user and password.
	m := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindStringSubmatch(string(guide))
	if m == nil {
		t.Fatal("no Job manifest in the guide")
	}
	var job batchv1.Job
	if err := yaml.UnmarshalStrict([]byte(m[1]), &job); err != nil {
		t.Fatalf("the guide's Job: %v", err)
	}
	c := job.Spec.Template.Spec.Containers[0]
	if c.Image != PostgresImage || len(c.Command) != 3 || c.Command[2] != RestoreCommand {
		t.Errorf("the guide's Job runs %v in %s", c.Command, c.Image)
	}
	s := defaultSpec()
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
		if e.ValueFrom != nil {
			env[e.Name] = e.ValueFrom.SecretKeyRef.Name + "/" + e.ValueFrom.SecretKeyRef.Key
		}
	}
	if env["PGHOST"] != s.DatabaseName() || env["PGUSER"] != "mastodon" || env["PGDATABASE"] != "mastodon_production" || env["PGPASSWORD"] != s.SecretName()+"/"+EnvDBPassword {
		t.Errorf("the guide's Job reaches the database with %v", env)
	}
}

// localPostgres starts a PostgreSQL of this machine on a Unix socket only
// (no TCP), as the postgres user when the test runs as root, and returns
// the environment that reaches it as superuser.
func localPostgres(t *testing.T) []string {
	t.Helper()
	for _, b := range []string{"initdb", "pg_ctl", "pg_dump", "pg_restore", "psql"} {
		if _, err := exec.LookPath(b); err != nil {
			t.Skipf("needs PostgreSQL's %s on PATH", b)
		}
	}
	dir, err := os.MkdirTemp("", "pgbackup")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	var attr *syscall.SysProcAttr
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Skip("running as root needs a postgres user to run the server as")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		attr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	server := func(args ...string) {
		t.Helper()
		cmd := exec.Command(args[0], args[1:]...)
		cmd.SysProcAttr = attr
		cmd.Env = append(os.Environ(), "LC_ALL=C")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	data := filepath.Join(dir, "data")
	server("initdb", "--auth=trust", "--username=postgres", "--encoding=UTF8", "-D", data)
	server("pg_ctl", "-D", data, "-l", filepath.Join(dir, "log"), "-w", "-o", "-c listen_addresses= -k "+dir+" -p 54329", "start")
	t.Cleanup(func() {
		cmd := exec.Command("pg_ctl", "-D", data, "-m", "immediate", "stop")
		cmd.SysProcAttr = attr
		_ = cmd.Run()
	})
	return []string{"PGHOST=" + dir, "PGPORT=54329", "PGUSER=postgres", "PGDATABASE=postgres"}
}

func psql(t *testing.T, env []string, db, sql string) string {
	t.Helper()
	cmd := exec.Command("psql", "-X", "-v", "ON_ERROR_STOP=1", "-tA", "-d", db, "-c", sql)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("psql %s: %v\n%s", sql, err, out)
	}
	return strings.TrimSpace(string(out))
}

// The dump and prune scripts of the backup volume, run as rendered (sh,
// with the Pod's environment) against a real PostgreSQL, and the guide's
// restore command restoring their dump into a database that db:prepare
// would have filled: the flags work, and the newest BACKUP_KEEP dumps stay.
func TestBackupScriptsDumpPruneAndRestore(t *testing.T) {
	env := localPostgres(t)
	psql(t, env, "postgres", "CREATE ROLE mastodon LOGIN PASSWORD 'db-password'")
	psql(t, env, "postgres", "CREATE DATABASE mastodon_production OWNER mastodon")
	psql(t, env, "postgres", "CREATE DATABASE restored OWNER mastodon")
	owner := append(slices.Clone(env), "PGUSER=mastodon")
	psql(t, owner, "mastodon_production", "CREATE TABLE accounts (id bigint PRIMARY KEY, username text NOT NULL); "+
		"INSERT INTO accounts SELECT i, 'user' || i FROM generate_series(1, 500) i; CREATE INDEX ON accounts (username)")
	psql(t, owner, "restored", "CREATE TABLE accounts (id bigint PRIMARY KEY, username text); INSERT INTO accounts VALUES (1, 'fresh-owner'); "+
		"CREATE TABLE schema_migrations (version text)")

	// The Pod's environment: the rendered container's, PGHOST and the
	// directory pointing here.
	s := defaultSpec()
	s.Backup = &Backup{Keep: 2}
	s.Defaults()
	cj := find[batchv1.CronJob](t, s.Render(fixedSecrets, ""), "CronJob", "social-db-backup")
	c := cj.Spec.JobTemplate.Spec.Template.Spec.Containers[0]
	dir := t.TempDir()
	podEnv := map[string]string{}
	for _, e := range c.Env {
		podEnv[e.Name] = e.Value
	}
	podEnv["PGHOST"], podEnv["PGPORT"], podEnv["PGPASSWORD"], podEnv["BACKUP_DIR"] = strings.TrimPrefix(env[0], "PGHOST="), "54329", "db-password", dir
	var runEnv []string
	for k, v := range podEnv {
		runEnv = append(runEnv, k+"="+v)
	}
	for _, f := range []string{"social-20200101T000000Z.dump", "social-20210101T000000Z.dump", "social-20220101T000000Z.dump",
		"social-20230101T000000Z.dump.partial", "other-20190101T000000Z.dump", "notes.txt"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("old"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("/bin/sh", "-c", c.Args[0])
	cmd.Env = append(os.Environ(), runEnv...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the backup script failed: %v\n%s", err, out)
	}
	t.Logf("backup script:\n%s", out)
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if len(names) != 4 || names[0] != "notes.txt" || names[1] != "other-20190101T000000Z.dump" || names[2] != "social-20220101T000000Z.dump" ||
		!regexp.MustCompile(`^social-\d{8}T\d{6}Z\.dump$`).MatchString(names[3]) {
		t.Fatalf("after the backup with keep 2, the volume holds %v; want the new dump, the newest old one and the files that are not this instance's dumps", names)
	}

	restore := exec.Command("/bin/sh", "-c", RestoreCommand)
	restore.Env = append(os.Environ(), append(owner, "PGDATABASE=restored", "DUMP="+filepath.Join(dir, names[3]))...)
	if out, err := restore.CombinedOutput(); err != nil {
		t.Fatalf("the guide's restore command failed: %v\n%s", err, out)
	}
	if got := psql(t, owner, "restored", "SELECT count(*) || ' ' || max(username) FROM accounts WHERE username LIKE 'user%'"); got != "500 user99" {
		t.Errorf("restored accounts: %q", got)
	}
	if got := psql(t, owner, "restored", "SELECT count(*) FROM accounts WHERE username = 'fresh-owner'"); got != "0" {
		t.Errorf("the fresh database's rows survived the restore: %s", got)
	}
}

// The upload script, run by Ruby with the aws-sdk-s3 gem (Mastodon's image
// has both; here Debian's ruby-aws-sdk-s3, when installed) against MinIO on
// 127.0.0.1: the dump lands under the prefix with a random part, the
// newest BACKUP_KEEP dumps stay, other objects are untouched.
func TestBackupUploadScriptAgainstMinIO(t *testing.T) {
	if err := exec.Command("ruby", "-e", `require "aws-sdk-s3"`).Run(); err != nil {
		t.Skip("needs ruby with the aws-sdk-s3 gem (Debian: ruby-aws-sdk-s3)")
	}
	srv := tests3.MinIO(t)
	ctx := context.Background()
	client := s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.Endpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(srv.AccessKey, srv.SecretKey, "")})
	bucket := "media"
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	put := func(key string) {
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader("x")}); err != nil {
			t.Fatal(err)
		}
	}
	old := []string{"backups/postgresql/social-20200101T000000Z-0123456789abcdef0123456789abcdef.dump",
		"backups/postgresql/social-20210101T000000Z-0123456789abcdef0123456789abcdef.dump",
		"backups/postgresql/social-20220101T000000Z-0123456789abcdef0123456789abcdef.dump"}
	others := []string{"backups/postgresql/other-20190101T000000Z.dump", "backups/postgresql/notes.txt",
		"media_attachments/files/000/000/001/original/a.png"}
	for _, k := range append(slices.Clone(old), others...) {
		put(k)
	}

	s := defaultSpec()
	s.MediaBucket = &MediaBucket{Bucket: bucket, Endpoint: srv.Endpoint, PathStyle: true, AccessKeyID: srv.AccessKey, SecretAccessKey: srv.SecretKey}
	s.Backup = &Backup{Keep: 2}
	s.Defaults()
	cj := find[batchv1.CronJob](t, s.Render(fixedSecrets, ""), "CronJob", "social-db-backup")
	c := cj.Spec.JobTemplate.Spec.Template.Spec.Containers[0]
	plain, secret := s.Environment(fixedSecrets)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "social-20261128T022300Z.dump"), []byte("PGDMP new dump"), 0o644); err != nil {
		t.Fatal(err)
	}
	var env []string
	for _, m := range []map[string]string{plain, secret} {
		for k, v := range m {
			env = append(env, k+"="+v)
		}
	}
	var script string
	for _, e := range c.Env {
		if e.Name == "BACKUP_UPLOAD_SCRIPT" {
			script = e.Value
		} else {
			env = append(env, e.Name+"="+e.Value)
		}
	}
	cmd := exec.Command("ruby", "-e", script)
	cmd.Env = append(append(os.Environ(), env...), "BACKUP_DIR="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the upload script failed: %v\n%s", err, out)
	}
	t.Logf("upload script:\n%s", out)
	list, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range list.Contents {
		keys = append(keys, *o.Key)
	}
	var dumps []string
	for _, k := range keys {
		if strings.HasPrefix(k, "backups/postgresql/social-") {
			dumps = append(dumps, k)
		}
	}
	if len(dumps) != 2 || dumps[0] != old[2] || !regexp.MustCompile(`^backups/postgresql/social-20261128T022300Z-[0-9a-f]{32}\.dump$`).MatchString(dumps[1]) {
		t.Errorf("dumps in the bucket after an upload with keep 2: %v", dumps)
	}
	for _, k := range others {
		if !slices.Contains(keys, k) {
			t.Errorf("%s was removed", k)
		}
	}
}
