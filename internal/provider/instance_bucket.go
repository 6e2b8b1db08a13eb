package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

// mediaBucketModel is also the type of mastodon_media_bucket's settings.
type mediaBucketModel struct {
	Bucket          types.String `tfsdk:"bucket"`
	Endpoint        types.String `tfsdk:"endpoint"`
	Region          types.String `tfsdk:"region"`
	AliasHost       types.String `tfsdk:"alias_host"`
	Permission      types.String `tfsdk:"permission"`
	PathStyle       types.Bool   `tfsdk:"path_style"`
	AccessKeyID     types.String `tfsdk:"access_key_id"`
	SecretAccessKey types.String `tfsdk:"secret_access_key"`
}

// instanceBucketModel is the instance's media_bucket: the settings, and the
// secret key's write-only form.
type instanceBucketModel struct {
	mediaBucketModel
	SecretAccessKeyWO        types.String    `tfsdk:"secret_access_key_wo"`
	SecretAccessKeyWOVersion types.Int64     `tfsdk:"secret_access_key_wo_version"`
	SecretAccessKeyRef       *secretRefModel `tfsdk:"secret_access_key_secret_ref"`
}

const secretAccessKeyDoc = "Secret access key (`AWS_SECRET_ACCESS_KEY`, in the instance's Secret). Set with `access_key_id`, or unset with it (see there)."

// accessKeyIDDoc says what the keys are for, and what happens without them.
const accessKeyIDDoc = "Access key ID (`AWS_ACCESS_KEY_ID`, in the instance's Secret). Set with the secret key, or both unset: then neither variable is rendered " +
	"and Mastodon's S3 client (and the backup's upload) takes the AWS SDK's default credentials, those of the Pods' identity. " +
	"On EKS give `service_account` an IRSA role (`eks.amazonaws.com/role-arn`) or name the ServiceAccount of a Pod Identity association; " +
	"a node's instance profile also serves. GKE: Cloud Storage's S3 interface takes only HMAC keys, not Workload Identity, so keyless with " +
	"`storage.googleapis.com` is refused at plan. Azure Blob Storage has no S3 interface. MinIO, R2 and other stores need the keys. " +
	"Keyless without `service_account` and with an endpoint that is not AWS is warned of at plan."

var bucketSecretKey = credential{block: "media_bucket", name: "secret_access_key", what: "Secret access key", doc: secretAccessKeyDoc,
	key: mastodon.EnvS3SecretKey, set: func(s *mastodon.Spec, v string) { s.MediaBucket.SecretAccessKey = v },
	setRef: func(s *mastodon.Spec, r *mastodon.SecretRef) { s.MediaBucket.SecretAccessKeyRef = r }}

// mediaBucketAttributes describe the connection to a media bucket, for the
// instance's media_bucket (whose secret key is a credential, bucketSecretKey)
// and the bucket resource's settings (computed).
func mediaBucketAttributes(computed bool) map[string]schema.Attribute {
	str := func(required bool, desc string) schema.Attribute {
		return schema.StringAttribute{Required: required && !computed, Optional: !required && !computed, Computed: computed, Description: desc}
	}
	attrs := map[string]schema.Attribute{
		"bucket":     str(true, "Bucket name (`S3_BUCKET`)."),
		"endpoint":   str(true, "Endpoint URL, such as `https://storage.googleapis.com` (`S3_ENDPOINT`; `S3_HOSTNAME` and `S3_PROTOCOL` come from it)."),
		"region":     str(false, "Region (`S3_REGION`), default `us-east-1`."),
		"alias_host": str(false, "The public host that serves the bucket's objects, such as a CDN (`S3_ALIAS_HOST`)."),
		"permission": str(false, "The canned ACL written with each object (`S3_PERMISSION`): `public-read` when objects are made public by ACL, empty otherwise."),
		"path_style": schema.BoolAttribute{Optional: !computed, Computed: computed,
			Description: "Address the bucket as `endpoint/bucket` (needed by MinIO, Ceph, Garage) rather than `bucket.endpoint`. " +
				"Mastodon uses path style whenever `S3_ENDPOINT` is set unless `S3_OVERRIDE_PATH_STYLE` is `true`, so false renders `S3_OVERRIDE_PATH_STYLE=true` and true leaves it out."},
		"access_key_id": str(false, accessKeyIDDoc),
	}
	if computed {
		attrs["secret_access_key"] = schema.StringAttribute{Computed: true, Sensitive: true, Description: secretAccessKeyDoc}
	}
	return attrs
}

func bucketAttributes(in nested) map[string]schema.Attribute {
	return map[string]schema.Attribute{"media_bucket": optionalBlock(in, "media_bucket",
		"Store media in an S3-compatible bucket instead of the `media` volume: usually `mastodon_media_bucket.x.settings`. "+
			"Sets `S3_ENABLED` and the `S3_*` variables; the credentials go into the instance's Secret only. Conflicts with `media`.",
		mediaBucketAttributes(false))}
}

func bucketSpec(_ context.Context, m *instanceModel, s *mastodon.Spec, _ *diag.Diagnostics) {
	if b := m.MediaBucket; b != nil {
		s.MediaBucket = &mastodon.MediaBucket{
			Bucket: b.Bucket.ValueString(), Endpoint: b.Endpoint.ValueString(), Region: b.Region.ValueString(),
			AliasHost: b.AliasHost.ValueString(), Permission: b.Permission.ValueString(), PathStyle: b.PathStyle.ValueBool(),
			AccessKeyID: b.AccessKeyID.ValueString(),
		}
	}
}
