package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

// backupModel is the instance's backup block.
type backupModel struct {
	Schedule              types.String `tfsdk:"schedule"`
	Keep                  types.Int64  `tfsdk:"keep"`
	Prefix                types.String `tfsdk:"prefix"`
	StorageSize           types.String `tfsdk:"storage_size"`
	StorageClass          types.String `tfsdk:"storage_class"`
	DeleteVolumeOnDestroy types.Bool   `tfsdk:"delete_volume_on_destroy"`
}

func backupAttributes(in nested) map[string]schema.Attribute {
	return map[string]schema.Attribute{"backup": optionalBlock(in, "backup",
		"A scheduled `pg_dump --format=custom` of the embedded PostgreSQL (refused with `database`: an external or Cloud SQL database "+
			"has its own backups). With `media_bucket` the dumps go to the bucket under `prefix` (uploaded by Mastodon's image, which has Ruby and "+
			"aws-sdk-s3, with the bucket's credentials from the instance's Secret; written private, their keys carrying 128 random bits, since "+
			"the bucket's objects are usually public); without it, to a volume of the instance's (`<name>-db-backup`). The newest `keep` dumps are kept. "+
			"A failed backup makes `ready` false and shows a warning at the next refresh. See the guide \"Backing up and restoring the embedded database\".",
		map[string]schema.Attribute{
			"schedule": checkSchedule(mastodon.DefaultBackupSchedule).on(optString("When, as a cron schedule in the time zone of kube-controller-manager (UTC on most clusters), default `" + mastodon.DefaultBackupSchedule + "`.")),
			"keep":     checkAtLeastOne.on(optInt(fmt.Sprintf("How many dumps to keep, newest first; at least 1, default %d.", mastodon.DefaultBackupKeep))),
			"prefix": checkBackupPrefix.on(optString("The folder of the dumps in the media bucket, default `" + mastodon.DefaultBackupPrefix + "`: one to four path segments. " +
				"Keys are `<prefix>/<name>-<UTC time>-<random>.dump`.")),
			"storage_size":             checkQuantity("10Gi").on(optString("Size of the backup volume (without `media_bucket`), default `" + mastodon.DefaultBackupSize + "`.")),
			"storage_class":            optString("Storage class of the backup volume (the cluster's default when unset)." + classDoc),
			"delete_volume_on_destroy": optBool("Delete the backup volume when the instance is destroyed. Default false: like the data volumes, it is kept (and so the namespace)." + neverBoundDoc),
		})}
}

// backupSpec reads the backup block into the spec.
func backupSpec(_ context.Context, m *instanceModel, s *mastodon.Spec, _ *diag.Diagnostics) {
	b := m.Backup
	if b == nil {
		return
	}
	s.Backup = &mastodon.Backup{Schedule: b.Schedule.ValueString(), Keep: int32Or(b.Keep, 0), Prefix: b.Prefix.ValueString(),
		StorageSize: b.StorageSize.ValueString(), StorageClass: b.StorageClass.ValueString()}
}

var checkBackupPrefix = stringCheck{described: "one to four path segments", check: mastodon.CheckBackupPrefix}
