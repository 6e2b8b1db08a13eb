package provider

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"

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

var (
	_ resource.ResourceWithImportState    = (*mediaBucketResource)(nil)
	_ resource.ResourceWithIdentity       = (*mediaBucketResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*mediaBucketResource)(nil)
	_ resource.ResourceWithValidateConfig = (*mediaBucketResource)(nil)
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
				Description: "Access key ID (for GCS an HMAC key: `google_storage_hmac_key.x.access_id`). Environment variable: `" + envS3AccessKey + "`."},
			"secret_access_key": schema.StringAttribute{Optional: true, Sensitive: true,
				Description: "Secret access key (for GCS: `google_storage_hmac_key.x.secret`). Conflicts with `secret_access_key_wo`. Environment variable: `" + envS3SecretKey + "`."},
			"secret_access_key_wo": schema.StringAttribute{Optional: true, Sensitive: true, WriteOnly: true,
				Description: "Secret access key, write-only: never stored in state (Terraform 1.11+). `settings.secret_access_key` is then null: " +
					"give the key to the instance yourself. Refreshes check the bucket with `" + envS3SecretKey + "` when it is set, and skip the check otherwise."},
			"secret_access_key_wo_version": schema.Int64Attribute{Optional: true, Description: "Change it to use a new `secret_access_key_wo`."},
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
				Description: "Whether this resource created the bucket (only then does `force_destroy` delete it)."},
			"timeouts": timeouts.Attributes(ctx, timeouts.Opts{Read: true}),
			"settings": schema.SingleNestedAttribute{Computed: true, Sensitive: true,
				Description: "Everything `mastodon_instance.media_bucket` needs.",
				Attributes:  mediaBucketAttributes(true)},
		},
	}
}

// bucketSettings are the resolved settings of one bucket: attributes, else
// environment, else defaults.
type bucketSettings struct {
	cfg      objectstore.Config
	access   objectstore.Access
	alias    string
	origins  []string // nil: CORS not managed
	writeKey bool     // the secret came from secret_access_key_wo
}

func envOr(v types.String, env string) string {
	if !v.IsNull() && !v.IsUnknown() {
		return v.ValueString()
	}
	return os.Getenv(env)
}

