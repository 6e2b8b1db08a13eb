package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

// restoreModel is the instance's restore block.
type restoreModel struct {
	Key    types.String        `tfsdk:"key"`
	Bucket *restoreBucketModel `tfsdk:"bucket"`
}

// restoreBucketModel is restore.bucket: the connection settings of a media
// bucket (mediaBucketAttributes) but what only Mastodon's uploads use.
type restoreBucketModel struct {
	Bucket                   types.String    `tfsdk:"bucket"`
	Endpoint                 types.String    `tfsdk:"endpoint"`
	Region                   types.String    `tfsdk:"region"`
	PathStyle                types.Bool      `tfsdk:"path_style"`
	AccessKeyID              types.String    `tfsdk:"access_key_id"`
	SecretAccessKey          types.String    `tfsdk:"secret_access_key"`
	SecretAccessKeyWO        types.String    `tfsdk:"secret_access_key_wo"`
	SecretAccessKeyWOVersion types.Int64     `tfsdk:"secret_access_key_wo_version"`
	SecretAccessKeyRef       *secretRefModel `tfsdk:"secret_access_key_secret_ref"`
}

var restoreSecretKey = credential{block: "restore.bucket", name: "secret_access_key", what: "Secret access key",
	doc:    "Secret access key, in the restore Job's Secret `<name>-db-restore` only (not in the instance's). Conflicts with `secret_access_key_wo`.",
	secret: (*mastodon.Spec).RestoreSecretName, key: mastodon.EnvS3SecretKey,
	set: func(s *mastodon.Spec, v string) {
		if s.Restore.Bucket != nil {
			s.Restore.Bucket.SecretAccessKey = v
		}
	},
	setRef: func(s *mastodon.Spec, r *mastodon.SecretRef) {
		if s.Restore.Bucket != nil {
			s.Restore.Bucket.SecretAccessKeyRef = r
		}
	}}

func restoreAttributes(in nested) map[string]schema.Attribute {
	bucket := mediaBucketAttributes(false)
	delete(bucket, "alias_host")
	delete(bucket, "permission")
	bucket["access_key_id"] = schema.StringAttribute{Required: true, Description: "Access key ID, in the restore Job's Secret `<name>-db-restore` only."}
	return map[string]schema.Attribute{"restore": optionalBlock(in, "restore",
		"Fill the embedded PostgreSQL from a dump in an S3-compatible bucket, once, when the database is new: on the instance's create, "+
			"or when it moves from `database` to the embedded PostgreSQL. A Job `<name>-db-restore-<hash>` runs before the prepare step: "+
			"it checks that the database holds no table (it never overwrites one: a kept data volume that holds data is refused, "+
			"unless this very dump filled it, which it then leaves as it is), downloads the dump with Mastodon's image (Ruby and aws-sdk-s3, "+
			"as the backup uploads), and restores it in the embedded database's `postgres` image in one transaction: pg_dump's custom "+
			"format with `pg_restore --no-owner --no-privileges`, plain SQL (gzip-compressed or not) with `psql`, told apart by the dump's "+
			"first bytes. Then the prepare step finds the schema and only migrates it (`db:prepare` loads the schema and seeds only a database without a `schema_migrations` table), so "+
			"`version` may be newer than the dump's, within Mastodon's upgrade rules. The node needs room for the dump (an `emptyDir`). "+
			"Refused with `database`, and added to an instance whose database holds its data already. Once the instance runs, the block "+
			"does nothing and may be removed. See the guide \"Moving from a VM or docker-compose\".",
		map[string]schema.Attribute{
			"key": checkRestoreKey.on(schema.StringAttribute{Required: true,
				Description: "The dump's key in the bucket, such as `migration/mastodon_production.dump` (`pg_dump --format=custom`) or `.sql` / `.sql.gz` (plain)."}),
			"bucket": optionalBlock(in, "restore.bucket",
				"The bucket that holds the dump, when it is not `media_bucket` (where the backup writes its dumps).", bucket),
		})}
}

var checkRestoreKey = stringCheck{described: "an object key", check: mastodon.CheckRestoreKey}

