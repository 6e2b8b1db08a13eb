package provider

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
	"github.com/tootform/terraform-provider-mastodon/internal/objectstore"
)

// Environment variables that stand in for unset attributes (the names the
// AWS tools use), and that give an import its credentials.
const (
	envS3Endpoint  = "AWS_ENDPOINT_URL_S3"
	envS3Region    = "AWS_REGION"
	envS3AccessKey = "AWS_ACCESS_KEY_ID"
	envS3SecretKey = "AWS_SECRET_ACCESS_KEY"
)

type mediaBucketResource struct{}

func newMediaBucketResource() resource.Resource { return &mediaBucketResource{} }

type mediaBucketResourceModel struct {
	ID                       types.String   `tfsdk:"id"`
	Bucket                   types.String   `tfsdk:"bucket"`
	Endpoint                 types.String   `tfsdk:"endpoint"`
	Region                   types.String   `tfsdk:"region"`
	AccessKeyID              types.String   `tfsdk:"access_key_id"`
	SecretAccessKey          types.String   `tfsdk:"secret_access_key"`
	SecretAccessKeyWO        types.String   `tfsdk:"secret_access_key_wo"`
	SecretAccessKeyWOVersion types.Int64    `tfsdk:"secret_access_key_wo_version"`
	PathStyle                types.Bool     `tfsdk:"path_style"`
	Create                   types.Bool     `tfsdk:"create"`
	ForceDestroy             types.Bool     `tfsdk:"force_destroy"`
	PublicAccess             types.String   `tfsdk:"public_access"`
	AliasHost                types.String   `tfsdk:"alias_host"`
	CORSAllowedOrigins       types.List     `tfsdk:"cors_allowed_origins"`
	InstanceAccessKeyID      types.String   `tfsdk:"instance_access_key_id"`
	InstanceSecretAccessKey  types.String   `tfsdk:"instance_secret_access_key"`
	InstanceSecretKeyWO      types.String   `tfsdk:"instance_secret_access_key_wo"`
	InstanceSecretKeyWOV     types.Int64    `tfsdk:"instance_secret_access_key_wo_version"`
	Created                  types.Bool     `tfsdk:"created"`
	Settings                 types.Object   `tfsdk:"settings"`
	Timeouts                 timeouts.Value `tfsdk:"timeouts"`
}

func (r *mediaBucketResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_media_bucket"
}

func (r *mediaBucketResource) IdentitySchema(_ context.Context, _ resource.IdentitySchemaRequest, resp *resource.IdentitySchemaResponse) {
	resp.IdentitySchema = identitySchema(
		identityAttr{name: "endpoint", description: "The store's URL; null for AWS S3.", optional: true},
		identityAttr{name: "bucket", description: "The bucket name."})
}

