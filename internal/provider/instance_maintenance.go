package provider

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tootform/terraform-provider-mastodon/internal/kube"
	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

// maintenanceModel is the instance's maintenance block: one field per
// task of mastodon.MaintenanceTasks, whose names the schema takes.
type maintenanceModel struct {
	Enabled         types.Bool            `tfsdk:"enabled"`
	RemoteMedia     *maintenanceTaskModel `tfsdk:"remote_media"`
	PreviewCards    *maintenanceTaskModel `tfsdk:"preview_cards"`
	ProfileMedia    *maintenanceTaskModel `tfsdk:"profile_media"`
	OrphanedMedia   *maintenanceRunModel  `tfsdk:"orphaned_media"`
	Statuses        *maintenanceTaskModel `tfsdk:"statuses"`
	RemoteAccounts  *maintenanceRunModel  `tfsdk:"remote_accounts"`
	AccountsCull    *maintenanceRunModel  `tfsdk:"accounts_cull"`
	AccountsRefresh *maintenanceRunModel  `tfsdk:"accounts_refresh"`
}

// maintenanceRunModel is a task without a retention.
type maintenanceRunModel struct {
	Enabled  types.Bool   `tfsdk:"enabled"`
	Schedule types.String `tfsdk:"schedule"`
}

// maintenanceTaskModel is a task with a retention in days.
type maintenanceTaskModel struct {
	Enabled       types.Bool   `tfsdk:"enabled"`
	Schedule      types.String `tfsdk:"schedule"`
	RetentionDays types.Int64  `tfsdk:"retention_days"`
}

// tasks are the blocks given, by task name.
func (m *maintenanceModel) tasks() map[string]maintenanceTaskModel {
	out := map[string]maintenanceTaskModel{}
	days := map[string]*maintenanceTaskModel{"remote_media": m.RemoteMedia, "preview_cards": m.PreviewCards, "profile_media": m.ProfileMedia, "statuses": m.Statuses}
	for name, t := range days {
		if t != nil {
			out[name] = *t
		}
	}
	for name, t := range map[string]*maintenanceRunModel{"orphaned_media": m.OrphanedMedia, "remote_accounts": m.RemoteAccounts,
		"accounts_cull": m.AccountsCull, "accounts_refresh": m.AccountsRefresh} {
		if t != nil {
			out[name] = maintenanceTaskModel{Enabled: t.Enabled, Schedule: t.Schedule, RetentionDays: types.Int64Null()}
		}
	}
	return out
}

func maintenanceAttributes(in nested) map[string]schema.Attribute {
	tasks := map[string]schema.Attribute{
		"enabled": optBool("Set to false to switch every maintenance task off (default true: each task as its own `enabled` says)."),
	}
	var list []string
	for _, t := range mastodon.MaintenanceTasks {
		onOff := "off"
		if t.Enabled {
			onOff = "on"
		}
		attrs := map[string]schema.Attribute{
			"enabled":  optBool(fmt.Sprintf("Run this task (default %s).", map[bool]string{true: "true", false: "false"}[t.Enabled])),
			"schedule": checkSchedule(t.Schedule).on(optString("When, as a cron schedule in the time zone of kube-controller-manager (UTC on most clusters), default `" + t.Schedule + "`.")),
		}
		if t.Days > 0 {
			attrs["retention_days"] = checkAtLeastOne.on(optInt(fmt.Sprintf("N: how old, in days, what it removes must be; at least 1, default %d.", t.Days)))
		}
		tasks[t.Name] = schema.SingleNestedAttribute{Optional: true, Attributes: attrs,
			Description: t.Description + fmt.Sprintf(" Default: %s, `%s`.", onOff, t.Schedule)}
		list = append(list, "`"+t.Name+"` ("+onOff+")")
	}
	return map[string]schema.Attribute{"maintenance": optionalBlock(in, "maintenance",
		"Clean-ups that Mastodon's documentation lists for a running server, each a CronJob running `tootctl` in a copy of the web Pod "+
			"(same image, configuration, volumes and sidecars: the Cloud SQL proxy, the database CA, the bucket settings): "+strings.Join(list, ", ")+". "+
			"Without this block the tasks run with their defaults. Each CronJob runs one Job at a time (`concurrencyPolicy: Forbid`), at most a day, "+
			"and keeps its last successful and last failed Job; a task whose last Job failed makes `ready` false and shows a warning naming the Job "+
			"at the next refresh. On a ReadWriteOnce media volume the Jobs run on the node of web and Sidekiq, as every Pod that mounts it does. "+
			"Mastodon's own scheduler (Administration > Content retention) removes remote media, preview cards and remote posts only when an admin sets "+
			"its retention periods; with them set, `remote_media` and `preview_cards` can be switched off.",
		tasks)}
}

// maintenanceSpec reads the maintenance block into the spec.
func maintenanceSpec(_ context.Context, model *instanceModel, s *mastodon.Spec, _ *diag.Diagnostics) {
	m := model.Maintenance
	if m == nil {
		return
	}
	s.Maintenance.Disabled = !m.Enabled.IsNull() && !m.Enabled.IsUnknown() && !m.Enabled.ValueBool()
	s.Maintenance.Tasks = map[string]mastodon.MaintenanceTask{}
	for name, t := range m.tasks() {
		var task mastodon.MaintenanceTask
		if !t.Enabled.IsNull() && !t.Enabled.IsUnknown() {
			on := t.Enabled.ValueBool()
			task.Enabled = &on
		}
		task.Schedule = t.Schedule.ValueString()
		if !t.RetentionDays.IsNull() && !t.RetentionDays.IsUnknown() {
			task.RetentionDays = int32(t.RetentionDays.ValueInt64())
		}
		s.Maintenance.Tasks[name] = task
	}
}

// scheduledFailure is the warning of a CronJob (a maintenance task or the
// backup) whose last Job failed, or "".
func scheduledFailure(cur *unstructured.Unstructured) string {
	job, at := kube.CronJobFailure(cur)
	if job == "" {
		return ""
	}
	task := cur.GetLabels()[mastodon.LabelTask]
	what := "Maintenance task " + task
	if task == mastodon.ComponentBackup {
		what = "The database backup"
	}
	return fmt.Sprintf("%s failed: its last Job, %s (started %s by CronJob %s), did not succeed. "+
		"Its Pod's logs say why (kubectl logs -n %s job/%s); the next run, or a Job started by hand from the CronJob "+
		"(kubectl create job -n %s --from=cronjob/%s), clears this once it succeeds.",
		what, job, at.UTC().Format("2006-01-02 15:04 UTC"), cur.GetName(), cur.GetNamespace(), job, cur.GetNamespace(), cur.GetName())
}

// checkSchedule checks a cron schedule such as example.
func checkSchedule(example string) stringCheck {
	return stringCheck{described: described("a cron schedule such as " + example), check: func(v string) error {
		return mastodon.CheckSchedule(v, example)
	}}
}