// restoreSpec reads the restore block into the spec.
func restoreSpec(_ context.Context, m *instanceModel, s *mastodon.Spec, _ *diag.Diagnostics) {
	r := m.Restore
	if r == nil {
		return
	}
	s.Restore = &mastodon.Restore{Key: r.Key.ValueString()}
	if b := r.Bucket; b != nil {
		s.Restore.Bucket = &mastodon.MediaBucket{Bucket: b.Bucket.ValueString(), Endpoint: b.Endpoint.ValueString(),
			Region: b.Region.ValueString(), PathStyle: b.PathStyle.ValueBool(), AccessKeyID: b.AccessKeyID.ValueString()}
	}
}

const restoreStepName = "restore the database from the dump"

// restoreStep restores the dump into a new database, before it is
// prepared: on a create, or a move to the embedded database (prepare).
func (a *instanceApply) restoreStep(ctx context.Context) *applyStep {
	s := a.spec
	if s.Restore == nil || !a.prepare(ctx) {
		return nil
	}
	job := s.RestoreJob().Unstructured()
	return &applyStep{restoreStepName, changed, func(ctx context.Context) error {
		a.log("restore: " + job.GetName() + " (" + s.RestoreSource() + ")")
		return a.c.RunJobOnce(ctx, job)
	}, "The db-restore Job failed"}
}

// restoreSource is the dump a configuration restores, as the restore
// block names it (its key, and its own bucket's endpoint and name, or the
// media bucket, whose settings may change without a new dump), and
// whether it is known.
func restoreSource(ctx context.Context, from attrGetter, diags *diag.Diagnostics) (string, bool) {
	var restore types.Object
	diags.Append(from.GetAttribute(ctx, path.Root("restore"), &restore)...)
	switch {
	case restore.IsNull():
		return "", true
	case restore.IsUnknown():
		return "", false
	}
	var key, endpoint, bucket types.String
	diags.Append(from.GetAttribute(ctx, path.Root("restore").AtName("key"), &key)...)
	source := []types.String{key}
	switch b := restore.Attributes()["bucket"]; {
	case b.IsUnknown():
		return "", false
	case b.IsNull():
		endpoint, bucket = types.StringValue("media_bucket"), types.StringValue("")
	default:
		diags.Append(from.GetAttribute(ctx, path.Root("restore").AtName("bucket").AtName("endpoint"), &endpoint)...)
		diags.Append(from.GetAttribute(ctx, path.Root("restore").AtName("bucket").AtName("bucket"), &bucket)...)
	}
	source = append(source, endpoint, bucket)
	for _, v := range source {
		if v.IsUnknown() {
			return "", false
		}
	}
	return endpoint.ValueString() + "/" + bucket.ValueString() + "/" + key.ValueString(), true
}

// refuseLateRestore refuses at plan time a restore that an update would
// never run: one added to (or changed on) an instance whose database was
// prepared already and stays, so holds the instance's data. A move from
// an external database to the embedded one restores into the new one.
func refuseLateRestore(ctx context.Context, plan tfsdk.Plan, state tfsdk.State, was *instanceModel, diags *diag.Diagnostics) {
	var database types.Object
	diags.Append(plan.GetAttribute(ctx, path.Root("database"), &database)...)
	want, known := restoreSource(ctx, plan, diags)
	if !known || want == "" || database.IsUnknown() || was.MigratedVersion.ValueString() == "" || (was.Database != nil && database.IsNull()) {
		return
	}
	if had, _ := restoreSource(ctx, state, diags); had == want {
		return
	}
	diags.AddAttributeError(path.Root("restore"), "Restore into a database that holds data",
		fmt.Sprintf("restore: mastodon_instance %s runs on its database already (migrated to %s), which holds its data. "+
			"A restore only fills a new, empty database: when the instance is created, or when it moves from an external "+
			"database to the embedded one. It never overwrites data. Remove the restore block. To replace this instance's data "+
			"with the dump, destroy the instance with embedded_database.delete_volume_on_destroy = true (which deletes its database "+
			"for good), then create it again with the restore block.", was.ID.ValueString(), was.MigratedVersion.ValueString()))
}
