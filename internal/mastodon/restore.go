package mastodon

import (
	"fmt"
	"strings"
	"unicode"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// ComponentRestore marks the restore Job and the Secret of its bucket.
const ComponentRestore = "db-restore"

// Restore fills the embedded PostgreSQL from a dump in an S3-compatible
// bucket when the database is new (the instance's create, or its move to
// the embedded database), before db:prepare, which then only migrates.
type Restore struct {
	// Key is the dump's key in the bucket: pg_dump's custom format, or
	// plain SQL (gzip-compressed or not); the Job tells them apart by
	// their first bytes.
	Key string
	// Bucket holds the dump; nil: the media bucket (MediaBucket), where
	// the backup writes its dumps.
	Bucket *MediaBucket
}

// restoreDir is where the restore Pod keeps the dump (an emptyDir).
const restoreDir = "/restore"

// RestoreSecretName names the Secret of the restore's own bucket.
func (s *Spec) RestoreSecretName() string { return s.Name + "-db-restore" }

// restoreBucket is the bucket the dump is read from.
func (s *Spec) restoreBucket() *MediaBucket {
	if s.Restore.Bucket != nil {
		return s.Restore.Bucket
	}
	return s.MediaBucket
}

// RestoreSource names the dump: endpoint, bucket and key.
func (s *Spec) RestoreSource() string {
	b := s.restoreBucket()
	if b == nil {
		return s.Restore.Key
	}
	return strings.TrimSuffix(b.Endpoint, "/") + "/" + b.Bucket + "/" + s.Restore.Key
}

// RestoreJobName names the restore Job after the dump and the database it
// fills, so that the restore of one dump into one database runs once.
func (s *Spec) RestoreJobName() string {
	return s.Name + "-db-restore-" + hashOf(s.DatabaseTarget(), s.RestoreSource())[:8]
}

// restoreMarker is the comment the restore leaves on the database
// (COMMENT ON DATABASE; pg_dump writes none without --create, and
// Mastodon sets none): a database that carries it, and the tables that
// came with it, was filled by this very restore, so that a Job run again
// (an instance created again on its kept data volume) finds it done
// instead of refusing.
func (s *Spec) restoreMarker() string {
	return "restored by terraform-provider-mastodon from " + s.RestoreSource()
}

// restoreCheckScript refuses a database that holds any table (Mastodon's
// after a db:prepare, a restore, or a kept data volume of an earlier
// instance): the restore never overwrites data. A database that this very
// restore filled (its comment is $RESTORE_MARKER) is left as it is, and
// the other containers see $RESTORE_DIR/restored and do nothing. It runs
// in the postgres image (busybox sh, psql); libpq reads PGHOST, PGUSER,
// PGDATABASE and PGPASSWORD.
const restoreCheckScript = `set -eu
q() { psql -X --no-password --no-align --tuples-only --set ON_ERROR_STOP=1 --command "$1"; }
comment=$(q "SELECT coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_catalog.pg_database WHERE datname = current_database()")
if [ "$comment" = "$RESTORE_MARKER" ]; then
  echo "database $PGDATABASE was restored from $RESTORE_KEY already: nothing to do"
  touch "$RESTORE_DIR/restored"
  exit 0
fi
tables=$(q "SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')")
if [ "$tables" != 0 ]; then
  mastodon=$(q "SELECT count(*) FROM pg_catalog.pg_tables WHERE tablename = 'schema_migrations'")
  what="$tables tables"
  [ "$mastodon" = 0 ] || what="$tables tables, Mastodon's among them (schema_migrations)"
  echo "refusing to restore $RESTORE_KEY: database $PGDATABASE on $PGHOST already holds $what, from an earlier prepare or restore, or a kept data volume; a restore only fills an empty database and never overwrites one. Remove the restore block to keep these data, or delete the data volume to restore into an empty database" >&2
  exit 1
fi
echo "database $PGDATABASE is empty: restoring $RESTORE_KEY"
`

// restoreDownloadScript downloads the dump from the bucket
// (s3ClientScript, as the backup uploads it) to $RESTORE_DIR/dump; the
// file gets its name only once complete. Ruby with the aws-sdk-s3 gem, as
// Mastodon's image has them (Gemfile.lock).
const restoreDownloadScript = `require "aws-sdk-s3"
dir, key, bucket = ENV.fetch("RESTORE_DIR"), ENV.fetch("RESTORE_KEY"), ENV.fetch("S3_BUCKET")
exit if File.exist?(File.join(dir, "restored"))
` + s3ClientScript + `file = File.join(dir, "dump")
begin
  s3.get_object(bucket: bucket, key: key, response_target: "#{file}.partial")
rescue Aws::S3::Errors::ServiceError => e
  abort "cannot download #{key} from bucket #{bucket} at #{ENV.fetch("S3_ENDPOINT")}: #{e.class.name.split("::").last}: #{e.message}"
end
File.rename("#{file}.partial", file)
puts "downloaded #{key} (#{File.size(file)} bytes)"
`

// restoreScript restores the dump by its first bytes: "PGDMP" starts
// pg_dump's custom format, which pg_restore reads; anything else is plain
// SQL, which psql runs (gzip-compressed, it starts with 1f 8b and is
// uncompressed first). Each runs in one transaction and stops at the first
// error, so a failed restore leaves the database empty, and the next
// attempt starts over. Then the database gets the marker
// (restoreCheckScript). It runs in the postgres image (busybox sh).
const restoreScript = `set -eu
if [ -e "$RESTORE_DIR/restored" ]; then exit 0; fi
f="$RESTORE_DIR/dump"
if [ "$(head -c 2 "$f" | od -An -tx1 | tr -d ' \n')" = 1f8b ]; then
  gzip -dc "$f" > "$f.sql"
  rm -f "$f"
  f="$f.sql"
fi
if [ "$(head -c 5 "$f")" = PGDMP ]; then
  echo "restoring $RESTORE_KEY with pg_restore (pg_dump's custom format)"
  pg_restore --no-owner --no-privileges --exit-on-error --single-transaction --no-password --dbname="$PGDATABASE" "$f"
else
  echo "restoring $RESTORE_KEY with psql (plain SQL)"
  psql -X --no-password --quiet --set ON_ERROR_STOP=1 --single-transaction --file="$f"
fi
psql -X --no-password --quiet --set ON_ERROR_STOP=1 --set marker="$RESTORE_MARKER" <<'SQL'
COMMENT ON DATABASE :"DBNAME" IS :'marker';
SQL
echo "restored $RESTORE_KEY into $PGDATABASE"
`

// restoreFeature fills a new embedded database from a dump (Spec.Restore).
// Its Job is rendered apart (RestoreJob), as the prepare Job is.
type restoreFeature struct{ noFeature }

func (restoreFeature) validate(s *Spec, e *fieldErrors) {
	r := s.Restore
	if r == nil {
		return
	}
	if s.Database != nil {
		e.add("restore", "restores into the embedded PostgreSQL only, and this instance uses an external database (database): "+
			"restore the dump there with that database's own tools (pg_restore, psql), then create the instance on it. Remove the restore block")
		e.related("database")
	}
	if r.Bucket != nil {
		r.Bucket.validate("restore.bucket", "the Secret "+s.RestoreSecretName()+" of the restore Job only", false, e)
	} else if s.MediaBucket == nil {
		e.add("restore.bucket", "must be set: without media_bucket, name the bucket that holds the dump")
		e.related("media_bucket")
	}
}

// objects: the Secret of the restore's own bucket, with the instance's.
func (restoreFeature) objects(s *Spec, at stage) []Object {
	r := s.Restore
	if at != afterSecrets || r == nil || r.Bucket == nil {
		return nil
	}
	plain, secret := map[string]string{}, map[string]string{}
	r.Bucket.env(plain, secret)
	for k, v := range plain {
		secret[k] = v
	}
	return []Object{NewObject(&corev1.Secret{
		TypeMeta:   typeMeta("v1", "Secret"),
		ObjectMeta: s.meta(s.RestoreSecretName(), ComponentRestore),
		Type:       corev1.SecretTypeOpaque,
		Data:       bytesMap(secret),
	})}
}

// CheckRestoreKey checks restore.key, an object key.
func CheckRestoreKey(v string) error {
	if strings.HasPrefix(v, "/") || strings.HasPrefix(v, "s3://") || strings.ContainsFunc(v, unicode.IsControl) || len(v) > 1024 {
		return fmt.Errorf("%q must be the dump's key in the bucket (such as %q): no leading '/' or s3://, no control characters, at most 1024 bytes",
			v, "migration/mastodon_production.dump")
	}
	return nil
}

// RestoreJob is the Job that restores the dump into the embedded
// database: a check that the database is empty (postgres image), the
// download (Mastodon's image: Ruby and aws-sdk-s3, as the backup's
// upload), then pg_restore or psql (postgres image), sharing an emptyDir.
// Each container's last log lines become its termination message, so a
// failure's reason shows in the Pod's status, and in our diagnostics.
func (s *Spec) RestoreJob() Object {
	r := s.Restore
	pg := []corev1.EnvVar{
		{Name: "PGHOST", Value: s.DatabaseName()},
		{Name: "PGPORT", Value: "5432"},
		{Name: "PGUSER", Value: "mastodon"},
		{Name: "PGDATABASE", Value: "mastodon_production"},
		secretEnv("PGPASSWORD", s.SecretName(), EnvDBPassword),
	}
	restore := []corev1.EnvVar{
		{Name: "RESTORE_DIR", Value: restoreDir},
		{Name: "RESTORE_KEY", Value: r.Key},
	}
	marker := corev1.EnvVar{Name: "RESTORE_MARKER", Value: s.restoreMarker()}
	mount := []corev1.VolumeMount{{Name: "restore", MountPath: restoreDir}}
	container := func(name, image string, env []corev1.EnvVar, script string) corev1.Container {
		return corev1.Container{Name: name, Image: image, Env: env, Command: []string{"/bin/sh", "-c", script}, Resources: s.jobResources().requirements(),
			VolumeMounts: mount, SecurityContext: containerSecurity(), TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError}
	}
	envFrom := s.envFrom()
	if r.Bucket != nil {
		envFrom = []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: s.RestoreSecretName()}}}}
	}
	download := container("download", s.Image(), append(append([]corev1.EnvVar{}, restore...),
		corev1.EnvVar{Name: "RESTORE_DOWNLOAD_SCRIPT", Value: restoreDownloadScript}),
		"cd /opt/mastodon\nexec bundle exec ruby -e \"$RESTORE_DOWNLOAD_SCRIPT\"\n")
	download.ImagePullPolicy = corev1.PullPolicy(s.PullPolicy)
	download.EnvFrom = envFrom
	// The bucket's key by reference: the restore bucket's, or the
	// instance's (secretRefsFeature).
	if b := r.Bucket; b != nil && b.SecretAccessKeyRef != nil {
		download.Env = append(download.Env, secretEnv(EnvS3SecretKey, b.SecretAccessKeyRef.Name, b.SecretAccessKeyRef.Key))
	} else if b == nil {
		download.Env = append(download.Env, refEnv(s.EnvRefs())...)
	}
	pgEnv := append(append(append([]corev1.EnvVar{}, pg...), restore...), marker)
	job := &batchv1.Job{
		TypeMeta:   typeMeta("batch/v1", "Job"),
		ObjectMeta: s.meta(s.RestoreJobName(), ComponentRestore),
		Spec: batchv1.JobSpec{
			BackoffLimit: ptr.To[int32](1),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: s.templateLabels(ComponentRestore)},
				Spec: corev1.PodSpec{
					ServiceAccountName:           s.serviceAccountName(),
					AutomountServiceAccountToken: ptr.To(false),
					SecurityContext:              s.podSecurity(),
					ImagePullSecrets:             s.pullSecrets(),
					RestartPolicy:                corev1.RestartPolicyNever,
					InitContainers:               []corev1.Container{container("check", PostgresImage, pgEnv, restoreCheckScript), download},
					Containers:                   []corev1.Container{container("restore", PostgresImage, pgEnv, restoreScript)},
					Volumes:                      []corev1.Volume{{Name: "restore", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
				},
			},
		},
	}
	s.withJobSettings(&job.Spec.Template, ComponentRestore)
	return NewObject(job)
}