func (r *mediaBucketResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	replace := []planmodifier.String{stringplanmodifier.RequiresReplace()}
	resp.Schema = schema.Schema{
		Description: "An S3-compatible bucket (GCS, S3, R2, MinIO) made ready for Mastodon's media and proven to work: " +
			"on every create and update the provider writes a test object, reads it back, reads it anonymously at its public URL, " +
			"checks that anonymous listing is refused, and deletes it. Give `settings` to `mastodon_instance.media_bucket`.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, Description: "The bucket name.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"bucket": schema.StringAttribute{Required: true, PlanModifiers: replace,
				Description: "Bucket name (S3 rules: 3 to 63 lowercase letters, digits, dots and hyphens)."},
			"endpoint": schema.StringAttribute{Optional: true, PlanModifiers: replace,
				Description: "The store's URL: `https://storage.googleapis.com` for GCS, `https://<account>.r2.cloudflarestorage.com` for R2, " +
					"MinIO's address; unset for AWS S3. Environment variable: `" + envS3Endpoint + "`."},
			"region": schema.StringAttribute{Optional: true, Computed: true, PlanModifiers: replace,
				Description: "Region, default `us-east-1` (GCS and R2 accept any; R2 uses `auto`). Environment variable: `" + envS3Region + "`."},
			"access_key_id": schema.StringAttribute{Optional: true,
				Description: "Access key ID the provider manages the bucket with (for GCS an HMAC key: `google_storage_hmac_key.x.access_id`). Environment variable: `" + envS3AccessKey + "`. " +
					"Mastodon gets it in `settings` only when it is set here and `instance_access_key_id` is not: a key from the environment never reaches `settings`."},
			"secret_access_key": schema.StringAttribute{Optional: true, Sensitive: true,
				Description: "Secret access key of `access_key_id` (for GCS: `google_storage_hmac_key.x.secret`). Conflicts with `secret_access_key_wo`. Environment variable: `" + envS3SecretKey + "`."},
			"secret_access_key_wo": schema.StringAttribute{Optional: true, Sensitive: true, WriteOnly: true,
				Description: "Secret access key of `access_key_id`, write-only: never stored in state (Terraform 1.11+). Refreshes and destroy check the bucket with `" + envS3SecretKey + "` when it is set, and skip the check otherwise."},
			"secret_access_key_wo_version": schema.Int64Attribute{Optional: true, Description: "Change it to use a new `secret_access_key_wo`."},
			"instance_access_key_id": schema.StringAttribute{Optional: true,
				Description: "Access key ID Mastodon gets in `settings`, when it should not use the managing key: least privilege, listing this bucket and reading, writing and deleting its objects " +
					"(the resource's documentation shows the IAM user, service account or API token for AWS, GCS and R2). The proof of every create and update lists the bucket and writes, reads and deletes its test object with this key, " +
					"so a key that lacks a permission Mastodon needs fails the apply. Requires `instance_secret_access_key` or `instance_secret_access_key_wo`."},
			"instance_secret_access_key": schema.StringAttribute{Optional: true, Sensitive: true,
				Description: "Secret access key of `instance_access_key_id`, in `settings`. Conflicts with `instance_secret_access_key_wo`."},
			"instance_secret_access_key_wo": schema.StringAttribute{Optional: true, Sensitive: true, WriteOnly: true,
				Description: "Secret access key of `instance_access_key_id`, write-only: never stored in state (Terraform 1.11+); used for the proof, and `settings.secret_access_key` is then null: " +
					"give it to `mastodon_instance.media_bucket.secret_access_key_wo`."},
			"instance_secret_access_key_wo_version": schema.Int64Attribute{Optional: true, Description: "Change it to prove a new `instance_secret_access_key_wo`."},
			"path_style": schema.BoolAttribute{Optional: true, Computed: true,
				Description: "Address the bucket as `endpoint/bucket`. Default: true for stores other than AWS, GCS and R2 (MinIO needs it)."},
			"create": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(true),
				Description: "Create the bucket when it does not exist. Default true; with false a missing bucket is an error."},
			"force_destroy": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				Description: "On destroy, delete every object and the bucket, if this resource created it. Default false: the bucket and its media stay."},
			"public_access": schema.StringAttribute{Optional: true, Computed: true,
				Validators: []validator.String{stringvalidator.OneOf(objectstore.Accesses...)},
				Description: "How media becomes readable by anyone: `acl` (each object is written public-read; S3, GCS with fine-grained access control), " +
					"`policy` (a bucket policy lets anyone get objects but not list them; S3, MinIO) or `none` (a CDN or custom domain in front handles it; R2). " +
					"Default: `acl` on GCS, `none` on R2, `policy` elsewhere."},
			"alias_host": schema.StringAttribute{Optional: true,
				Description: "The public host serving the bucket's objects (a CDN or custom domain), such as `files.example.com`: Mastodon's `S3_ALIAS_HOST`. " +
					"The test object is also read through it; while it serves nothing yet (a CDN still being set up) that is a warning, not an error."},
			"cors_allowed_origins": schema.ListAttribute{Optional: true, ElementType: types.StringType,
				Description: "Origins allowed to GET objects from a browser, such as `[\"https://mastodon.example.com\"]` (needed with an alias host on another domain). " +
					"An empty list removes the rule; unset leaves CORS alone."},
			"created": schema.BoolAttribute{Computed: true,
				Description: "Whether this resource created the bucket (only then does `force_destroy` delete it). Never changes after the create."},
			"timeouts": timeouts.Attributes(ctx, timeouts.Opts{Create: true, Read: true, Update: true, Delete: true}),
			"settings": schema.SingleNestedAttribute{Computed: true, Sensitive: true,
				Description: "Everything `mastodon_instance.media_bucket` needs. Its keys are `instance_access_key_id` and `instance_secret_access_key` when set, " +
					"else `access_key_id` and `secret_access_key` when they are set in the configuration, else null: keys from the environment are never put here. " +
					"A secret given write-only is null here. With both keys null the instance's bucket is keyless: its Pods' own identity reaches the bucket " +
					"(see `mastodon_instance.media_bucket.access_key_id`).",
				Attributes: mediaBucketAttributes(true)},
		},
	}
}

// Timeouts of the bucket's operations.
const (
	// defaultBucketWriteTimeout bounds a create or an update: about a dozen
	// requests, each retried at most three times.
	defaultBucketWriteTimeout = 10 * time.Minute
	// defaultBucketDeleteTimeout bounds a destroy, which with force_destroy
	// lists and deletes every object: a listing request per 1,000 keys with
	// 8 batches of 1,000 deleted behind it (on GCS, which deletes one object
	// per request, 64 deletions at a time). At 100 ms a request that is
	// about 10,000 objects a second on S3, R2 and MinIO and 600 on GCS: an
	// hour holds two million objects on GCS and tens of millions elsewhere,
	// which is what an instance that caches remote media for years keeps.
	defaultBucketDeleteTimeout = 60 * time.Minute
	// adoptKey marks an import whose refresh could not read the bucket (it
	// had no secret key: an import block whose keys are only in the
	// configuration), so that the apply of the same run adopts the live
	// claim. Only the import's run adopts: every later refresh clears the
	// mark, with a secret key or without, so a claim that appears after the
	// import (another state's) is never adopted. The claim itself is kept as
	// the instance's is (privateClaimKey).
	adoptKey = "adopt"
)

// bucketSettings are the resolved settings of one bucket: attributes, else
// environment, else defaults.
type bucketSettings struct {
	cfg     objectstore.Config // with the managing keys
	access  objectstore.Access
	alias   string
	origins []string // nil: CORS not managed
	// instanceID and instanceSecret are the keys settings carry: from the
	// configuration only, never from the environment.
	instanceID, instanceSecret types.String
	// proveID and proveSecret are the keys the proof runs with: Mastodon's
	// when they are given apart, else the managing ones.
	proveID, proveSecret string
}

func envOr(v types.String, env string) string {
	if !v.IsNull() && !v.IsUnknown() {
		return v.ValueString()
	}
	return os.Getenv(env)
}

