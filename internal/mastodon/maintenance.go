package mastodon

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// Components and labels of the scheduled Jobs.
const (
	ComponentMaintenance = "maintenance"
	// LabelTask names the maintenance task (or "backup") of a CronJob and
	// its Jobs, so a failure can be reported by task.
	LabelTask = "mastodon.tootform.dev/task"
)

// MaintenanceTask is the user's setting of one clean-up; after Defaults
// every field is set.
type MaintenanceTask struct {
	Enabled       *bool
	Schedule      string
	RetentionDays int32
}

// Maintenance are the clean-ups Mastodon's documentation lists for a
// running server (admin/tootctl.md), each a CronJob running tootctl in a
// copy of the web Pod. Tasks are keyed by name (MaintenanceTasks); a task
// not given takes its defaults.
type Maintenance struct {
	Disabled bool
	Tasks    map[string]MaintenanceTask
}

// maintenanceTask is one clean-up Mastodon offers, with its defaults.
type maintenanceTask struct {
	Name string
	// suffix names its CronJob: <instance>-<suffix>. A CronJob's name may
	// have 52 characters, instance names 40.
	suffix   string
	Enabled  bool
	Schedule string
	// Days is the default retention; 0 for a task without one.
	Days int32
	// command is the tootctl command line (run in /opt/mastodon).
	command func(days int32) []string
	// Description is the task's documentation.
	Description string
}

func days(d int32) string { return strconv.Itoa(int(d)) }

// MaintenanceTasks are the clean-ups, in the order they are rendered.
// Schedules are spread over the night (the controller's time zone, UTC on
// most clusters) so that no two start together. Sources: Mastodon's
// lib/mastodon/cli/media.rb, preview_cards.rb, statuses.rb and accounts.rb;
// the documentation's admin/tootctl.md and admin/scaling.md.
var MaintenanceTasks = []maintenanceTask{
	{Name: "remote_media", suffix: "mt-media", Enabled: true, Schedule: "17 3 * * *", Days: 30,
		command: func(d int32) []string { return []string{"bin/tootctl", "media", "remove", "--days", days(d)} },
		Description: "`tootctl media remove --days N`: removes the cached copies of other servers' media attachments older than N days " +
			"(their originals stay on their servers, from which Mastodon can fetch them again). Mastodon does this by itself only when an admin sets Administration > Content retention > " +
			"Media cache retention period (unset by default)."},
	{Name: "preview_cards", suffix: "mt-cards", Enabled: true, Schedule: "47 3 * * *", Days: 180,
		command: func(d int32) []string { return []string{"bin/tootctl", "preview_cards", "remove", "--days", days(d)} },
		Description: "`tootctl preview_cards remove --days N`: removes the thumbnails of link preview cards not updated for N days. " +
			"Mastodon does not fetch a card again unless the link is posted two weeks after its last use, so fewer than 14 days is not recommended. " +
			"Mastodon's content retention does this by itself only when the media cache retention period is set."},
	{Name: "profile_media", suffix: "mt-profiles", Enabled: false, Schedule: "17 4 * * 0", Days: 30,
		command: func(d int32) []string {
			return []string{"bin/tootctl", "media", "remove", "--prune-profiles", "--days", days(d)}
		},
		Description: "`tootctl media remove --prune-profiles --days N`: removes the cached avatars and headers of remote accounts that nobody here " +
			"follows or is followed by, not fetched or updated for N days."},
	{Name: "orphaned_media", suffix: "mt-orphans", Enabled: true, Schedule: "47 4 * * 0",
		command: func(int32) []string { return []string{"bin/tootctl", "media", "remove-orphans"} },
		Description: "`tootctl media remove-orphans`: removes stored files that belong to no media attachment. It walks every file " +
			"(on a bucket: lists every object, which some stores charge for), so it runs weekly. Files it does not recognise as Mastodon's " +
			"(the database backups under `backup.prefix`, for one) are left alone. Mastodon's own scheduler only removes attachment records " +
			"never attached to a post, not the files in storage."},
	{Name: "statuses", suffix: "mt-statuses", Enabled: false, Schedule: "17 5 * * 0", Days: 90,
		command: func(d int32) []string { return []string{"bin/tootctl", "statuses", "remove", "--days", days(d)} },
		Description: "`tootctl statuses remove --days N`: deletes remote posts older than N days that nobody here interacted with, then " +
			"runs ANALYZE on the tables (not VACUUM: that needs `--compress-database`, which locks them and is not passed), so the space " +
			"freed is reused by PostgreSQL, not returned to the disk. Heavy (it builds temporary indexes) and it deletes data. Mastodon's content retention " +
			"(content cache retention period) deletes remote posts by itself when an admin sets it."},
	{Name: "remote_accounts", suffix: "mt-accounts", Enabled: false, Schedule: "47 5 * * 0",
		command: func(int32) []string { return []string{"bin/tootctl", "accounts", "prune"} },
		Description: "`tootctl accounts prune`: deletes remote accounts that never interacted with local users (no follows, mentions, " +
			"favourites, blocks or mutes; bots, groups, suspended and silenced accounts are kept). It deletes data."},
	{Name: "accounts_cull", suffix: "mt-cull", Enabled: false, Schedule: "17 6 * * 0",
		command: func(int32) []string { return []string{"bin/tootctl", "accounts", "cull"} },
		Description: "`tootctl accounts cull`: asks the origin server of every remote account (one HEAD request each) whether it still exists, " +
			"and deletes the accounts whose server answers 404 or 410 Gone; accounts active or looked up in the last week are skipped, and so are " +
			"the servers that do not answer (listed in the Job's log). Slow on a large database and it deletes data."},
	{Name: "accounts_refresh", suffix: "mt-refresh", Enabled: false, Schedule: "17 7 1 * *",
		command: func(int32) []string { return []string{"bin/tootctl", "accounts", "refresh", "--all"} },
		Description: "`tootctl accounts refresh --all`: downloads the avatar and header of every remote account again (after lost media files, " +
			"or a move of the media store). Heavy: one or two downloads per remote account, stored again. Runs monthly by default; " +
			"usually run once, by switching it on for one run."},
}

