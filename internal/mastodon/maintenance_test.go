package mastodon

import (
	"slices"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/ptr"
)

func cronJobs(objs []Object) map[string]*batchv1.CronJob {
	out := map[string]*batchv1.CronJob{}
	for _, o := range objs {
		if o.Kind == "CronJob" {
			out[o.Name] = nil
		}
	}
	return out
}

// Contract: the tootctl command lines of the maintenance tasks, as
// Mastodon's CLI defines them (lib/mastodon/cli/media.rb: `remove` with
// --days (default 7) and --prune-profiles, `remove-orphans`;
// preview_cards.rb: `remove` with --days (default 180); statuses.rb:
// `remove` with --days (default 90); accounts.rb: `prune`, `cull` (a HEAD
// request per remote account, deleting those answered 404 or 410, at
// --concurrency 5) and `refresh` (--all: every remote account's avatar
// and header fetched again; read at v4.6.5)), and which are
// on by default: the ones that remove only cached copies or unreferenced
// files; the ones deleting posts or accounts are off. Source: glitch-soc's
// copy of Mastodon, main at 4.7.0-alpha and stable-4.6; the documentation's
// admin/tootctl.md.
func TestMaintenanceCommandsContract(t *testing.T) {
	s := defaultSpec()
	for name, task := range s.Maintenance.Tasks {
		on := true
		task.Enabled = &on
		s.Maintenance.Tasks[name] = task
	}
	objs := s.Render(fixedSecrets, "")
	want := map[string]struct {
		command string
		on      bool
	}{
		"social-mt-media":    {"exec bin/tootctl media remove --days 30", true},
		"social-mt-cards":    {"exec bin/tootctl preview_cards remove --days 180", true},
		"social-mt-profiles": {"exec bin/tootctl media remove --prune-profiles --days 30", false},
		"social-mt-orphans":  {"exec bin/tootctl media remove-orphans", true},
		"social-mt-statuses": {"exec bin/tootctl statuses remove --days 90", false},
		"social-mt-accounts": {"exec bin/tootctl accounts prune", false},
		"social-mt-cull":     {"exec bin/tootctl accounts cull", false},
		"social-mt-refresh":  {"exec bin/tootctl accounts refresh --all", false},
	}
	defaults := cronJobs(defaultSpec().Render(fixedSecrets, ""))
	for name, w := range want {
		cj := find[batchv1.CronJob](t, objs, "CronJob", name)
		c := cj.Spec.JobTemplate.Spec.Template.Spec.Containers[0]
		if c.Image != s.Image() || len(c.Command) != 3 || c.Command[2] != "cd /opt/mastodon\n"+w.command+"\n" {
			t.Errorf("%s runs %q in %s", name, c.Command, c.Image)
		}
		if _, on := defaults[name]; on != w.on {
			t.Errorf("%s: on by default %v, want %v", name, on, w.on)
		}
	}
	if len(cronJobs(objs)) != len(want) {
		t.Errorf("rendered CronJobs %v", cronJobs(objs))
	}
}

// Every CronJob runs one Job at a time, starts late by an hour at most,
// keeps its last Jobs, and has a name the CronJob controller accepts for
// the longest instance name (52 characters: it appends 11 to name Jobs).
func TestMaintenanceCronJobs(t *testing.T) {
	s := defaultSpec()
	s.Name = strings.Repeat("a", 40)
	s.Backup = &Backup{}
	for name, task := range s.Maintenance.Tasks {
		task.Enabled = ptr.To(true)
		s.Maintenance.Tasks[name] = task
	}
	s.Defaults()
	objs := s.Render(fixedSecrets, "")
	n := 0
	for _, o := range objs {
		if o.Kind != "CronJob" {
			continue
		}
		n++
		if len(o.Name) > 52 || len(validation.IsDNS1123Subdomain(o.Name)) > 0 {
			t.Errorf("CronJob name %q is longer than 52 characters or invalid", o.Name)
		}
		cj := find[batchv1.CronJob](t, objs, "CronJob", o.Name)
		sp := cj.Spec
		if sp.ConcurrencyPolicy != batchv1.ForbidConcurrent || ptr.Deref(sp.StartingDeadlineSeconds, 0) != 3600 ||
			ptr.Deref(sp.SuccessfulJobsHistoryLimit, -1) != 1 || ptr.Deref(sp.FailedJobsHistoryLimit, -1) != 1 ||
			sp.JobTemplate.Spec.TTLSecondsAfterFinished != nil || ptr.Deref(sp.JobTemplate.Spec.ActiveDeadlineSeconds, 0) != 86400 {
			t.Errorf("%s: %+v", o.Name, sp)
		}
		if sp.JobTemplate.Labels[LabelOwner] != OwnerInstance || sp.JobTemplate.Labels[LabelTask] == "" ||
			sp.JobTemplate.Spec.Template.Labels[LabelTask] == "" || sp.JobTemplate.Spec.Template.Labels[LabelOwner] != "" {
			t.Errorf("%s: labels of its Jobs %v and Pods %v", o.Name, sp.JobTemplate.Labels, sp.JobTemplate.Spec.Template.Labels)
		}
		if !o.RunsRails() {
			t.Errorf("%s is applied before the database is prepared", o.Name)
		}
	}
	if n != len(MaintenanceTasks)+1 {
		t.Errorf("%d CronJobs", n)
	}
}