// settings resolves m; wo and instanceWO are the write-only secrets from the
// configuration ("" when not given or not at hand).
func (m *mediaBucketResourceModel) settings(ctx context.Context, wo, instanceWO string) (bucketSettings, diag.Diagnostics) {
	var diags diag.Diagnostics
	s := bucketSettings{cfg: objectstore.Config{
		Bucket:          m.Bucket.ValueString(),
		Endpoint:        strings.TrimSuffix(envOr(m.Endpoint, envS3Endpoint), "/"),
		Region:          envOr(m.Region, envS3Region),
		AccessKeyID:     envOr(m.AccessKeyID, envS3AccessKey),
		SecretAccessKey: envOr(m.SecretAccessKey, envS3SecretKey),
	}, alias: m.AliasHost.ValueString()}
	if wo != "" {
		s.cfg.SecretAccessKey = wo
	}
	if s.cfg.Region == "" {
		s.cfg.Region = "us-east-1"
	}
	kind := objectstore.KindOf(s.cfg.Endpoint)
	s.cfg.PathStyle = kind == objectstore.KindGeneric
	if !m.PathStyle.IsNull() && !m.PathStyle.IsUnknown() {
		s.cfg.PathStyle = m.PathStyle.ValueBool()
	}
	s.access = kind.DefaultAccess()
	if !m.PublicAccess.IsNull() && !m.PublicAccess.IsUnknown() {
		s.access = objectstore.Access(m.PublicAccess.ValueString())
	}
	if !m.CORSAllowedOrigins.IsNull() && !m.CORSAllowedOrigins.IsUnknown() {
		s.origins = []string{}
		diags.Append(m.CORSAllowedOrigins.ElementsAs(ctx, &s.origins, false)...)
	}
	s.instanceID, s.instanceSecret = types.StringNull(), types.StringNull()
	s.proveID, s.proveSecret = s.cfg.AccessKeyID, s.cfg.SecretAccessKey
	switch {
	case !m.InstanceAccessKeyID.IsNull():
		s.instanceID, s.instanceSecret = m.InstanceAccessKeyID, m.InstanceSecretAccessKey
		s.proveID, s.proveSecret = m.InstanceAccessKeyID.ValueString(), m.InstanceSecretAccessKey.ValueString()
		if instanceWO != "" {
			s.proveSecret = instanceWO
		}
	case !m.AccessKeyID.IsNull():
		// Configurations of earlier releases gave Mastodon the managing
		// keys: kept when they are in the configuration.
		s.instanceID, s.instanceSecret = m.AccessKeyID, m.SecretAccessKey
	}
	return s, diags
}

// aliasBase is where a CDN or custom domain serves the objects, or "".
// Mastodon builds those links with the endpoint's protocol.
func (s bucketSettings) aliasBase() string {
	if s.alias == "" {
		return ""
	}
	u, err := url.Parse(s.cfg.EffectiveEndpoint())
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + s.alias + "/"
}

// importID is the ID that imports the bucket.
func (s bucketSettings) importID() string {
	if s.cfg.Endpoint == "" {
		return s.cfg.Bucket
	}
	return s.cfg.Endpoint + "/" + s.cfg.Bucket
}

// instanceSettings are what an instance needs to use the bucket.
func (s bucketSettings) instanceSettings() types.Object {
	return types.ObjectValueMust(settingsTypes, map[string]attr.Value{
		"bucket":            types.StringValue(s.cfg.Bucket),
		"endpoint":          types.StringValue(s.cfg.EffectiveEndpoint()),
		"region":            types.StringValue(s.cfg.Region),
		"alias_host":        nullable(s.alias),
		"permission":        types.StringValue(mastodon.S3Permission(s.access == objectstore.AccessACL)),
		"path_style":        types.BoolValue(s.cfg.PathStyle),
		"access_key_id":     s.instanceID,
		"secret_access_key": s.instanceSecret,
	})
}

var settingsTypes = map[string]attr.Type{
	"bucket": types.StringType, "endpoint": types.StringType, "region": types.StringType, "alias_host": types.StringType,
	"permission": types.StringType, "path_style": types.BoolType, "access_key_id": types.StringType, "secret_access_key": types.StringType,
}

// known is a value given in the configuration: neither null nor unknown
// (an unknown value may still turn out null).
func known(v attr.Value) bool { return !v.IsNull() && !v.IsUnknown() }