// maintenanceTaskOf finds a task by name.
func maintenanceTaskOf(name string) (maintenanceTask, bool) {
	for _, t := range MaintenanceTasks {
		if t.Name == name {
			return t, true
		}
	}
	return maintenanceTask{}, false
}

// MaintenanceName is the CronJob of a maintenance task.
func (s *Spec) MaintenanceName(task string) string {
	t, _ := maintenanceTaskOf(task)
	return s.Name + "-" + t.suffix
}

// maintenanceFeature runs the clean-ups (Spec.Maintenance).
type maintenanceFeature struct{ noFeature }

func (maintenanceFeature) defaults(s *Spec) { s.Maintenance.defaults() }

func (maintenanceFeature) validate(s *Spec, e *fieldErrors) { s.Maintenance.validate(e.add) }

func (maintenanceFeature) warnings(s *Spec) []FieldError { return s.Maintenance.warnings() }

func (maintenanceFeature) objects(s *Spec, at stage) []Object {
	if at != afterWorkloads {
		return nil
	}
	return s.renderMaintenance()
}

// connections: each task is a tootctl.
func (maintenanceFeature) connections(s *Spec) int32 {
	var n int32
	if !s.Maintenance.Disabled {
		for _, t := range s.Maintenance.Tasks {
			if t.Enabled != nil && *t.Enabled {
				n += tootctlConnections
			}
		}
	}
	return n
}

// defaults fills every task's settings.
func (m *Maintenance) defaults() {
	if m.Tasks == nil {
		m.Tasks = map[string]MaintenanceTask{}
	}
	for _, t := range MaintenanceTasks {
		set := m.Tasks[t.Name]
		if set.Enabled == nil {
			set.Enabled = ptr.To(t.Enabled)
		}
		if set.Schedule == "" {
			set.Schedule = t.Schedule
		}
		if set.RetentionDays == 0 {
			set.RetentionDays = t.Days
		}
		m.Tasks[t.Name] = set
	}
}