func (m *mediaBucketResourceModel) settings(ctx context.Context, writeOnlyKey string) (bucketSettings, diag.Diagnostics) {
	var diags diag.Diagnostics
	s := bucketSettings{cfg: objectstore.Config{
		Bucket:          m.Bucket.ValueString(),
		Endpoint:        strings.TrimSuffix(envOr(m.Endpoint, envS3Endpoint), "/"),
		Region:          envOr(m.Region, envS3Region),
		AccessKeyID:     envOr(m.AccessKeyID, envS3AccessKey),
		SecretAccessKey: envOr(m.SecretAccessKey, envS3SecretKey),
	}, alias: m.AliasHost.ValueString()}
	if writeOnlyKey != "" {
		s.cfg.SecretAccessKey, s.writeKey = writeOnlyKey, true
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

// instanceSettings are what an instance needs to use the bucket.
func (s bucketSettings) instanceSettings() types.Object {
	secret := types.StringValue(s.cfg.SecretAccessKey)
	if s.writeKey {
		secret = types.StringNull()
	}
	return types.ObjectValueMust(settingsTypes, map[string]attr.Value{
		"bucket":            types.StringValue(s.cfg.Bucket),
		"endpoint":          types.StringValue(s.cfg.EffectiveEndpoint()),
		"region":            types.StringValue(s.cfg.Region),
		"alias_host":        nullable(s.alias),
		"permission":        types.StringValue(mastodon.S3Permission(s.access == objectstore.AccessACL)),
		"path_style":        types.BoolValue(s.cfg.PathStyle),
		"access_key_id":     types.StringValue(s.cfg.AccessKeyID),
		"secret_access_key": secret,
	})
}

var settingsTypes = map[string]attr.Type{
	"bucket": types.StringType, "endpoint": types.StringType, "region": types.StringType, "alias_host": types.StringType,
	"permission": types.StringType, "path_style": types.BoolType, "access_key_id": types.StringType, "secret_access_key": types.StringType,
}

// ValidateConfig refuses bad input at plan time, naming the attribute.
func (r *mediaBucketResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m mediaBucketResourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	known := func(v types.String) bool { return !v.IsNull() && !v.IsUnknown() }
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
	if !m.CORSAllowedOrigins.IsNull() && !m.CORSAllowedOrigins.IsUnknown() {
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
	if !m.SecretAccessKey.IsNull() && !m.SecretAccessKeyWO.IsNull() {
		resp.Diagnostics.AddAttributeError(path.Root("secret_access_key_wo"), "Conflicting secret keys",
			"secret_access_key_wo conflicts with secret_access_key: give one of them.")
	}
	if !m.SecretAccessKeyWOVersion.IsNull() && m.SecretAccessKeyWO.IsNull() {
		resp.Diagnostics.AddAttributeError(path.Root("secret_access_key_wo_version"), "Missing write-only secret key",
			"secret_access_key_wo_version versions secret_access_key_wo, which is not set.")
	}
	if m.AccessKeyID.IsNull() && os.Getenv(envS3AccessKey) == "" {
		resp.Diagnostics.AddAttributeError(path.Root("access_key_id"), "Missing access key",
			"access_key_id is not set and neither is "+envS3AccessKey+".")
	}
	if m.SecretAccessKey.IsNull() && m.SecretAccessKeyWO.IsNull() && os.Getenv(envS3SecretKey) == "" {
		resp.Diagnostics.AddAttributeError(path.Root("secret_access_key"), "Missing secret key",
			"secret_access_key (or secret_access_key_wo) is not set and neither is "+envS3SecretKey+".")
	}
}

// ModifyPlan fills the defaults that depend on the store, and the
// settings when everything they are made of is known.
func (r *mediaBucketResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var plan mediaBucketResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() || plan.Endpoint.IsUnknown() {
		return
	}
	var wo, access types.String
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("secret_access_key_wo"), &wo)...)
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("public_access"), &access)...)
	if access.IsNull() {
		// Unset: the store type's default, planned again each time, so a
		// refresh that found the policy gone shows as a change.
		plan.PublicAccess = types.StringUnknown()
	}
	s, d := plan.settings(ctx, wo.ValueString())
	resp.Diagnostics.Append(d...)
	if plan.Region.IsUnknown() {
		plan.Region = types.StringValue(s.cfg.Region)
	}
	if plan.PathStyle.IsUnknown() {
		plan.PathStyle = types.BoolValue(s.cfg.PathStyle)
	}
	if plan.PublicAccess.IsUnknown() {
		plan.PublicAccess = types.StringValue(string(s.access))
	}
	plan.ID = plan.Bucket
	if !req.State.Raw.IsNull() {
		var state mediaBucketResourceModel
		resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
		plan.Created = state.Created
	}
	inputs := []attr.Value{plan.Bucket, plan.AccessKeyID, plan.SecretAccessKey, plan.AliasHost, plan.PublicAccess}
	plan.Settings = types.ObjectUnknown(settingsTypes)
	if !slices.ContainsFunc(inputs, attr.Value.IsUnknown) {
		plan.Settings = s.instanceSettings()
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

// prepare makes the bucket ready and proves it; it returns whether it
// created the bucket. A bucket it created is deleted again when a later
// step fails, so a failed create leaves nothing behind.
func (r *mediaBucketResource) prepare(ctx context.Context, s bucketSettings, create, isNew bool, diags *diag.Diagnostics) bool {
	store := objectstore.New(s.cfg)
	created := false
	fail := func(err error) {
		switch {
		case objectstore.RefusedCredentials(err):
			diags.AddError("The store refused the credentials", fmt.Sprintf("%v\n\nCheck access_key_id and secret_access_key (for GCS: an HMAC key of a service account with access to the bucket).", err))
		case errors.Is(err, objectstore.ErrNoBucketCORS):
			diags.AddAttributeError(path.Root("cors_allowed_origins"), "The store has no per-bucket CORS", err.Error()+"\n\nLeave cors_allowed_origins unset.")
		case errors.Is(err, objectstore.ErrNotPublic) && s.access == objectstore.AccessACL:
			diags.AddAttributeError(path.Root("public_access"), "The media bucket is not ready", err.Error()+"\n\nWhere the store ignores object ACLs, set public_access = \"policy\".")
		default:
			diags.AddError("The media bucket is not ready", err.Error())
		}
		if created {
			if derr := store.Destroy(ctx); derr != nil {
				diags.AddWarning("The bucket created by this apply was left behind", derr.Error())
			}
		}
	}
	exists, err := store.Exists(ctx)
	if err != nil {
		fail(err)
		return false
	}
	if !exists {
		if !create {
			diags.AddAttributeError(path.Root("bucket"), "The bucket does not exist",
				fmt.Sprintf("Bucket %s does not exist at %s and create is false.", s.cfg.Bucket, s.cfg.EffectiveEndpoint()))
			return false
		}
		if !isNew {
			tflog.Warn(ctx, "the bucket was gone: creating it again", map[string]any{"bucket": s.cfg.Bucket})
		}
		if err := store.Create(ctx, s.access); err != nil {
			fail(err)
			return false
		}
		created = true
	}
	if err := store.SetPublicAccess(ctx, s.access); err != nil {
		fail(err)
		return false
	}
	if s.origins != nil {
		if err := store.SetCORS(ctx, s.origins); err != nil {
			fail(err)
			return false
		}
	}
	aliasErr, err := store.Prove(ctx, s.access, s.aliasBase())
	if err != nil {
		fail(err)
		return false
	}
	if aliasErr != nil {
		diags.AddAttributeWarning(path.Root("alias_host"), "Media is not served at the alias host yet",
			fmt.Sprintf("%v\n\nMastodon links media at %s. The bucket itself works; a CDN or DNS record created in the same apply may need minutes before it serves objects. The alias is checked again whenever this resource is updated.", aliasErr, s.aliasBase()))
	}
	return created
}

func (r *mediaBucketResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	r.write(ctx, req.Plan, req.Config, nil, &resp.State, resp.Identity, &resp.Diagnostics)
}

func (r *mediaBucketResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var state mediaBucketResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	r.write(ctx, req.Plan, req.Config, &state, &resp.State, resp.Identity, &resp.Diagnostics)
}

func (r *mediaBucketResource) write(ctx context.Context, planned tfsdk.Plan, config tfsdk.Config, prior *mediaBucketResourceModel, out *tfsdk.State, identity *tfsdk.ResourceIdentity, diags *diag.Diagnostics) {
	var plan mediaBucketResourceModel
	diags.Append(planned.Get(ctx, &plan)...)
	var wo types.String
	diags.Append(config.GetAttribute(ctx, path.Root("secret_access_key_wo"), &wo)...)
	if diags.HasError() {
		return
	}
	s, d := plan.settings(ctx, wo.ValueString())
	diags.Append(d...)
	if diags.HasError() {
		return
	}
	created := r.prepare(ctx, s, plan.Create.ValueBool(), prior == nil, diags)
	if diags.HasError() {
		return
	}
	plan.Created = types.BoolValue(created || (prior != nil && prior.Created.ValueBool()))
	plan.ID = plan.Bucket
	plan.Settings = s.instanceSettings()
	diags.Append(out.Set(ctx, &plan)...)
	diags.Append(setIdentity(ctx, identity, plan.identity()...)...)
}

func (r *mediaBucketResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state mediaBucketResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(setIdentity(ctx, resp.Identity, state.identity()...)...)
	timeout, d := state.Timeouts.Read(ctx, defaultReadTimeout)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	s, d := state.settings(ctx, "")
	resp.Diagnostics.Append(d...)
	if s.cfg.SecretAccessKey == "" {
		tflog.Warn(ctx, "no secret key to check the bucket with (secret_access_key_wo is not stored): set "+envS3SecretKey+" to check it on refresh",
			map[string]any{"bucket": s.cfg.Bucket})
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
	keptKey := !state.Settings.IsNull() && state.Settings.Attributes()["secret_access_key"].IsNull()
	s, d = state.settings(ctx, "")
	resp.Diagnostics.Append(d...)
	s.writeKey = keptKey // a write-only key stays out of settings, as create left it
	state.Settings = s.instanceSettings()
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *mediaBucketResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state mediaBucketResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if !state.ForceDestroy.ValueBool() || !state.Created.ValueBool() {
		tflog.Info(ctx, "leaving the bucket and its objects in place", map[string]any{"bucket": state.Bucket.ValueString(),
			"force_destroy": state.ForceDestroy.ValueBool(), "created": state.Created.ValueBool()})
		return
	}
	timeout, d := state.Timeouts.Read(ctx, defaultReadTimeout)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	s, d := state.settings(ctx, "")
	resp.Diagnostics.Append(d...)
	if s.cfg.SecretAccessKey == "" {
		resp.Diagnostics.AddError("Cannot delete the media bucket", "force_destroy needs the secret key, which secret_access_key_wo does not keep: set "+envS3SecretKey+" for the destroy.")
		return
	}
	if err := objectstore.New(s.cfg).Destroy(ctx); err != nil {
		resp.Diagnostics.AddError("Cannot delete the media bucket", err.Error())
	}
}

// identity is the bucket's resource identity.
func (m *mediaBucketResourceModel) identity() []any {
	return []any{"endpoint", m.Endpoint, "bucket", m.Bucket}
}

// ImportState takes a bucket name, or the endpoint URL followed by the
// bucket name (https://storage.googleapis.com/my-media), or an import
// block's identity. Credentials come
// from the environment until the configuration gives them.
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
}