// The maintenance Pods are the web Pod's: with Cloud SQL they have its
// proxy sidecar and key, with a database CA its mount, with the media
// volume its claim, the media label and the affinity that puts them on the
// node of a ReadWriteOnce volume.
func TestMaintenancePodIsWebPod(t *testing.T) {
	s := defaultSpec()
	objs := s.Render(fixedSecrets, "")
	pod := find[batchv1.CronJob](t, objs, "CronJob", "social-mt-media").Spec.JobTemplate.Spec.Template
	if pod.Labels[labelMedia] != "true" || pod.Spec.Affinity == nil || pod.Spec.Volumes[0].PersistentVolumeClaim.ClaimName != "social-media" {
		t.Errorf("a maintenance Pod on a ReadWriteOnce media volume: labels %v, affinity %v, volumes %v", pod.Labels, pod.Spec.Affinity, pod.Spec.Volumes)
	}
	if pod.Spec.SecurityContext == nil || !ptr.Deref(pod.Spec.SecurityContext.RunAsNonRoot, false) ||
		ptr.Deref(pod.Spec.Containers[0].SecurityContext.AllowPrivilegeEscalation, true) {
		t.Error("a maintenance Pod does not meet the restricted profile")
	}

	s = defaultSpec()
	s.Database = &Database{User: "mastodon", Password: "p", CloudSQL: &CloudSQL{InstanceConnectionName: "my-project:europe-west1:db", CredentialsJSON: "{}"}}
	s.MediaBucket = &MediaBucket{Bucket: "b", Endpoint: "https://storage.googleapis.com", AccessKeyID: "a", SecretAccessKey: "s"}
	s.Defaults()
	pod = find[batchv1.CronJob](t, s.Render(fixedSecrets, ""), "CronJob", "social-mt-orphans").Spec.JobTemplate.Spec.Template
	if len(pod.Spec.InitContainers) != 1 || pod.Spec.InitContainers[0].Name != "cloud-sql-proxy" ||
		!slices.ContainsFunc(pod.Spec.Volumes, func(v corev1.Volume) bool { return v.Name == "cloudsql-key" }) {
		t.Errorf("a maintenance Pod with Cloud SQL lacks the proxy sidecar: %+v", pod.Spec)
	}
	if pod.Labels[labelMedia] != "" || pod.Spec.Affinity != nil {
		t.Error("a maintenance Pod with a bucket is tied to the media volume's node")
	}
	if pod.Spec.Containers[0].EnvFrom[0].ConfigMapRef.Name != s.ConfigMapName() || pod.Spec.Containers[0].EnvFrom[1].SecretRef.Name != s.SecretName() {
		t.Error("a maintenance Pod does not read the instance's configuration and Secret (bucket settings)")
	}

	s = defaultSpec()
	s.Database = &Database{Host: "db", User: "mastodon", Password: "p", CACertificatePEM: "x"}
	s.Defaults()
	pod = find[batchv1.CronJob](t, s.Render(fixedSecrets, ""), "CronJob", "social-mt-cards").Spec.JobTemplate.Spec.Template
	if !slices.ContainsFunc(pod.Spec.Containers[0].VolumeMounts, func(m corev1.VolumeMount) bool { return m.Name == "database-ca" }) {
		t.Error("a maintenance Pod lacks the database CA")
	}
}

