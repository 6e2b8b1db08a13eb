package provider

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	k8sresource "k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tootform/terraform-provider-mastodon/internal/kube"
	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

const (
	defaultCreateTimeout = 20 * time.Minute
	defaultUpdateTimeout = 20 * time.Minute
	defaultDeleteTimeout = 10 * time.Minute
	// defaultReadTimeout bounds a refresh (an API server that does not
	// answer holds a plan no longer than this).
	defaultReadTimeout = 2 * time.Minute
)

type instanceResource struct {
	clients *clientSource
}

func newInstanceResource() resource.Resource { return &instanceResource{} }

func (r *instanceResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_instance"
}

func (r *instanceResource) IdentitySchema(_ context.Context, _ resource.IdentitySchemaRequest, resp *resource.IdentitySchemaResponse) {
	resp.IdentitySchema = identitySchema(
		identityAttr{name: "namespace", description: "The instance's namespace."},
		identityAttr{name: "name", description: "The instance's name."})
}

// identity is the instance's resource identity.
func (m *instanceModel) identity() []any {
	return []any{"namespace", m.Namespace, "name", m.Name}
}

func (r *instanceResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.clients = clientsFrom(req.ProviderData, &resp.Diagnostics)
}

// ValidateConfig refuses bad input at plan time, naming the attribute: the
// rules between attributes (a rule of one attribute alone is the schema's
// validator, instance_validators.go). It checks what is known even while
// other values are not (a cluster or a database created in the same
// apply): unknown values are read as null, and a problem is reported
// unless an unknown value could change it (see knownOnly). Everything is
// checked again at apply time.
func (r *instanceResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	unknown, known, err := splitUnknown(req.Config.Raw)
	if err != nil {
		resp.Diagnostics.AddError("Cannot read the configuration", err.Error())
		return
	}
	var m instanceModel
	resp.Diagnostics.Append((&tfsdk.Config{Schema: req.Config.Schema, Raw: known}).Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var diags diag.Diagnostics
	defer func() { resp.Diagnostics.Append(knownOnly(diags, unknown)...) }()
	// Two blocks conflict only when both are known and set: an unknown one
	// may end up null (`embedded_database = var.external ? null : {...}`).
	set := func(name string) bool {
		var v attr.Value
		_ = req.Config.GetAttribute(ctx, path.Root(name), &v)
		return v != nil && !v.IsNull() && !v.IsUnknown()
	}
	if set("media") && set("media_bucket") {
		resp.Diagnostics.AddAttributeError(path.Root("media"), "Conflicting media settings",
			"media configures the volume that holds uploads, which is not created when media_bucket is given: set one or the other.")
	}
	if set("database") && set("embedded_database") {
		resp.Diagnostics.AddAttributeError(path.Root("embedded_database"), "Conflicting database settings",
			"embedded_database configures the in-cluster PostgreSQL, which is not used when database (an external PostgreSQL) is given: set one or the other.")
	}
	if m.Version.IsNull() {
		m.Version = types.StringValue(mastodon.DefaultVersion)
	}
	if set("redis") && set("embedded_redis") {
		resp.Diagnostics.AddAttributeError(path.Root("embedded_redis"), "Conflicting Redis settings",
			"embedded_redis configures the in-cluster Redis, which is not used when redis (an external Redis) is given: set one or the other.")
	}
	validateWriteOnly(&m, unknown, &resp.Diagnostics)
	s, d := m.spec(ctx)
	diags.Append(d...)
	diags.Append(withWriteOnly(ctx, &m, s)...)
	for _, e := range s.Validate() {
		if !relatedUnknown(e, unknown) {
			diags.AddAttributeError(attributePath(e.Path), "Invalid "+e.Path, e.Path+": "+e.Message)
		}
	}
	for _, w := range s.Warnings() {
		if !relatedUnknown(w, unknown) {
			diags.AddAttributeWarning(attributePath(w.Path), "Check "+w.Path, w.Path+": "+w.Message)
		}
	}
}

// ModifyPlan plans what an apply will make true (planComputed), and
// refuses at plan time what the API server or Mastodon would refuse at
// apply time.
func (r *instanceResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		// Destroy: refuse it at plan time while protected.
		var state instanceModel
		resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
		// A destroy that abandons a takeover is decided by the destroy,
		// which looks at the release (abandonsTakeover).
		adoption, _ := heldAdoption(ctx, req.Private)
		if protected(&state) && adoption == nil {
			resp.Diagnostics.AddAttributeError(path.Root("deletion_protection"), "Deletion protection is on",
				fmt.Sprintf("mastodon_instance %s has deletion_protection = true: set it to false and apply before destroying it.", state.ID.ValueString()))
		}
		return
	}
	plan, unchanged, d := planComputed(ctx, req.State, resp.Plan)
	resp.Diagnostics.Append(d...)
	if !unchanged {
		resp.Plan = plan
	}
	r.planOwnSecrets(ctx, req, resp)
	if unchanged {
		return
	}
	var version types.String
	resp.Diagnostics.Append(resp.Plan.GetAttribute(ctx, path.Root("version"), &version)...)
	if req.State.Raw.IsNull() {
		if !version.IsUnknown() {
			if err := mastodon.CheckNewInstanceVersion(version.ValueString()); err != nil {
				resp.Diagnostics.AddAttributeError(path.Root("version"), "Version too old for a new instance", "version: "+err.Error()+".")
			}
		}
		r.refuseLiveAtPlan(ctx, resp.Plan, nil, req.Private, &resp.Diagnostics)
		r.warnMissingClasses(ctx, req, resp)
		r.checkKeptData(ctx, req, resp)
		r.checkSecretRefsAtPlan(ctx, resp.Plan, &resp.Diagnostics)
		return
	}
	var state instanceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if !version.IsUnknown() && state.Version.ValueString() != version.ValueString() {
		if err := mastodon.CheckUpgrade(state.Version.ValueString(), version.ValueString()); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("version"), "Unsupported version change",
				fmt.Sprintf("version: %s -> %s: %v.", state.Version.ValueString(), version.ValueString(), err)+
					destroyAnyway("the instance", fmt.Sprintf("version = %q", state.Version.ValueString())))
		}
	}
	r.refuseReplacement(ctx, req, &state, resp)
	planTakeover(ctx, req, resp)
	if replaced(ctx, req) {
		r.checkKeptData(ctx, req, resp)
		r.refuseLiveAtPlan(ctx, resp.Plan, &state, req.Private, &resp.Diagnostics)
	}
	var immutable diag.Diagnostics
	refuseImmutable(ctx, req.Plan, &state, &immutable)
	resp.Diagnostics.Append(r.unlessNeverBound(ctx, &state, immutable)...)
	r.warnMissingClasses(ctx, req, resp)
	warnDatabaseMove(ctx, req.Plan, &state, &resp.Diagnostics)
	warnSidekiqRedisMove(ctx, req.Plan, &state, &resp.Diagnostics)
	if !replaced(ctx, req) {
		refuseLateRestore(ctx, req.Plan, req.State, &state, &resp.Diagnostics)
	}
	r.checkSecretRefsAtPlan(ctx, resp.Plan, &resp.Diagnostics)
}