// ValidateConfig refuses bad input at plan time, naming the attribute.
func (r *mediaBucketResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m mediaBucketResourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if known(m.Bucket) {
		if err := objectstore.ValidateBucketName(m.Bucket.ValueString()); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("bucket"), "Invalid bucket name", "bucket: "+err.Error())
		}
	}
	endpoint := envOr(m.Endpoint, envS3Endpoint)
	if !m.Endpoint.IsUnknown() && endpoint != "" {
		if err := objectstore.ValidateEndpoint(endpoint); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("endpoint"), "Invalid endpoint", "endpoint: "+err.Error())
		}
	}
	if known(m.AliasHost) {
		if err := objectstore.ValidateHost(m.AliasHost.ValueString()); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("alias_host"), "Invalid alias host", "alias_host: "+err.Error())
		}
	}
	if known(m.CORSAllowedOrigins) {
		for i, v := range m.CORSAllowedOrigins.Elements() {
			if s, ok := v.(types.String); ok && known(s) {
				if err := objectstore.ValidateOrigin(s.ValueString()); err != nil {
					resp.Diagnostics.AddAttributeError(path.Root("cors_allowed_origins").AtListIndex(i), "Invalid CORS origin", "cors_allowed_origins: "+err.Error())
				}
			}
		}
	}
	if known(m.PublicAccess) && !m.Endpoint.IsUnknown() {
		if err := objectstore.KindOf(endpoint).Supports(objectstore.Access(m.PublicAccess.ValueString())); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("public_access"), "Public access not supported by this store", "public_access: "+err.Error())
		}
	}
	// Conflicts only between values both given; a requirement only when
	// the required value is surely null.
	checkSecretKey("secret_access_key", m.SecretAccessKey, m.SecretAccessKeyWO, m.SecretAccessKeyWOVersion, &resp.Diagnostics)
	if m.AccessKeyID.IsNull() && os.Getenv(envS3AccessKey) == "" {
		resp.Diagnostics.AddAttributeError(path.Root("access_key_id"), "Missing access key",
			"access_key_id is not set and neither is "+envS3AccessKey+".")
	}
	if m.SecretAccessKey.IsNull() && m.SecretAccessKeyWO.IsNull() && os.Getenv(envS3SecretKey) == "" {
		resp.Diagnostics.AddAttributeError(path.Root("secret_access_key"), "Missing secret key",
			"secret_access_key (or secret_access_key_wo) is not set and neither is "+envS3SecretKey+".")
	}
	checkSecretKey("instance_secret_access_key", m.InstanceSecretAccessKey, m.InstanceSecretKeyWO, m.InstanceSecretKeyWOV, &resp.Diagnostics)
	if known(m.InstanceAccessKeyID) && m.InstanceSecretAccessKey.IsNull() && m.InstanceSecretKeyWO.IsNull() {
		resp.Diagnostics.AddAttributeError(path.Root("instance_secret_access_key"), "Missing secret key for Mastodon",
			"instance_access_key_id is set: give its secret in instance_secret_access_key or instance_secret_access_key_wo.")
	}
	if (known(m.InstanceSecretAccessKey) || known(m.InstanceSecretKeyWO)) && m.InstanceAccessKeyID.IsNull() {
		resp.Diagnostics.AddAttributeError(path.Root("instance_access_key_id"), "Missing access key for Mastodon",
			"instance_secret_access_key is set without instance_access_key_id: give the key ID that goes with it.")
	}
}

// checkSecretKey checks a secret key given in clear (name) or write-only
// (name_wo, versioned by name_wo_version).
func checkSecretKey(name string, clear, wo types.String, version types.Int64, diags *diag.Diagnostics) {
	if known(clear) && known(wo) {
		diags.AddAttributeError(path.Root(name+"_wo"), "Conflicting secret keys", name+"_wo conflicts with "+name+": give one of them.")
	}
	if known(version) && wo.IsNull() {
		diags.AddAttributeError(path.Root(name+"_wo_version"), "Missing write-only secret key", name+"_wo_version versions "+name+"_wo, which is not set.")
	}
}