// cronRe is a five-field cron schedule as Kubernetes reads it, or a
// macro; Kubernetes refuses a TZ= or CRON_TZ= prefix (spec.timeZone is for that).
var (
	cronFieldRe = regexp.MustCompile(`^[0-9A-Za-z*?/,-]+$`)
	cronMacros  = []string{"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
)

// CheckSchedule checks a CronJob's schedule; example is the default, for
// the message.
func CheckSchedule(v, example string) error {
	if v != "" && !validSchedule(v) {
		return fmt.Errorf("%q is not a cron schedule of five fields (minute hour day-of-month month day-of-week, such as %q) or a macro such as @daily", v, example)
	}
	return nil
}

func validSchedule(s string) bool {
	if oneOf(s, cronMacros) {
		return true
	}
	fields := strings.Fields(s)
	if len(fields) != 5 {
		return false
	}
	for _, f := range fields {
		if !cronFieldRe.MatchString(f) {
			return false
		}
	}
	return true
}

func (m *Maintenance) validate(add func(path, format string, args ...any)) {
	for name, t := range m.Tasks {
		task, ok := maintenanceTaskOf(name)
		path := "maintenance." + name
		if !ok {
			add("maintenance", "unknown task %q", name)
			continue
		}
		if t.RetentionDays != 0 && task.Days == 0 {
			add(path+".retention_days", "%s has no retention: it takes no number of days", name)
		}
	}
}

func (m *Maintenance) warnings() []FieldError {
	if t := m.Tasks["preview_cards"]; !m.Disabled && t.Enabled != nil && *t.Enabled && t.RetentionDays > 0 && t.RetentionDays < 14 {
		return []FieldError{{Path: "maintenance.preview_cards.retention_days", Message: fmt.Sprintf("%d days: Mastodon fetches a preview card again "+
			"only when its link is posted two weeks after its last use, so cards removed sooner stay without a thumbnail (tootctl preview_cards remove "+
			"recommends at least 14)", t.RetentionDays), Related: []string{"maintenance.enabled", "maintenance.preview_cards.enabled"}}}
	}
	return nil
}

// renderMaintenance renders the CronJob of each enabled task.
func (s *Spec) renderMaintenance() []Object {
	if s.Maintenance.Disabled {
		return nil
	}
	var out []Object
	for _, t := range MaintenanceTasks {
		set := s.Maintenance.Tasks[t.Name]
		if set.Enabled == nil || !*set.Enabled {
			continue
		}
		script := "cd /opt/mastodon\nexec " + strings.Join(t.command(set.RetentionDays), " ") + "\n"
		base := s.railsPod("web", nil, s.jobResources())
		job := webPodJobSpec(base, "tootctl", nil, script, nil, 1)
		out = append(out, s.cronJob(s.MaintenanceName(t.Name), ComponentMaintenance, t.Name, set.Schedule, job))
	}
	return out
}

// Scheduled Jobs: at most one at a time, a day at most each (a hung Job
// would otherwise hold every later run back), started up to an hour late
// (a controller that was down), the last success and the last failure kept
// (the failure is what a refresh reports, with its Pod for the logs).
const (
	cronStartingDeadline = 3600
	cronActiveDeadline   = 86400
)

// cronJob is a CronJob running job on schedule. Its Jobs carry the
// instance's labels and the task; its Pods the template labels, and the
// media label when they mount the media volume (so that, on a volume one
// node at a time can mount, they join web and Sidekiq on its node).
func (s *Spec) cronJob(name, component, task, schedule string, job batchv1.JobSpec) Object {
	jobLabels := s.labels(component)
	jobLabels[LabelTask] = task
	podLabels := s.templateLabels(component)
	podLabels[LabelTask] = task
	job.Template.Labels = s.withMediaLabel(podLabels, job.Template.Spec)
	s.withJobSettings(&job.Template, component)
	job.TTLSecondsAfterFinished = nil // the history limits keep the last Jobs
	job.ActiveDeadlineSeconds = ptr.To[int64](cronActiveDeadline)
	meta := s.meta(name, component)
	meta.Labels = maps.Clone(jobLabels)
	return NewObject(&batchv1.CronJob{
		TypeMeta:   typeMeta("batch/v1", "CronJob"),
		ObjectMeta: meta,
		Spec: batchv1.CronJobSpec{
			Schedule:                   schedule,
			TimeZone:                   optional(s.Settings.TimeZone),
			ConcurrencyPolicy:          batchv1.ForbidConcurrent,
			StartingDeadlineSeconds:    ptr.To[int64](cronStartingDeadline),
			SuccessfulJobsHistoryLimit: ptr.To[int32](1),
			FailedJobsHistoryLimit:     ptr.To[int32](1),
			JobTemplate:                batchv1.JobTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: jobLabels}, Spec: job},
		},
	})
}

// webPodJobSpec is the spec of a Job that runs script once in a copy of
// the instance's web Pod (same image, configuration, volumes and sidecars:
// the Cloud SQL proxy, the database CA, the bucket settings), without its
// ports and probes.
func webPodJobSpec(base corev1.PodSpec, container string, env []corev1.EnvVar, script string, podLabels map[string]string, backoff int32) batchv1.JobSpec {
	pod := *base.DeepCopy()
	pod.RestartPolicy = corev1.RestartPolicyNever
	// Web's metrics exporter runs as long as it is let: a Job's Pod with
	// it would never complete.
	pod.Containers = slices.DeleteFunc(pod.Containers, func(c corev1.Container) bool { return c.Name == MetricsContainer })
	// A Job is one Pod: a spread that counts web's Pods is not its own.
	pod.TopologySpreadConstraints = nil
	c := &pod.Containers[0]
	c.Name = container
	c.Ports, c.ReadinessProbe, c.LivenessProbe, c.StartupProbe = nil, nil, nil, nil
	// The variables web reads by reference (secretRefsFeature) stay; the
	// others are web's own (the metrics exporter's).
	c.Env = append(slices.DeleteFunc(c.Env, func(v corev1.EnvVar) bool { return v.ValueFrom == nil || v.ValueFrom.SecretKeyRef == nil }), env...)
	c.Command, c.Args = []string{"/bin/sh", "-c", script}, nil
	return batchv1.JobSpec{
		BackoffLimit:            ptr.To(backoff),
		TTLSecondsAfterFinished: ptr.To[int32](600),
		Template:                corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: podLabels}, Spec: pod},
	}
}