// protected says whether deletion protection holds for an instance: on,
// and the instance completed once (a create that failed half way leaves an
// instance that its next apply replaces, protected or not).
func protected(m *instanceModel) bool {
	return m.DeletionProtection.ValueBool() && m.MigratedVersion.ValueString() != ""
}

// replacedBy are the attributes whose change creates a new instance.
var replacedBy = []string{"name", "namespace", "local_domain", "web_domain"}

// refuseReplacement refuses at plan time a replacement that deletion
// protection would refuse at apply time, half way.
func (r *instanceResource) refuseReplacement(ctx context.Context, req resource.ModifyPlanRequest, state *instanceModel, resp *resource.ModifyPlanResponse) {
	if !protected(state) {
		return
	}
	for _, a := range replacedBy {
		var was, now types.String
		resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root(a), &was)...)
		resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root(a), &now)...)
		if !now.IsUnknown() && !was.Equal(now) {
			resp.Diagnostics.AddAttributeError(path.Root(a), "Change requires a new instance, and deletion protection is on",
				fmt.Sprintf("%s: %s -> %s creates a new instance (Mastodon cannot change it in place), which would destroy %s first, "+
					"but deletion_protection = true. Set deletion_protection = false and apply first if that is what you want.",
					a, was, now, state.ID.ValueString()))
		}
	}
}