// ModifyPlan fills the defaults that depend on the store, where the
// configuration leaves a value out (an unknown value stays unknown: it may
// be anything, null included), and the settings when everything they are
// made of is known.
func (r *mediaBucketResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var plan, config mediaBucketResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.Config.Get(ctx, &config)...)
	if resp.Diagnostics.HasError() {
		return
	}
	endpointKnown := !config.Endpoint.IsUnknown()
	kind := objectstore.KindOf(envOr(config.Endpoint, envS3Endpoint))
	if config.Region.IsNull() && plan.Region.IsUnknown() {
		plan.Region = types.StringValue(cmp.Or(os.Getenv(envS3Region), "us-east-1"))
	}
	if config.PathStyle.IsNull() && plan.PathStyle.IsUnknown() && endpointKnown {
		plan.PathStyle = types.BoolValue(kind == objectstore.KindGeneric)
	}
	if config.PublicAccess.IsNull() {
		// Unset: the store type's default, planned again each time, so a
		// refresh that found the policy gone shows as a change.
		plan.PublicAccess = types.StringUnknown()
		if endpointKnown {
			plan.PublicAccess = types.StringValue(string(kind.DefaultAccess()))
		}
	}
	plan.ID = plan.Bucket
	if !req.State.Raw.IsNull() {
		var state mediaBucketResourceModel
		resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
		plan.Created = state.Created
	}
	s, d := plan.settings(ctx, config.SecretAccessKeyWO.ValueString(), config.InstanceSecretKeyWO.ValueString())
	resp.Diagnostics.Append(d...)
	inputs := []attr.Value{plan.Bucket, config.Endpoint, plan.Region, plan.PathStyle, plan.PublicAccess, plan.AliasHost,
		config.AccessKeyID, config.SecretAccessKey, config.InstanceAccessKeyID, config.InstanceSecretAccessKey}
	plan.Settings = types.ObjectUnknown(settingsTypes)
	if !slices.ContainsFunc(inputs, attr.Value.IsUnknown) {
		plan.Settings = s.instanceSettings()
	}
	warnKeys(config, s, endpointKnown, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

// warnKeys says at plan time where Mastodon's keys are not what they
// should be: the managing keys on AWS, or none at all.
func warnKeys(config mediaBucketResourceModel, s bucketSettings, endpointKnown bool, diags *diag.Diagnostics) {
	const how = "\n\nGive Mastodon a key of its own that may only list this bucket and read, write and delete its objects: instance_access_key_id and " +
		"instance_secret_access_key (the documentation of mastodon_media_bucket shows the IAM policy, GCS service account and R2 token)."
	if config.InstanceAccessKeyID.IsNull() && config.AccessKeyID.IsNull() {
		diags.AddAttributeWarning(path.Root("instance_access_key_id"), "The bucket's settings carry no keys",
			"The managing keys come from "+envS3AccessKey+" and "+envS3SecretKey+", which are never given to Mastodon, so settings.access_key_id "+
				"and settings.secret_access_key are null: mastodon_instance.media_bucket then reaches the bucket without keys, through its Pods' "+
				"identity (service_account), which GCS refuses and other stores than AWS S3 seldom offer."+how)
		return
	}
	if !endpointKnown || s.cfg.Endpoint != "" || config.AccessKeyID.IsUnknown() || config.InstanceAccessKeyID.IsUnknown() {
		return
	}
	switch {
	case config.InstanceAccessKeyID.IsNull():
		diags.AddAttributeWarning(path.Root("instance_access_key_id"), "Mastodon gets the key that manages the bucket",
			"instance_access_key_id is not set, so settings carry access_key_id: every Mastodon Pod then holds a key that may "+
				"create and delete buckets and change their policies."+how)
	case config.InstanceAccessKeyID.ValueString() == s.cfg.AccessKeyID:
		diags.AddAttributeWarning(path.Root("instance_access_key_id"), "Mastodon gets the key that manages the bucket",
			"instance_access_key_id is the key this resource manages the bucket with."+how)
	}
}

// privateData is the private state of a request or response.
type privateData interface {
	GetKey(ctx context.Context, key string) ([]byte, diag.Diagnostics)
	SetKey(ctx context.Context, key string, value []byte) diag.Diagnostics
}

// getClaim and keepClaim are heldClaim and holdClaim (the instance's) with
// the diagnostics appended.
func getClaim(ctx context.Context, p privateData, diags *diag.Diagnostics) string {
	id, d := heldClaim(ctx, p)
	diags.Append(d...)
	return id
}

func keepClaim(ctx context.Context, p privateData, id string, diags *diag.Diagnostics) {
	diags.Append(holdClaim(ctx, p, id)...)
}

// adopting says whether the state is an import that has not adopted the
// bucket's claim yet.
func adopting(ctx context.Context, p privateData, diags *diag.Diagnostics) bool {
	b, d := p.GetKey(ctx, adoptKey)
	diags.Append(d...)
	return len(b) > 0
}

// claimedDiag reports a bucket that carries another state's claim.
func claimedDiag(s bucketSettings, err *objectstore.ClaimedError, isNew bool, diags *diag.Diagnostics) {
	importHint := fmt.Sprintf("To manage it from this state instead, remove it from the other one (`terraform state rm <address>`, or a `removed` block), "+
		"then import it here: `terraform import <address> %s`, or an import block with id = %q.", s.importID(), s.importID())
	if isNew {
		diags.AddAttributeError(path.Root("bucket"), "The bucket already exists and is managed by another Terraform state",
			fmt.Sprintf("%v. Nothing was changed.\n\n%s", err, importHint))
		return
	}
	diags.AddAttributeError(path.Root("bucket"), "This bucket was claimed by another Terraform state",
		fmt.Sprintf("%v. Two states manage it, and nothing this one plans is applied until one lets it go. "+
			"If the other state should have it: `terraform state rm <address>` here. Otherwise remove it from the other state and delete the object %s; "+
			"the next apply that changes this resource here claims it again.\n\n%s", err, objectstore.ClaimKey, importHint))
}

// prepareFailed reports why prepare failed, naming the attribute to fix
// where there is one.
func prepareFailed(s bucketSettings, err error, isNew bool, diags *diag.Diagnostics) {
	var other *objectstore.ClaimedError
	switch {
	case errors.As(err, &other):
		claimedDiag(s, other, isNew, diags)
	case objectstore.RefusedCredentials(err):
		diags.AddError("The store refused the credentials", fmt.Sprintf("%v\n\nCheck access_key_id and secret_access_key (for GCS: an HMAC key of a service account with access to the bucket).", err))
	case errors.Is(err, objectstore.ErrNoBucketCORS):
		diags.AddAttributeError(path.Root("cors_allowed_origins"), "The store has no per-bucket CORS", err.Error()+"\n\nLeave cors_allowed_origins unset.")
	case errors.Is(err, objectstore.ErrNotPublic) && s.access == objectstore.AccessACL:
		diags.AddAttributeError(path.Root("public_access"), "The media bucket is not ready", err.Error()+"\n\nWhere the store ignores object ACLs, set public_access = \"policy\".")
	default:
		diags.AddError("The media bucket is not ready", err.Error())
	}
}

// prepare makes the bucket ready, claims it for this state (ours: the
// state's claim, "" for a new one) and proves it; it returns whether it
// created the bucket, and the claim. A bucket it created is deleted again
// when a later step fails, and a claim it wrote on a bucket it did not
// create is taken back, so a failed create leaves nothing behind.
func (r *mediaBucketResource) prepare(ctx context.Context, s bucketSettings, create bool, ours string, adopt, isNew bool, diags *diag.Diagnostics) (created bool, claim string) {
	store := objectstore.New(s.cfg)
	claimed := false
	fail := func(err error) {
		prepareFailed(s, err, isNew, diags)
		switch {
		case created:
			if derr := store.Destroy(ctx, nil); derr != nil {
				diags.AddWarning("The bucket created by this apply was left behind", derr.Error())
			}
		case claimed:
			if derr := store.ReleaseClaim(ctx, claim); derr != nil {
				diags.AddWarning("The claim written by this apply was left behind",
					fmt.Sprintf("%v\n\nDelete the object %s, or a later create of this bucket is refused.", derr, objectstore.ClaimKey))
			}
		}
	}
	exists, err := store.Exists(ctx)
	if err != nil {
		fail(err)
		return false, ""
	}
	live := ""
	if exists {
		// Before anything changes: a bucket another state claimed is not ours to touch.
		if live, err = store.Claim(ctx); err != nil {
			fail(err)
			return false, ""
		}
		if ours == "" && adopt {
			ours = live // an import whose refresh could not adopt the claim
		}
		if live != "" && live != ours {
			fail(&objectstore.ClaimedError{Bucket: s.cfg.Bucket, Claim: live, Ours: ours})
			return false, ""
		}
	} else {
		if !create {
			diags.AddAttributeError(path.Root("bucket"), "The bucket does not exist",
				fmt.Sprintf("Bucket %s does not exist at %s and create is false.", s.cfg.Bucket, s.cfg.EffectiveEndpoint()))
			return false, ""
		}
		if !isNew {
			tflog.Warn(ctx, "the bucket was gone: creating it again", map[string]any{"bucket": s.cfg.Bucket})
		}
		if err := store.Create(ctx, s.access); err != nil {
			fail(err)
			return false, ""
		}
		created = true
	}
	claim = ours
	if claim == "" {
		var d diag.Diagnostics
		if claim, d = newClaim(); d.HasError() {
			diags.Append(d...)
			return false, ""
		}
	}
	if live != claim {
		if err := store.SetClaim(ctx, claim); err != nil {
			fail(err)
			return false, ""
		}
		claimed = true
	}
	if err := store.SetPublicAccess(ctx, s.access); err != nil {
		fail(err)
		return false, ""
	}
	if s.origins != nil {
		if err := store.SetCORS(ctx, s.origins); err != nil {
			fail(err)
			return false, ""
		}
	}
	prover := store
	if s.proveID != s.cfg.AccessKeyID || s.proveSecret != s.cfg.SecretAccessKey {
		c := s.cfg
		c.AccessKeyID, c.SecretAccessKey = s.proveID, s.proveSecret
		prover = objectstore.New(c)
	}
	var aliasErr error
	err = proveNewKey(ctx, prover != store, func() (err error) {
		if prover != store {
			// Mastodon lists the bucket too: tootctl media remove-orphans and the backup's pruning.
			if _, err := prover.Exists(ctx); err != nil {
				return err
			}
		}
		aliasErr, err = prover.Prove(ctx, s.access, s.aliasBase())
		return err
	})
	if err != nil && prover != store && objectstore.RefusedCredentials(err) {
		diags.AddAttributeError(path.Root("instance_access_key_id"), "The store refused Mastodon's key",
			fmt.Sprintf("%v\n\nThe proof lists the bucket and writes, reads and deletes a test object with instance_access_key_id, as Mastodon will: the key needs "+
				"s3:ListBucket on the bucket and s3:PutObject, s3:GetObject and s3:DeleteObject on its objects (and s3:PutObjectAcl with public_access = \"acl\").", err))
		err = errors.New("the proof with instance_access_key_id failed")
	}
	if err != nil {
		fail(err)
		return false, ""
	}
	if aliasErr != nil {
		diags.AddAttributeWarning(path.Root("alias_host"), "Media is not served at the alias host yet",
			fmt.Sprintf("%v\n\nMastodon links media at %s. The bucket itself works; a CDN or DNS record created in the same apply may need minutes before it serves objects. The alias is checked again whenever this resource is updated.", aliasErr, s.aliasBase()))
	}
	return created, claim
}

// newKeyPropagation is how long the proof waits for Mastodon's key to be
// known: a key (and its policy) created in the same apply, such as an
// aws_iam_access_key, takes seconds before the store accepts it.
var newKeyPropagation = 90 * time.Second

// proveNewKey runs prove, and again every few seconds while Mastodon's own
// key (separate) is refused as a key that has not propagated yet.
func proveNewKey(ctx context.Context, separate bool, prove func() error) error {
	deadline := time.Now().Add(newKeyPropagation)
	for {
		err := prove()
		if err == nil || !separate || !objectstore.KeyNotYetKnown(err) || time.Now().After(deadline) {
			return err
		}
		tflog.Info(ctx, "the store refused Mastodon's key; a key created in this apply may take seconds to be known: trying again", map[string]any{"error": err.Error()})
		select {
		case <-ctx.Done():
			return err
		case <-time.After(proveRetryEvery):
		}
	}
}

var proveRetryEvery = 5 * time.Second

func (r *mediaBucketResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	r.write(ctx, req.Plan, req.Config, nil, "", false, resp.Private, &resp.State, resp.Identity, &resp.Diagnostics)
}

func (r *mediaBucketResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var state mediaBucketResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	ours := getClaim(ctx, req.Private, &resp.Diagnostics)
	adopt := adopting(ctx, req.Private, &resp.Diagnostics)
	r.write(ctx, req.Plan, req.Config, &state, ours, adopt, resp.Private, &resp.State, resp.Identity, &resp.Diagnostics)
}

func (r *mediaBucketResource) write(ctx context.Context, planned tfsdk.Plan, config tfsdk.Config, prior *mediaBucketResourceModel, ours string, adopt bool,
	private privateData, out *tfsdk.State, identity *tfsdk.ResourceIdentity, diags *diag.Diagnostics) {
	var plan, cfg mediaBucketResourceModel
	diags.Append(planned.Get(ctx, &plan)...)
	diags.Append(config.Get(ctx, &cfg)...)
	timeout := plan.Timeouts.Create
	if prior != nil {
		timeout = plan.Timeouts.Update
	}
	ctx, cancel, _, ok := begin(ctx, timeout, defaultBucketWriteTimeout, nil, diags)
	defer cancel()
	if !ok {
		return
	}
	s, d := plan.settings(ctx, cfg.SecretAccessKeyWO.ValueString(), cfg.InstanceSecretKeyWO.ValueString())
	diags.Append(d...)
	if diags.HasError() {
		return
	}
	created, claim := r.prepare(ctx, s, plan.Create.ValueBool(), ours, adopt, prior == nil, diags)
	if diags.HasError() {
		return
	}
	keepClaim(ctx, private, claim, diags)
	diags.Append(private.SetKey(ctx, adoptKey, nil)...)
	// created says what the create did, and never changes after it.
	plan.Created = types.BoolValue(created)
	if prior != nil {
		plan.Created = prior.Created
	}
	plan.ID = plan.Bucket
	plan.Settings = s.instanceSettings()
	diags.Append(out.Set(ctx, &plan)...)
	diags.Append(setIdentity(ctx, identity, plan.identity()...)...)
}

func (r *mediaBucketResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state mediaBucketResourceModel
	if !readState(ctx, req, resp, &state) {
		return
	}
	ctx, cancel, _, ok := begin(ctx, state.Timeouts.Read, defaultReadTimeout, nil, &resp.Diagnostics)
	defer cancel()
	if !ok {
		return
	}
	s, d := state.settings(ctx, "", "")
	resp.Diagnostics.Append(d...)
	if s.cfg.SecretAccessKey == "" {
		tflog.Warn(ctx, "no secret key to check the bucket with (secret_access_key_wo is not stored): set "+envS3SecretKey+" to check it on refresh",
			map[string]any{"bucket": s.cfg.Bucket})
		if !state.Created.IsNull() {
			// Not the import's own refresh: its adoption is over.
			resp.Diagnostics.Append(resp.Private.SetKey(ctx, adoptKey, nil)...)
			return
		}
		// The import's refresh: the apply of this run adopts the claim
		// (adoptKey stays). Fill what does not need the store, so that
		// the plan does not replace the bucket over a null region.
		state.Created = types.BoolValue(false)
		state.Region = types.StringValue(s.cfg.Region)
		state.PathStyle = types.BoolValue(s.cfg.PathStyle)
		resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
		return
	}
	store := objectstore.New(s.cfg)
	exists, err := store.Exists(ctx)
	if err != nil {
		resp.Diagnostics.AddError("Cannot read the media bucket", err.Error())
		return
	}
	if !exists {
		tflog.Info(ctx, "the bucket is gone: removing it from state", map[string]any{"bucket": s.cfg.Bucket})
		resp.State.RemoveResource(ctx)
		return
	}
	imported := state.Created.IsNull()
	if !r.checkClaim(ctx, store, s, imported, req.Private, resp.Private, &resp.Diagnostics) {
		return
	}
	got, err := store.PublicAccess(ctx)
	if err != nil {
		resp.Diagnostics.AddError("Cannot read the media bucket's policy", err.Error())
		return
	}
	// A policy is all a refresh can see: ACLs are per object.
	switch kindDefault := objectstore.KindOf(s.cfg.Endpoint).DefaultAccess(); {
	case got == objectstore.AccessPolicy:
		state.PublicAccess = types.StringValue(string(got))
	case imported && kindDefault != objectstore.AccessPolicy:
		state.PublicAccess = types.StringValue(string(kindDefault))
	case imported || s.access == objectstore.AccessPolicy:
		state.PublicAccess = types.StringValue(string(objectstore.AccessNone)) // no policy, or it was removed
	}
	if imported || !state.CORSAllowedOrigins.IsNull() {
		origins, err := store.CORS(ctx)
		if err != nil {
			resp.Diagnostics.AddError("Cannot read the media bucket's CORS rules", err.Error())
			return
		}
		if len(origins) > 0 || !state.CORSAllowedOrigins.IsNull() {
			var d diag.Diagnostics
			state.CORSAllowedOrigins, d = types.ListValueFrom(ctx, types.StringType, append([]string{}, origins...))
			resp.Diagnostics.Append(d...)
		}
	}
	if imported {
		state.Created = types.BoolValue(false)
		state.Region = types.StringValue(s.cfg.Region)
		state.PathStyle = types.BoolValue(s.cfg.PathStyle)
	}
	s, d = state.settings(ctx, "", "")
	resp.Diagnostics.Append(d...)
	state.Settings = s.instanceSettings()
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

// checkClaim compares the bucket's claim with this state's, and never
// writes: a refresh also runs in plans, whose state Terraform throws away.
// The import's own refresh adopts the live claim. A bucket without a claim
// (a state of an earlier release, an import of an unclaimed bucket, a claim
// deleted by hand) is fine: the next create or update writes this state's
// claim, or a new one. Another state's claim is an error. Reading the claim
// ends an import's adoption. It returns false on an error.
func (r *mediaBucketResource) checkClaim(ctx context.Context, store *objectstore.Store, s bucketSettings, imported bool, in, out privateData, diags *diag.Diagnostics) bool {
	ours := getClaim(ctx, in, diags)
	live, err := store.Claim(ctx)
	if err != nil {
		diags.AddError("Cannot read the media bucket's claim", err.Error())
		return false
	}
	diags.Append(out.SetKey(ctx, adoptKey, nil)...)
	keep, conflict := reconcileClaim(ours, live, imported)
	switch {
	case conflict:
		claimedDiag(s, &objectstore.ClaimedError{Bucket: s.cfg.Bucket, Claim: live, Ours: ours}, false, diags)
		return false
	case keep != ours:
		tflog.Info(ctx, "import adopts the bucket's claim", map[string]any{"bucket": s.cfg.Bucket})
		keepClaim(ctx, out, keep, diags)
	case live == "":
		tflog.Info(ctx, "the bucket carries no claim: the next apply that creates or updates it writes this state's",
			map[string]any{"bucket": s.cfg.Bucket, "key": objectstore.ClaimKey})
	}
	return true
}

func (r *mediaBucketResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state mediaBucketResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	ctx, cancel, _, ok := begin(ctx, state.Timeouts.Delete, defaultBucketDeleteTimeout, nil, &resp.Diagnostics)
	defer cancel()
	if !ok {
		return
	}
	destroy := state.ForceDestroy.ValueBool() && state.Created.ValueBool()
	fields := map[string]any{"bucket": state.Bucket.ValueString(), "force_destroy": state.ForceDestroy.ValueBool(), "created": state.Created.ValueBool()}
	s, d := state.settings(ctx, "", "")
	resp.Diagnostics.Append(d...)
	if s.cfg.SecretAccessKey == "" {
		if destroy {
			resp.Diagnostics.AddError("Cannot delete the media bucket", "force_destroy needs the secret key, which secret_access_key_wo does not keep: set "+envS3SecretKey+" for the destroy.")
			return
		}
		tflog.Warn(ctx, "leaving the bucket and its objects in place; without a secret key ("+envS3SecretKey+") its claim stays", fields)
		return
	}
	store := objectstore.New(s.cfg)
	ours := getClaim(ctx, req.Private, &resp.Diagnostics)
	exists, err := store.Exists(ctx)
	var live string
	if err == nil && exists {
		live, err = store.Claim(ctx)
	}
	switch {
	case err != nil && destroy:
		resp.Diagnostics.AddError("Cannot delete the media bucket", err.Error())
		return
	case err != nil:
		resp.Diagnostics.AddWarning("The bucket's claim was not released",
			fmt.Sprintf("%v\n\nThe bucket and its objects stay. Delete the object %s, or a later create of this bucket is refused.", err, objectstore.ClaimKey))
		return
	case !exists:
		return
	case destroy && live != "" && live != ours:
		resp.Diagnostics.AddWarning("The bucket was left in place: another Terraform state claimed it",
			fmt.Sprintf("%v. force_destroy deletes only a bucket that carries this state's claim; the bucket and its objects stay.",
				&objectstore.ClaimedError{Bucket: s.cfg.Bucket, Claim: live, Ours: ours}))
		return
	case !destroy:
		tflog.Info(ctx, "leaving the bucket and its objects in place", fields)
		if ours != "" {
			if err := store.ReleaseClaim(ctx, ours); err != nil {
				resp.Diagnostics.AddWarning("The bucket's claim was not released",
					fmt.Sprintf("%v\n\nDelete the object %s, or a later create of this bucket is refused.", err, objectstore.ClaimKey))
			}
		}
		return
	}
	deleted, last := 0, time.Now()
	err = store.Destroy(ctx, func(n int) {
		deleted = n
		if time.Since(last) >= destroyProgressEvery {
			last = time.Now()
			tflog.Info(ctx, "deleting the bucket's objects", map[string]any{"bucket": s.cfg.Bucket, "deleted": n})
		}
	})
	if err != nil {
		resp.Diagnostics.AddError("Cannot delete the media bucket", fmt.Sprintf("%v\n\n%d objects were deleted; the next destroy goes on with the rest.", err, deleted))
		return
	}
	tflog.Info(ctx, "deleted the bucket and its objects", map[string]any{"bucket": s.cfg.Bucket, "deleted": deleted})
}

// destroyProgressEvery is how often a force_destroy logs its progress.
var destroyProgressEvery = 10 * time.Second

// identity is the bucket's resource identity.
func (m *mediaBucketResourceModel) identity() []any {
	return []any{"endpoint", m.Endpoint, "bucket", m.Bucket}
}

// ImportState takes a bucket name, or the endpoint URL followed by the
// bucket name (https://storage.googleapis.com/my-media), or an import
// block's identity. Credentials come from the environment until the
// configuration gives them. The refresh that follows adopts the bucket's
// claim, or, when it has no secret key, the apply of the same run (an
// import block); nothing later does (adoptKey).
func (r *mediaBucketResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if id, ok := identityValues(ctx, req.Identity, &resp.Diagnostics, "endpoint", "bucket"); ok {
		req.ID = id["bucket"].ValueString()
		if !id["endpoint"].IsNull() {
			req.ID = strings.TrimRight(id["endpoint"].ValueString(), "/") + "/" + req.ID
		}
	}
	bucket, endpoint := req.ID, types.StringNull()
	if u, err := url.Parse(req.ID); err == nil && u.Scheme != "" && u.Host != "" {
		bucket = strings.Trim(u.Path, "/")
		endpoint = types.StringValue(u.Scheme + "://" + u.Host)
	}
	if err := objectstore.ValidateBucketName(bucket); err != nil {
		resp.Diagnostics.AddError("Invalid import ID", fmt.Sprintf("Expected a bucket name or an endpoint URL followed by /<bucket>: %v", err))
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), bucket)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("bucket"), bucket)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("endpoint"), endpoint)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("create"), true)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("force_destroy"), false)...)
	resp.Diagnostics.Append(resp.Private.SetKey(ctx, adoptKey, []byte("true"))...)
}
