package mastodon

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"
)

// ComponentBackup marks the backup CronJob and its volume.
const ComponentBackup = "backup"

// Backup defaults.
const (
	DefaultBackupSchedule = "23 2 * * *"
	DefaultBackupKeep     = 7
	DefaultBackupPrefix   = "backups/postgresql"
	DefaultBackupSize     = "10Gi"
)

// Backup is a scheduled pg_dump of the embedded PostgreSQL: to the media
// bucket under Prefix when the instance has one, else to a volume of its
// own; the newest Keep dumps are kept.
type Backup struct {
	Schedule     string
	Keep         int32
	Prefix       string
	StorageSize  string
	StorageClass string
}

// BackupName names the backup CronJob and its volume.
func (s *Spec) BackupName() string { return s.Name + "-db-backup" }

// Where the backup Pod keeps the dump: the volume (no bucket) or an
// emptyDir that the upload reads.
const backupDir = "/backup"

// backupDumpScript dumps the database (libpq reads PGHOST, PGUSER,
// PGDATABASE and PGPASSWORD) in pg_dump's custom format, which pg_restore
// reads, to $BACKUP_DIR/$BACKUP_NAME-<UTC time>.dump; the file gets its
// name only once complete. It runs in the postgres image (busybox sh).
const backupDumpScript = `set -eu
f="$BACKUP_DIR/$BACKUP_NAME-$(date -u +%Y%m%dT%H%M%SZ).dump"
pg_dump --format=custom --no-password --file="$f.partial"
mv "$f.partial" "$f"
echo "dumped $(basename "$f") ($(wc -c < "$f") bytes)"
`

// backupPruneScript keeps the newest $BACKUP_KEEP dumps of the volume
// (names sort by time) and drops unfinished ones.
const backupPruneScript = `rm -f "$BACKUP_DIR"/*.partial
ls -1 "$BACKUP_DIR" | grep -E "^$BACKUP_NAME-[0-9]{8}T[0-9]{6}Z\.dump$" | sort -r | tail -n +$((BACKUP_KEEP + 1)) | while read -r old; do
  rm -f "$BACKUP_DIR/$old"
  echo "removed $old"
done
`

// s3ClientScript makes s3, a client of the bucket that S3_* and AWS_*
// name, with the settings Mastodon's own S3 client uses
// (config/initializers/paperclip.rb: S3_ENDPOINT, S3_REGION, path style
// unless S3_OVERRIDE_PATH_STYLE=true, credentials from AWS_ACCESS_KEY_ID
// and AWS_SECRET_ACCESS_KEY). The backup's upload and the restore's
// download share it.
const s3ClientScript = `opts = { region: ENV.fetch("S3_REGION", "us-east-1"), endpoint: ENV.fetch("S3_ENDPOINT"), force_path_style: ENV["S3_OVERRIDE_PATH_STYLE"] != "true" }
s3 = begin
  # aws-sdk-s3 1.178 and later add checksums to every upload, which some
  # S3-compatible stores refuse; earlier versions know no such option.
  Aws::S3::Client.new(**opts, request_checksum_calculation: "when_required", response_checksum_validation: "when_required")
rescue ArgumentError
  Aws::S3::Client.new(**opts)
end
`

// backupUploadScript uploads the dump to the media bucket under
// $BACKUP_PREFIX (s3ClientScript), and keeps the newest $BACKUP_KEEP dumps
// there. Each key carries 128 random bits: a bucket whose objects are
// public (Mastodon's media are) does not serve a dump to whoever guesses a
// date. Objects are written without an ACL (private). Ruby with the
// aws-sdk-s3 gem, as Mastodon's image has them (Gemfile.lock).
const backupUploadScript = `require "aws-sdk-s3"
require "securerandom"
dir, name, prefix = ENV.fetch("BACKUP_DIR"), ENV.fetch("BACKUP_NAME"), ENV.fetch("BACKUP_PREFIX")
keep = Integer(ENV.fetch("BACKUP_KEEP"))
dump = /\A#{Regexp.escape(name)}-\d{8}T\d{6}Z(-[0-9a-f]{32})?\.dump\z/
files = Dir.children(dir).grep(dump).sort
abort "no dump in #{dir}" if files.empty?
` + s3ClientScript + `bucket = Aws::S3::Resource.new(client: s3).bucket(ENV.fetch("S3_BUCKET"))
files.each do |f|
  key = "#{prefix}/#{f.delete_suffix(".dump")}-#{SecureRandom.hex(16)}.dump"
  bucket.object(key).upload_file(File.join(dir, f))
  puts "uploaded #{key}"
end
keys = bucket.objects(prefix: "#{prefix}/").map(&:key).select { |k| k.delete_prefix("#{prefix}/").match?(dump) }
keys.sort.reverse.drop(keep).each do |k|
  bucket.object(k).delete
  puts "removed #{k}"
end
`

var prefixRe = regexp.MustCompile(`^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+){0,3}$`)

// backupFeature dumps the embedded PostgreSQL on a schedule (Spec.Backup).
type backupFeature struct{ noFeature }

func (backupFeature) defaults(s *Spec) {
	if s.Backup != nil {
		s.Backup.defaults()
	}
}

func (backupFeature) validate(s *Spec, e *fieldErrors) { s.validateBackup(e) }

func (backupFeature) objects(s *Spec, at stage) []Object {
	if at != afterWorkloads {
		return nil
	}
	return s.renderBackup()
}

// connections: pg_dump holds one.
func (backupFeature) connections(s *Spec) int32 {
	if s.Backup != nil {
		return 1
	}
	return 0
}