// refuseImmutable refuses at plan time the changes the API server refuses:
// a StatefulSet's volume claim templates and a claim's class and access
// mode cannot change, and a claim cannot shrink.
func refuseImmutable(ctx context.Context, plan tfsdk.Plan, state *instanceModel, diags *diag.Diagnostics) {
	str := func(p path.Path) types.String {
		var v types.String
		diags.Append(plan.GetAttribute(ctx, p, &v)...)
		return v
	}
	refuse := func(p path.Path, was, now types.String, why string) {
		if now.IsUnknown() || was.ValueString() == now.ValueString() {
			return
		}
		diags.AddAttributeError(p, "Cannot change "+p.String(), fmt.Sprintf("%s: %q -> %q: %s", p, was.ValueString(), now.ValueString(), why)+
			destroyAnyway("the instance", fmt.Sprintf("%s = %q", p, was.ValueString())))
	}
	var database, redis, bucket types.Object
	diags.Append(plan.GetAttribute(ctx, path.Root("database"), &database)...)
	diags.Append(plan.GetAttribute(ctx, path.Root("redis"), &redis)...)
	diags.Append(plan.GetAttribute(ctx, path.Root("media_bucket"), &bucket)...)
	// The embedded services' volumes come from their StatefulSets' claim
	// templates, which Kubernetes never lets change.
	embedded := func(block, service, claim string, size, class types.String, def string) {
		p := path.Root(block)
		why := fmt.Sprintf("the embedded %s's volume is made from its StatefulSet's volume claim template, which Kubernetes never lets change. "+
			"Keep the old value; to grow the volume, expand its claim (%s) where the storage class allows it.", service, claim)
		refuse(p.AtName("storage_size"), orDefault(size, def), orDefault(str(p.AtName("storage_size")), def), why)
		refuse(p.AtName("storage_class"), class, str(p.AtName("storage_class")), why)
	}
	if state.Database == nil && database.IsNull() {
		var size, class types.String
		if e := state.EmbeddedDatabase; e != nil {
			size, class = e.StorageSize, e.StorageClass
		}
		embedded("embedded_database", "PostgreSQL", "data-"+state.Name.ValueString()+"-postgresql-0", size, class, mastodon.DefaultDatabaseSize)
	}
	if state.Redis == nil && redis.IsNull() {
		var size, class types.String
		if e := state.EmbeddedRedis; e != nil {
			size, class = e.StorageSize, e.StorageClass
		}
		embedded("embedded_redis", "Redis", "data-"+state.Name.ValueString()+"-redis-0", size, class, mastodon.DefaultRedisSize)
	}
	if b := state.Backup; b != nil && state.MediaBucket == nil && bucket.IsNull() {
		// The backup volume, when the plan keeps it (a plan without the
		// block keeps the volume as it is).
		var backup types.Object
		diags.Append(plan.GetAttribute(ctx, path.Root("backup"), &backup)...)
		if !backup.IsNull() && !backup.IsUnknown() {
			p := path.Root("backup")
			refuse(p.AtName("storage_class"), b.StorageClass, str(p.AtName("storage_class")),
				"Kubernetes never lets a volume claim's storage class change. Keep the old value (or delete the claim "+state.Name.ValueString()+"-db-backup and its dumps first).")
			now := str(p.AtName("storage_size"))
			if a, c := quantity(orDefault(b.StorageSize, mastodon.DefaultBackupSize)), quantity(orDefault(now, mastodon.DefaultBackupSize)); a != nil && c != nil && c.Cmp(*a) < 0 {
				refuse(p.AtName("storage_size"), b.StorageSize, now, "a volume claim can grow (where its storage class allows it) but never shrink.")
			}
		}
	}
	if state.MediaBucket == nil && bucket.IsNull() {
		var size, class, mode types.String
		if m := state.Media; m != nil {
			size, class, mode = m.StorageSize, m.StorageClass, m.AccessMode
		}
		p := path.Root("media")
		const why = "Kubernetes never lets a volume claim's %s change. Keep the old value (moving media to another volume or to media_bucket is yours to do)."
		refuse(p.AtName("storage_class"), class, str(p.AtName("storage_class")), fmt.Sprintf(why, "storage class"))
		refuse(p.AtName("access_mode"), orDefault(mode, "ReadWriteOnce"), orDefault(str(p.AtName("access_mode")), "ReadWriteOnce"), fmt.Sprintf(why, "access mode"))
		now := str(p.AtName("storage_size"))
		if a, b := quantity(orDefault(size, mastodon.DefaultMediaSize)), quantity(orDefault(now, mastodon.DefaultMediaSize)); a != nil && b != nil && b.Cmp(*a) < 0 {
			refuse(p.AtName("storage_size"), size, now, "a volume claim can grow (where its storage class allows it) but never shrink.")
		}
	}
}

// destroyAnyway ends a plan-time refusal of a change to something that
// exists: `terraform destroy` plans the configuration first (to refresh
// state), so the refusal stops a destroy too, and says how to go on.
func destroyAnyway(what, putBack string) string {
	return "\n\nIf you want to destroy " + what + " instead: put back " + putBack + ", or run `terraform destroy -refresh=false` " +
		"(terraform destroy plans the configuration before it destroys, and this check refuses that plan too)."
}