func TestMaintenanceSwitches(t *testing.T) {
	s := defaultSpec()
	if got := len(cronJobs(s.Render(fixedSecrets, ""))); got != 3 {
		t.Errorf("a default instance renders %d maintenance CronJobs, want 3", got)
	}
	s = &Spec{Name: "social", Namespace: "ns", LocalDomain: "social.example", Maintenance: Maintenance{Disabled: true}}
	s.Defaults()
	if got := cronJobs(s.Render(fixedSecrets, "")); len(got) != 0 {
		t.Errorf("maintenance off renders %v", got)
	}
	s = &Spec{Name: "social", Namespace: "ns", LocalDomain: "social.example", Maintenance: Maintenance{Tasks: map[string]MaintenanceTask{
		"orphaned_media": {Enabled: ptr.To(false)}, "remote_media": {Schedule: "@daily", RetentionDays: 7}}}}
	s.Defaults()
	objs := s.Render(fixedSecrets, "")
	if got := cronJobs(objs); len(got) != 2 {
		t.Errorf("one task off renders %v", got)
	}
	cj := find[batchv1.CronJob](t, objs, "CronJob", "social-mt-media")
	if cj.Spec.Schedule != "@daily" || !strings.Contains(cj.Spec.JobTemplate.Spec.Template.Spec.Containers[0].Command[2], "--days 7\n") {
		t.Errorf("remote_media with its own schedule and retention: %s %v", cj.Spec.Schedule, cj.Spec.JobTemplate.Spec.Template.Spec.Containers[0].Command)
	}
}

// The rules of one attribute each (schedules, retentions, keep, prefix,
// size) are the schema's validators: internal/provider, TestFeatureChecks.
func TestMaintenanceAndBackupValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Spec)
		path string
	}{
		{"retention of a task without", func(s *Spec) { s.Maintenance.Tasks["orphaned_media"] = MaintenanceTask{RetentionDays: 3} }, "maintenance.orphaned_media.retention_days"},
		{"backup of an external database", func(s *Spec) {
			s.Database = &Database{Host: "db", User: "u", Password: "p"}
			s.Backup = &Backup{}
		}, "backup"},
		{"backup of Cloud SQL", func(s *Spec) {
			s.Database = &Database{User: "u", Password: "p", CloudSQL: &CloudSQL{InstanceConnectionName: "my-project:europe-west1:db", CredentialsJSON: "{}"}}
			s.Backup = &Backup{}
		}, "backup"},
	} {
		s := &Spec{Name: "social", Namespace: "ns", LocalDomain: "social.example", Maintenance: Maintenance{Tasks: map[string]MaintenanceTask{}}}
		tc.edit(s)
		s.Defaults()
		errs := s.Validate()
		if len(errs) != 1 || errs[0].Path != tc.path {
			t.Errorf("%s: errors %v, want one at %s", tc.name, errs, tc.path)
		}
	}
	s := defaultSpec()
	s.Backup = &Backup{Prefix: "/mastodon/db-dumps/"}
	s.Defaults()
	if errs := s.Validate(); len(errs) != 0 || s.Backup.Prefix != "mastodon/db-dumps" || CheckBackupPrefix("/mastodon/db-dumps/") != nil {
		t.Errorf("a prefix with slashes around: %v, %q", errs, s.Backup.Prefix)
	}
	if !strings.Contains(validateMessage(func(s *Spec) {
		s.Database = &Database{User: "u", Password: "p", CloudSQL: &CloudSQL{InstanceConnectionName: "my-project:europe-west1:db", CredentialsJSON: "{}"}}
		s.Backup = &Backup{}
	}), "Cloud SQL's automated backups") {
		t.Error("refusing a backup of Cloud SQL does not say what to use instead")
	}

	s = defaultSpec()
	s.Maintenance.Tasks["preview_cards"] = MaintenanceTask{Enabled: ptr.To(true), Schedule: "@daily", RetentionDays: 7}
	if w := s.Warnings(); len(w) != 1 || w[0].Path != "maintenance.preview_cards.retention_days" {
		t.Errorf("preview cards removed after 7 days: warnings %v", w)
	}
}

func validateMessage(edit func(*Spec)) string {
	s := &Spec{Name: "social", Namespace: "ns", LocalDomain: "social.example"}
	edit(s)
	s.Defaults()
	var msgs []string
	for _, e := range s.Validate() {
		msgs = append(msgs, e.Error())
	}
	return strings.Join(msgs, "\n")
}