// volumes: the dumps' volume, without a bucket.
func (backupFeature) volumes(s *Spec) []Volume {
	if b := s.Backup; b != nil && s.Database == nil && s.MediaBucket == nil {
		return []Volume{{Claim: s.BackupName(), Component: ComponentBackup, Block: "backup",
			StorageClass: b.StorageClass, StorageSize: b.StorageSize}}
	}
	return nil
}

func (b *Backup) defaults() {
	setDefault(&b.Schedule, DefaultBackupSchedule)
	setDefault(&b.Prefix, DefaultBackupPrefix)
	setDefault(&b.StorageSize, DefaultBackupSize)
	if b.Keep == 0 {
		b.Keep = DefaultBackupKeep
	}
	b.Prefix = strings.Trim(b.Prefix, "/")
}

func (s *Spec) validateBackup(e *fieldErrors) {
	b := s.Backup
	if b == nil {
		return
	}
	if d := s.Database; d != nil {
		what := "an external PostgreSQL (database)"
		if d.CloudSQL != nil {
			what = "Cloud SQL (database.cloud_sql)"
		}
		e.add("backup", "backs up the embedded PostgreSQL only, and this instance uses %s: use that database's own backups "+
			"(Cloud SQL's automated backups and point-in-time recovery, your provider's snapshots or pg_dump schedule). Remove the backup block", what)
		// database.cloud_sql names the database block too: it lies inside it.
		e.related("database.cloud_sql")
	}
}

// CheckBackupPrefix checks backup.prefix, without the slashes around it
// (Defaults trims them).
func CheckBackupPrefix(v string) error {
	p := strings.Trim(v, "/")
	if p != "" && (!prefixRe.MatchString(p) || strings.Contains("/"+p+"/", "/../") || strings.Contains("/"+p+"/", "/./")) {
		// At most 4 parts, so a dump's key never has the 7 or 10 parts of
		// a media file's, which tootctl media remove-orphans would judge.
		return fmt.Errorf("%q must be one to four path segments of letters, digits, '.', '_' and '-' separated by '/', such as %q", p, DefaultBackupPrefix)
	}
	return nil
}

// renderBackup renders the backup volume (without a bucket) and CronJob.
// The dump runs in the postgres image, which has pg_dump; the upload to
// the bucket in Mastodon's, which has Ruby and aws-sdk-s3 but no pg_dump:
// an init container dumps into an emptyDir that the upload then reads.
func (s *Spec) renderBackup() []Object {
	b := s.Backup
	if b == nil || s.Database != nil {
		return nil
	}
	env := []corev1.EnvVar{
		{Name: "BACKUP_DIR", Value: backupDir},
		{Name: "BACKUP_NAME", Value: s.Name},
		{Name: "BACKUP_KEEP", Value: strconv.Itoa(int(b.Keep))},
	}
	dump := corev1.Container{
		Name:  "pg-dump",
		Image: PostgresImage,
		Env: append([]corev1.EnvVar{
			{Name: "PGHOST", Value: s.DatabaseName()},
			{Name: "PGPORT", Value: "5432"},
			{Name: "PGUSER", Value: "mastodon"},
			{Name: "PGDATABASE", Value: "mastodon_production"},
			secretEnv("PGPASSWORD", s.SecretName(), EnvDBPassword),
		}, env...),
		Command:         []string{"/bin/sh", "-c"},
		Resources:       s.jobResources().requirements(),
		SecurityContext: containerSecurity(),
		VolumeMounts:    []corev1.VolumeMount{{Name: "backup", MountPath: backupDir}},
	}
	var out []Object
	var job batchv1.JobSpec
	if s.MediaBucket == nil {
		out = append(out, NewObject(&corev1.PersistentVolumeClaim{
			TypeMeta:   typeMeta("v1", "PersistentVolumeClaim"),
			ObjectMeta: s.meta(s.BackupName(), ComponentBackup),
			Spec: corev1.PersistentVolumeClaimSpec{
				AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				StorageClassName: optional(b.StorageClass),
				Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(b.StorageSize)}},
			},
		}))
		dump.Args = []string{backupDumpScript + backupPruneScript}
		job = batchv1.JobSpec{
			BackoffLimit: ptr.To[int32](1),
			Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				ServiceAccountName:           s.serviceAccountName(),
				AutomountServiceAccountToken: ptr.To(false),
				SecurityContext:              s.podSecurity(),
				ImagePullSecrets:             s.pullSecrets(),
				RestartPolicy:                corev1.RestartPolicyNever,
				Containers:                   []corev1.Container{dump},
				Volumes: []corev1.Volume{{Name: "backup", VolumeSource: corev1.VolumeSource{
					PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: s.BackupName()}}}},
			}},
		}
	} else {
		dump.Args = []string{backupDumpScript}
		upload := append(slices.Clone(env), corev1.EnvVar{Name: "BACKUP_PREFIX", Value: b.Prefix}, corev1.EnvVar{Name: "BACKUP_UPLOAD_SCRIPT", Value: backupUploadScript})
		job = webPodJobSpec(s.railsPod("web", nil, s.jobResources()), "upload", upload,
			"cd /opt/mastodon\nexec bundle exec ruby -e \"$BACKUP_UPLOAD_SCRIPT\"\n", nil, 1)
		pod := &job.Template.Spec
		pod.InitContainers = append([]corev1.Container{dump}, pod.InitContainers...)
		pod.Volumes = append(pod.Volumes, corev1.Volume{Name: "backup", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
		pod.Containers[0].VolumeMounts = append(pod.Containers[0].VolumeMounts, corev1.VolumeMount{Name: "backup", MountPath: backupDir, ReadOnly: true})
	}
	return append(out, s.cronJob(s.BackupName(), ComponentBackup, ComponentBackup, b.Schedule, job))
}