func orDefault(v types.String, d string) types.String {
	if v.IsNull() {
		return types.StringValue(d)
	}
	return v
}

func quantity(v types.String) *k8sresource.Quantity {
	if v.IsUnknown() {
		return nil
	}
	q, err := k8sresource.ParseQuantity(v.ValueString())
	if err != nil {
		return nil
	}
	return &q
}

func (r *instanceResource) client() (*kube.Client, diag.Diagnostics) { return r.clients.diagClient() }

func (r *instanceResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan instanceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	ctx, cancel, c, ok := begin(ctx, plan.Timeouts.Create, defaultCreateTimeout, r.client, &resp.Diagnostics)
	defer cancel()
	// A create never takes over a live instance (instance_claim.go).
	if !ok || !refuseLiveInstance(ctx, c.List, c.Get, plan.Namespace.ValueString(), plan.Name.ValueString(), &resp.Diagnostics) {
		return
	}
	claim := createClaim(ctx, resp.Private, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	r.apply(ctx, req.Config, &plan, nil, claim, nil, &resp.State, &resp.Diagnostics)
	resp.Diagnostics.Append(setIdentity(ctx, resp.Identity, plan.identity()...)...)
}

func (r *instanceResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state instanceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	ctx, cancel, c, ok := begin(ctx, plan.Timeouts.Update, defaultUpdateTimeout, r.client, &resp.Diagnostics)
	defer cancel()
	// Never take over objects another state created again: a plan without
	// a refresh did not look.
	if !ok || !instanceUpdateClaimed(ctx, c.List, state.Namespace.ValueString(), state.Name.ValueString(), req.Private, &resp.Diagnostics) {
		return
	}
	claim, d := applyClaim(ctx, req.Private, false)
	resp.Diagnostics.Append(d...)
	resp.Diagnostics.Append(holdClaim(ctx, resp.Private, claim)...)
	if resp.Diagnostics.HasError() {
		return
	}
	adoption, d := heldAdoption(ctx, req.Private)
	resp.Diagnostics.Append(d...)
	if resp.Diagnostics.HasError() {
		return
	}
	r.apply(ctx, req.Config, &plan, &state, claim, adoption, &resp.State, &resp.Diagnostics)
	if adoption != nil && !resp.Diagnostics.HasError() {
		// Taken over: the release is no longer part of this instance.
		resp.Diagnostics.Append(holdAdoption(ctx, resp.Private, nil)...)
	}
	resp.Diagnostics.Append(setIdentity(ctx, resp.Identity, plan.identity()...)...)
}

// apply makes the cluster match plan: it is the whole of Create and
// Update, idempotent, so an apply interrupted half way is finished by the next.
func (r *instanceResource) apply(ctx context.Context, config tfsdk.Config, plan, prior *instanceModel, claim string, adoption *helmAdoption,
	out *tfsdk.State, diags *diag.Diagnostics) {
	c, d := r.client()
	diags.Append(d...)
	if diags.HasError() {
		return
	}
	var cfg instanceModel
	diags.Append(config.Get(ctx, &cfg)...)
	validateWriteOnly(&cfg, nil, diags) // at plan time too, unless values were unknown then
	spec, d := plan.spec(ctx)
	diags.Append(d...)
	diags.Append(withWriteOnly(ctx, &cfg, spec)...)
	givenWriteOnly(&cfg, spec)
	if err := keepWriteOnly(ctx, c, prior, plan, spec); err != nil {
		diags.AddError("Cannot read the instance's Secrets", err.Error())
		return
	}
	checkSecretRefs(ctx, c, spec, diags) // before anything changes
	for _, e := range spec.Validate() {
		diags.AddAttributeError(attributePath(e.Path), "Invalid "+e.Path, e.Path+": "+e.Message)
	}
	if diags.HasError() {
		return
	}
	secrets, ok := fillComputed(ctx, c, &cfg, prior, plan, spec, diags)
	if !ok {
		return
	}
	ns, name := spec.Namespace, spec.Name

	record, err := encodeRecord(ctx, plan, *out)
	if err != nil {
		diags.AddError("Cannot record the instance's configuration", err.Error())
		return
	}
	log := func(msg string) { tflog.Info(ctx, msg, map[string]any{"instance": ns + "/" + name}) }
	a := newInstanceApply(c, spec, secrets, record, prior, plan, log)
	if adoption != nil {
		a.takeover = &takeover{adoption: adoption}
		a.holdBack()
	}
	claimed := claimedObjects(a.first, spec)
	if prior != nil {
		setClaims(claimed, claim)
	}
	state, failed := a.run(ctx)
	if state != nil {
		diags.Append(out.Set(ctx, state)...)
	}
	for _, w := range a.warnings {
		diags.AddWarning("Load balancer address not known yet", w)
	}
	if prior == nil && state != nil && (failed == nil || failed.warning) {
		setClaims(claimed, claim)
		if err := c.Apply(ctx, claimed); err != nil {
			diags.AddWarning("The instance's claim was not written", fmt.Sprintf("mastodon_instance %s/%s runs, but its claim could not be written "+
				"on its ConfigMap and Secret (%v): the next apply that updates it writes it.", ns, name, err))
		}
	}
	if failed != nil {
		report := diags.AddError
		if failed.warning {
			report = diags.AddWarning
		}
		report(failed.title, fmt.Sprintf("mastodon_instance %s/%s, step %q:\n%s\n\n%s", ns, name, failed.step, failed.detail, failed.advice(a)))
	}
}

// fillComputed sets what the apply knows of the plan before it runs
// (instanceApply.run computes the rest): the ID, the URL, the generated
// secrets and their public VAPID key, and no drift. It returns the
// secrets; ok is false when diags got an error.
func fillComputed(ctx context.Context, c instanceCluster, cfg, prior, plan *instanceModel, spec *mastodon.Spec, diags *diag.Diagnostics) (_ mastodon.Secrets, ok bool) {
	ns := spec.Namespace
	plan.ID = types.StringValue(ns + "/" + spec.Name)
	plan.URL = types.StringValue(spec.URL())

	// Generated secrets: from state, else from the cluster (an earlier apply
	// that failed half way, or an instance destroyed with its data kept),
	// then those the configuration gives (own_secrets, cfg: changed only
	// where rotated), else new. Never regenerated, never cleared.
	var secrets mastodon.Secrets
	if prior != nil {
		secrets = secretsFromObject(prior.Secrets, prior.VapidPublicKey.ValueString())
	}
	if secrets.SecretKeyBase == "" {
		live, err := c.Get(ctx, "Secret", ns, spec.SecretName())
		if err != nil {
			msg := err.Error()
			if apierrors.IsForbidden(err) && plan.CreateNamespace.ValueBool() {
				msg += "\n\nIf namespace " + ns + " does not exist yet: creating it needs cluster-wide permissions (the ClusterRole of the " +
					"least-privilege guide); with permissions in an existing namespace only, create it first and set create_namespace = false."
			}
			diags.AddError("Cannot read the instance's Secret", msg)
			return secrets, false
		}
		if live != nil && mastodon.OwnedByInstance(live.GetLabels()) {
			secrets = mastodon.SecretsFromEnv(kube.SecretData(live), spec.Database == nil, spec.Redis == nil)
		}
	}
	if !takeOwnSecrets(ctx, c, cfg, plan, prior, &secrets, diags) {
		return secrets, false
	}
	if err := secrets.Fill(spec.Database == nil, spec.Redis == nil); err != nil {
		diags.AddError("Cannot generate secrets", err.Error())
		return secrets, false
	}
	plan.Secrets = secretsObject(secrets)
	plan.VapidPublicKey = types.StringValue(secrets.VapidPublicKey)
	plan.Drift = types.ListValueMust(types.StringType, []attr.Value{})
	return secrets, true
}

func findKind(objs []*unstructured.Unstructured, kind string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind {
			return o
		}
	}
	return nil
}