// Contract: what the backup runs, and in which image. The postgres image
// (PostgresImage, postgres:17-alpine) has pg_dump, the PostgreSQL client of
// the embedded server's own version, and busybox's sh, date, wc, ls, grep
// -E, sort -r and tail -n +N; libpq reads PGHOST, PGPORT, PGUSER,
// PGDATABASE and PGPASSWORD. Mastodon's image has Ruby and the aws-sdk-s3
// gem (Gemfile: gem 'aws-sdk-s3', require: false; Gemfile.lock at main:
// aws-sdk-s3 1.228.2, stable-4.6: 1.228.1) but no pg_dump (Dockerfile: the
// runtime stage installs libpq5 only, no postgresql-client). So the dump
// runs in the postgres image and the upload in Mastodon's, after it.
func TestBackupContract(t *testing.T) {
	s := defaultSpec()
	s.Backup = &Backup{}
	s.Defaults()
	objs := s.Render(fixedSecrets, "")
	claim := find[corev1.PersistentVolumeClaim](t, objs, "PersistentVolumeClaim", "social-db-backup")
	if claim.Labels[LabelComponent] != ComponentBackup || claim.Spec.Resources.Requests.Storage().String() != DefaultBackupSize {
		t.Errorf("backup volume %+v", claim)
	}
	pod := find[batchv1.CronJob](t, objs, "CronJob", "social-db-backup").Spec.JobTemplate.Spec.Template.Spec
	if len(pod.Containers) != 1 || len(pod.InitContainers) != 0 || pod.Containers[0].Image != PostgresImage {
		t.Fatalf("backup to the volume: %+v", pod)
	}
	dump := pod.Containers[0]
	checkDump := func(dump corev1.Container) {
		t.Helper()
		env := map[string]corev1.EnvVar{}
		for _, e := range dump.Env {
			env[e.Name] = e
		}
		if env["PGHOST"].Value != "social-postgresql" || env["PGUSER"].Value != "mastodon" || env["PGDATABASE"].Value != "mastodon_production" ||
			env["PGPASSWORD"].ValueFrom == nil || env["PGPASSWORD"].ValueFrom.SecretKeyRef.Key != EnvDBPassword || env["PGPASSWORD"].Value != "" {
			t.Errorf("the dump reaches the database with %v", dump.Env)
		}
		if !strings.Contains(dump.Args[0], "pg_dump --format=custom --no-password --file=") {
			t.Errorf("the dump runs %s", dump.Args[0])
		}
	}
	checkDump(dump)

	s.MediaBucket = &MediaBucket{Bucket: "media", Endpoint: "https://s3.example", AccessKeyID: "a", SecretAccessKey: "s"}
	objs = s.Render(fixedSecrets, "")
	for _, o := range objs {
		if o.Kind == "PersistentVolumeClaim" {
			t.Errorf("with a bucket, %s is rendered", o.Name)
		}
	}
	pod = find[batchv1.CronJob](t, objs, "CronJob", "social-db-backup").Spec.JobTemplate.Spec.Template.Spec
	if len(pod.InitContainers) != 1 || pod.InitContainers[0].Image != PostgresImage || pod.Containers[0].Image != s.Image() ||
		pod.Volumes[len(pod.Volumes)-1].EmptyDir == nil {
		t.Fatalf("backup to the bucket: %+v", pod)
	}
	checkDump(pod.InitContainers[0])
	upload := pod.Containers[0]
	if upload.Command[2] != "cd /opt/mastodon\nexec bundle exec ruby -e \"$BACKUP_UPLOAD_SCRIPT\"\n" || upload.EnvFrom[1].SecretRef.Name != s.SecretName() {
		t.Errorf("the upload runs %v", upload.Command)
	}
	for _, e := range upload.Env {
		if e.Value == s.MediaBucket.SecretAccessKey {
			t.Error("the bucket's secret key is in the Pod spec")
		}
	}
}

// The backup's objects, to a volume and to a bucket.
func TestRenderBackup(t *testing.T) {
	var objs []Object
	for _, bucket := range []*MediaBucket{nil, {Bucket: "media", Endpoint: "https://s3.example", AccessKeyID: "a", SecretAccessKey: "s"}} {
		s := defaultSpec()
		s.MediaBucket = bucket
		s.Backup = &Backup{Keep: 14, StorageSize: "20Gi"}
		s.Defaults()
		if errs := s.Validate(); len(errs) > 0 {
			t.Fatal(errs)
		}
		for _, o := range s.Render(fixedSecrets, "") {
			if o.Unstructured().GetLabels()[LabelComponent] == ComponentBackup {
				objs = append(objs, o)
			}
		}
	}
	golden(t, "backup.yaml", renderYAML(t, objs))
}