// ImportState takes `namespace/name`, or an import block's identity; or
// helm:<namespace>/<release>[/<name>] to adopt a Helm release
// (instance_adopt.go).
func (r *instanceResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if strings.HasPrefix(req.ID, helmImportPrefix) {
		ns, release, name, ok := parseHelmID(req.ID)
		if !ok {
			resp.Diagnostics.AddError("Invalid import ID", fmt.Sprintf("Adopt a Helm release by helm:<namespace>/<release>, or "+
				"helm:<namespace>/<release>/<name> to name the instance otherwise than the release, not %q.", req.ID))
			return
		}
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), ns+"/"+name)...)
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("namespace"), ns)...)
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), name)...)
		resp.Diagnostics.Append(holdAdoption(ctx, resp.Private, &helmAdoption{Release: release})...)
		return
	}
	if id, ok := identityValues(ctx, req.Identity, &resp.Diagnostics, "namespace", "name"); ok {
		req.ID = id["namespace"].ValueString() + "/" + id["name"].ValueString()
	}
	ns, name, ok := splitInstanceID(req.ID)
	if !ok {
		resp.Diagnostics.AddError("Invalid import ID", fmt.Sprintf("Import a mastodon_instance by namespace/name, not %q.", req.ID))
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("namespace"), ns)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), name)...)
}
