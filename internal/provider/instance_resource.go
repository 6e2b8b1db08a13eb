package provider

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tootform/terraform-provider-mastodon/internal/kube"
	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

const (
	defaultCreateTimeout = 20 * time.Minute
	defaultUpdateTimeout = 20 * time.Minute
	defaultDeleteTimeout = 10 * time.Minute
)

var (
	_ resource.ResourceWithConfigure      = (*instanceResource)(nil)
	_ resource.ResourceWithImportState    = (*instanceResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*instanceResource)(nil)
	_ resource.ResourceWithValidateConfig = (*instanceResource)(nil)
)

type instanceResource struct {
	clients *clientSource
}

func newInstanceResource() resource.Resource { return &instanceResource{} }

func (r *instanceResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_instance"
}

func (r *instanceResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.clients = clientsFrom(req.ProviderData, &resp.Diagnostics)
}

// ValidateConfig refuses bad input at plan time, naming the attribute.
func (r *instanceResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	if !req.Config.Raw.IsFullyKnown() {
		return // validated again at apply time, before anything is created
	}
	var m instanceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if m.Version.IsNull() {
		m.Version = types.StringValue(mastodon.DefaultVersion)
	}
	if m.Media != nil && m.MediaBucket != nil {
		resp.Diagnostics.AddAttributeError(path.Root("media"), "Conflicting media settings",
			"media configures the volume that holds uploads, which is not created when media_bucket is given: set one or the other.")
	}
	if m.Database != nil && m.EmbeddedDatabase != nil {
		resp.Diagnostics.AddAttributeError(path.Root("embedded_database"), "Conflicting database settings",
			"embedded_database configures the in-cluster PostgreSQL, which is not used when database (an external PostgreSQL) is given: set one or the other.")
	}
	if m.Redis != nil && m.EmbeddedRedis != nil {
		resp.Diagnostics.AddAttributeError(path.Root("embedded_redis"), "Conflicting Redis settings",
			"embedded_redis configures the in-cluster Redis, which is not used when redis (an external Redis) is given: set one or the other.")
	}
	for block, w := range map[string]*writeOnlyPassword{"database": dbWO(m.Database), "smtp": smtpWO(m.SMTP)} {
		if w == nil {
			continue
		}
		var plain types.String
		resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root(block).AtName("password"), &plain)...)
		if !plain.IsNull() && !w.PasswordWO.IsNull() {
			resp.Diagnostics.AddAttributeError(path.Root(block).AtName("password_wo"), "Conflicting passwords",
				block+".password_wo conflicts with "+block+".password: give one of them.")
		}
		if !w.PasswordWOVersion.IsNull() && w.PasswordWO.IsNull() {
			resp.Diagnostics.AddAttributeError(path.Root(block).AtName("password_wo_version"), "Missing write-only password",
				block+".password_wo_version versions "+block+".password_wo, which is not set.")
		}
	}
	s, diags := m.spec(ctx)
	resp.Diagnostics.Append(diags...)
	for _, e := range s.Validate() {
		resp.Diagnostics.AddAttributeError(attributePath(e.Path), "Invalid "+e.Path, e.Path+": "+e.Message)
	}
	for _, w := range s.Warnings() {
		resp.Diagnostics.AddAttributeWarning(attributePath(w.Path), "Check "+w.Path, w.Path+": "+w.Message)
	}
}

func dbWO(d *databaseModel) *writeOnlyPassword {
	if d == nil {
		return nil
	}
	return &d.writeOnlyPassword
}

func smtpWO(m *smtpModel) *writeOnlyPassword {
	if m == nil {
		return nil
	}
	return &m.writeOnlyPassword
}

// ModifyPlan plans an update when the last refresh found drift or
// unready workloads, and keeps what an apply always makes true.
func (r *instanceResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		// Destroy: refuse it at plan time while protected.
		var state instanceModel
		resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
		if state.DeletionProtection.ValueBool() {
			resp.Diagnostics.AddAttributeError(path.Root("deletion_protection"), "Deletion protection is on",
				fmt.Sprintf("mastodon_instance %s has deletion_protection = true: set it to false and apply before destroying it.", state.ID.ValueString()))
		}
		return
	}
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("ready"), types.BoolValue(true))...)
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("drift"), types.ListValueMust(types.StringType, []attr.Value{}))...)
	var version types.String
	resp.Diagnostics.Append(resp.Plan.GetAttribute(ctx, path.Root("version"), &version)...)
	// After an apply, every migration of the configured version has run: a
	// state that says otherwise (an upgrade that failed half way) plans an
	// update that resumes it.
	resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("migrated_version"), version)...)
	if req.State.Raw.IsNull() && !version.IsUnknown() {
		if err := mastodon.CheckNewInstanceVersion(version.ValueString()); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("version"), "Version too old for a new instance", "version: "+err.Error()+".")
		}
	}
	if req.State.Raw.IsNull() || version.IsUnknown() {
		return
	}
	var running types.String
	resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("version"), &running)...)
	if running.ValueString() != version.ValueString() {
		if err := mastodon.CheckUpgrade(running.ValueString(), version.ValueString()); err != nil {
			resp.Diagnostics.AddAttributeError(path.Root("version"), "Unsupported version change",
				fmt.Sprintf("version: %s -> %s: %v.", running.ValueString(), version.ValueString(), err))
		}
	}
}

func (r *instanceResource) client() (*kube.Client, diag.Diagnostics) { return r.clients.diagClient() }

func (r *instanceResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan instanceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := plan.Timeouts.Create(ctx, defaultCreateTimeout)
	resp.Diagnostics.Append(diags...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	wo, diags := readWriteOnly(ctx, req.Config)
	resp.Diagnostics.Append(diags...)
	r.apply(ctx, &plan, nil, wo, &resp.State, &resp.Diagnostics)
}

func (r *instanceResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state instanceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := plan.Timeouts.Update(ctx, defaultUpdateTimeout)
	resp.Diagnostics.Append(diags...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	wo, diags := readWriteOnly(ctx, req.Config)
	resp.Diagnostics.Append(diags...)
	r.apply(ctx, &plan, &state, wo, &resp.State, &resp.Diagnostics)
}

// apply makes the cluster match plan: it is the whole of Create and
// Update, idempotent, so an apply interrupted half way is finished by the next.
func (r *instanceResource) apply(ctx context.Context, plan, prior *instanceModel, wo writeOnlyValues, out *tfsdk.State, diags *diag.Diagnostics) {
	c, d := r.client()
	diags.Append(d...)
	if diags.HasError() {
		return
	}
	spec, d := plan.spec(ctx)
	diags.Append(d...)
	for _, e := range spec.Validate() {
		diags.AddAttributeError(attributePath(e.Path), "Invalid "+e.Path, e.Path+": "+e.Message)
	}
	if diags.HasError() {
		return
	}
	if spec.Database != nil && wo.database != "" {
		spec.Database.Password = wo.database
	}
	if spec.SMTP != nil && wo.smtp != "" {
		spec.SMTP.Password = wo.smtp
	}
	ns, name := spec.Namespace, spec.Name
	plan.ID = types.StringValue(ns + "/" + name)
	plan.URL = types.StringValue(spec.URL())

	// Generated secrets: from state, else from the cluster (an earlier apply
	// that failed half way), else new. Never regenerated.
	var secrets mastodon.Secrets
	if prior != nil {
		secrets, d = secretsFromObject(ctx, prior.Secrets, prior.VapidPublicKey.ValueString())
		diags.Append(d...)
	}
	if secrets.SecretKeyBase == "" {
		live, err := c.Get(ctx, "Secret", ns, spec.SecretName())
		if err != nil {
			diags.AddError("Cannot read the instance's Secret", err.Error())
			return
		}
		if live != nil {
			secrets = mastodon.SecretsFromEnv(kube.SecretData(live), spec.Database == nil, spec.Redis == nil)
		}
	}
	if err := secrets.Fill(spec.Database == nil, spec.Redis == nil); err != nil {
		diags.AddError("Cannot generate secrets", err.Error())
		return
	}
	if spec.Database != nil {
		secrets.DatabasePassword = ""
	}
	if spec.Redis != nil {
		secrets.RedisPassword = ""
	}
	plan.Secrets = secretsObject(secrets)
	plan.VapidPublicKey = types.StringValue(secrets.VapidPublicKey)
	plan.Ready = types.BoolValue(true)
	plan.Drift = types.ListValueMust(types.StringType, []attr.Value{})
	if plan.LoadBalancerIP.IsUnknown() {
		plan.LoadBalancerIP = types.StringNull()
	}
	if plan.LoadBalancerHostname.IsUnknown() {
		plan.LoadBalancerHostname = types.StringNull()
	}

	record, err := encodeRecord(ctx, plan, *out)
	if err != nil {
		diags.AddError("Cannot record the instance's configuration", err.Error())
		return
	}
	objs := spec.Render(secrets, plan.CreateNamespace.ValueBool(), record)
	var first, workloads []*unstructured.Unstructured
	keep := map[string]bool{}
	for _, o := range objs {
		u := o.Unstructured()
		keep[kube.Key(u)] = true
		if o.RunsRails() {
			workloads = append(workloads, u)
		} else {
			first = append(first, u)
		}
	}

	step := func(msg string) { tflog.Info(ctx, msg, map[string]any{"instance": ns + "/" + name}) }
	migrated := ""
	if prior != nil {
		migrated = prior.MigratedVersion.ValueString()
	}
	steps := spec.Plan(migrated)
	if prior != nil && migrated != spec.Version {
		step(fmt.Sprintf("upgrading from %s to %s: %d steps", migrated, spec.Version, len(steps)))
	}
	// keepPrior leaves state as it was: nothing changed in what runs.
	keepPrior := func() {
		if prior != nil {
			diags.Append(out.Set(ctx, prior)...)
		}
	}
	if hasStep(steps, mastodon.StepPreMigrate) {
		// Before anything is applied, so that a failure leaves the running
		// instance exactly as it was; the Job reads the instance's current
		// ConfigMap and Secret.
		step("step 1/3: " + string(mastodon.StepPreMigrate) + " with " + spec.Image())
		if err := c.RunJobOnce(ctx, spec.MigrationJob(mastodon.PreDeployment).Unstructured()); err != nil {
			diags.AddError("Step 1 of the upgrade to "+spec.Version+" failed: pre-deployment migrations",
				err.Error()+"\n\nThe Deployments were not touched and still run "+migrated+". Fix the cause and apply again: a fresh Job is started.")
			keepPrior()
			return
		}
		step("step 1/3 done: pre-deployment migrations")
	}
	step("applying configuration, secrets and embedded services")
	// An embedded Redis from before it had a volume: its StatefulSet must
	// be replaced to gain one (what it held in memory was lost at every
	// restart anyway).
	replaced, err := c.ReplaceStatefulSetsGainingClaims(ctx, first)
	if err != nil {
		diags.AddError("Cannot replace a StatefulSet to give it a volume", err.Error())
		return
	}
	if len(replaced) > 0 {
		step("replaced to add a volume: " + strings.Join(replaced, ", "))
	}
	if err := c.Apply(ctx, first); err != nil {
		diags.AddError("Cannot apply the instance's configuration", err.Error())
		return
	}
	if err := c.WaitReady(ctx, first); err != nil {
		diags.AddError("Embedded services did not become ready", err.Error())
		return
	}
	if hasStep(steps, mastodon.StepPrepare) {
		step("step: " + string(mastodon.StepPrepare))
		if err := c.RunJobOnce(ctx, spec.PrepareJob().Unstructured()); err != nil {
			diags.AddError("The db-prepare Job failed", err.Error()+"\n\nNo Deployment was started. Fix the cause and apply again: a fresh Job is started.")
			return
		}
		step("step done: " + string(mastodon.StepPrepare))
	}
	step("rolling out web, streaming and Sidekiq")
	if err := c.Apply(ctx, workloads); err != nil {
		diags.AddError("Cannot apply the instance's workloads", err.Error())
		return
	}
	live, err := c.List(ctx, ns, mastodon.InstanceSelector(name), kube.NamespacedKinds())
	if err != nil {
		diags.AddError("Cannot list the instance's objects", err.Error())
		return
	}
	for key, o := range live {
		if o.GetKind() == "Job" || o.GetKind() == "PersistentVolumeClaim" {
			delete(live, key) // Jobs and data volumes are never pruned
		}
	}
	pruned, err := c.Prune(ctx, live, keep)
	if err != nil {
		diags.AddError("Cannot remove objects no longer configured", err.Error())
		return
	}
	if len(pruned) > 0 {
		step("removed objects no longer configured: " + strings.Join(pruned, ", "))
	}
	if err := c.WaitReady(ctx, workloads); err != nil {
		title := "The instance did not become ready"
		if hasStep(steps, mastodon.StepPostMigrate) {
			title = "Step 2 of the upgrade to " + spec.Version + " failed: the rollout did not become ready"
		}
		diags.AddError(title, err.Error()+"\n\nThe next apply continues from where the cluster is.")
		if prior != nil {
			// An update: record that the instance is not ready, so the next
			// plan shows it and the next apply resumes. (A create that fails
			// leaves no state, else Terraform would taint and replace the
			// instance; the next apply's create continues from the cluster:
			// same secrets, the prepare Job not run twice.)
			plan.Ready = types.BoolValue(false)
			plan.MigratedVersion = prior.MigratedVersion
			diags.Append(out.Set(ctx, plan)...)
		}
		return
	}
	if ing := findKind(workloads, "Ingress"); ing != nil {
		if cur, err := c.Get(ctx, "Ingress", ns, ing.GetName()); err == nil && cur != nil {
			plan.LoadBalancerIP, plan.LoadBalancerHostname = loadBalancer(cur)
		}
	}
	if hasStep(steps, mastodon.StepPostMigrate) {
		step("step 2/3 done: every component runs " + spec.Version + " and is ready")
		step("step 3/3: " + string(mastodon.StepPostMigrate))
		if err := c.RunJobOnce(ctx, spec.MigrationJob(mastodon.PostDeployment).Unstructured()); err != nil {
			diags.AddError("Step 3 of the upgrade to "+spec.Version+" failed: post-deployment migrations",
				err.Error()+"\n\nEvery component runs "+spec.Version+". Fix the cause and apply again: the post-deployment migrations are retried with a fresh Job.")
			// What runs is the new version; its migrations are not all done.
			plan.MigratedVersion = prior.MigratedVersion
			diags.Append(out.Set(ctx, plan)...)
			return
		}
		step("step 3/3 done: upgrade to " + spec.Version + " complete")
	}
	plan.MigratedVersion = types.StringValue(spec.Version)
	step("instance ready")
	diags.Append(out.Set(ctx, plan)...)
}

// writeOnlyValues are the write-only attributes, read from the configuration.
type writeOnlyValues struct{ database, smtp string }

func readWriteOnly(ctx context.Context, config tfsdk.Config) (writeOnlyValues, diag.Diagnostics) {
	var wo writeOnlyValues
	var diags diag.Diagnostics
	for _, x := range []struct {
		block string
		dst   *string
	}{{"database", &wo.database}, {"smtp", &wo.smtp}} {
		var block types.Object
		diags.Append(config.GetAttribute(ctx, path.Root(x.block), &block)...)
		if block.IsNull() || block.IsUnknown() {
			continue
		}
		var v types.String
		diags.Append(config.GetAttribute(ctx, path.Root(x.block).AtName("password_wo"), &v)...)
		*x.dst = v.ValueString()
	}
	return wo, diags
}

func hasStep(steps []mastodon.Step, s mastodon.Step) bool {
	for _, x := range steps {
		if x == s {
			return true
		}
	}
	return false
}

// renderedKinds are the namespaced kinds of the objects a spec renders,
// which a refresh lists (one request each). Data volumes are left out: they
// are never changed or pruned, and a deleted one shows as Pods that are not
// ready.
func renderedKinds(spec *mastodon.Spec) []string {
	seen := map[string]bool{}
	var kinds []string
	for _, o := range spec.Render(mastodon.Secrets{}, false, "") {
		if !seen[o.Kind] && !unrefreshed[o.Kind] {
			seen[o.Kind] = true
			kinds = append(kinds, o.Kind)
		}
	}
	return kinds
}

func findKind(objs []*unstructured.Unstructured, kind string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind {
			return o
		}
	}
	return nil
}

// loadBalancer is the Ingress's reported address, for a DNS record.
func loadBalancer(ing *unstructured.Unstructured) (types.String, types.String) {
	ip, host := kube.IngressAddress(ing)
	return nullable(ip), nullable(host)
}

func (r *instanceResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state instanceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if r.clients != nil && !r.clients.Known() {
		return // the cluster is not known yet: keep what state says
	}
	c, d := r.client()
	resp.Diagnostics.Append(d...)
	if resp.Diagnostics.HasError() {
		return
	}
	ns, name := state.Namespace.ValueString(), state.Name.ValueString()
	ctx, requests := kube.CountRequests(ctx)
	defer func() {
		tflog.Debug(ctx, "refreshed the instance", map[string]any{"instance": ns + "/" + name, "api_requests": requests.Load()})
	}()
	// A refresh lists only the kinds this configuration renders (one request
	// each); an import, which has no configuration yet, lists them all.
	kinds := kube.NamespacedKinds()
	if !state.LocalDomain.IsNull() {
		if spec, d := state.spec(ctx); !d.HasError() {
			kinds = renderedKinds(spec)
		}
	}
	live, err := c.List(ctx, ns, mastodon.InstanceSelector(name), kinds)
	if err != nil {
		resp.Diagnostics.AddError("Cannot read the instance", err.Error())
		return
	}
	if len(live) == 0 {
		tflog.Info(ctx, "the instance's objects are all gone: removing it from state", map[string]any{"instance": ns + "/" + name})
		resp.State.RemoveResource(ctx)
		return
	}
	imported := state.LocalDomain.IsNull()
	if imported {
		// Just imported: the configuration recorded on the ConfigMap.
		rec, d := importRecord(ctx, live, ns, name, req.State)
		resp.Diagnostics.Append(d...)
		if resp.Diagnostics.HasError() {
			return
		}
		state = *rec
	}
	spec, d := state.spec(ctx)
	resp.Diagnostics.Append(d...)
	// Write-only passwords are not in state: compare with what the Secret holds.
	if sec := live["Secret/"+ns+"/"+spec.SecretName()]; sec != nil {
		data := kube.SecretData(sec)
		if state.Database != nil && !state.Database.PasswordWOVersion.IsNull() {
			spec.Database.Password = data[mastodon.EnvDBPassword]
		}
		if state.SMTP != nil && !state.SMTP.PasswordWOVersion.IsNull() {
			spec.SMTP.Password = data[mastodon.EnvSMTPPassword]
		}
	}
	secrets, d := secretsFromObject(ctx, state.Secrets, state.VapidPublicKey.ValueString())
	resp.Diagnostics.Append(d...)
	if resp.Diagnostics.HasError() {
		return
	}
	var drift []attr.Value
	ready := true
	// The recorded configuration (the ConfigMap's annotation) is not
	// compared, so it is not rendered either: the objects it describes are.
	for _, o := range spec.Render(secrets, state.CreateNamespace.ValueBool(), "") {
		if o.Kind == "Namespace" || (unrefreshed[o.Kind] && !imported) {
			continue
		}
		key := o.Key()
		cur, ok := live[key]
		if !ok {
			drift = append(drift, types.StringValue(fmt.Sprintf("%s %s is missing", o.Kind, o.Name)))
			if o.Kind == "Deployment" {
				ready = false
			}
			continue
		}
		for _, diff := range kube.Diff(o.Body, cur.Object, secretKinds[o.Kind]) {
			drift = append(drift, types.StringValue(fmt.Sprintf("%s %s: %s", o.Kind, o.Name, diff)))
		}
		if ok, _ := kube.Ready(cur); !ok {
			ready = false
		}
		if o.Kind == "Ingress" {
			state.LoadBalancerIP, state.LoadBalancerHostname = loadBalancer(cur)
		}
	}
	if drift == nil {
		drift = []attr.Value{}
	}
	state.Drift = types.ListValueMust(types.StringType, drift)
	state.Ready = types.BoolValue(ready)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

// unrefreshed are the kinds a refresh does not list.
var unrefreshed = map[string]bool{"PersistentVolumeClaim": true}

// secretKinds hide the values of their differences.
var secretKinds = map[string]bool{"Secret": true}

func (r *instanceResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state instanceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if state.DeletionProtection.ValueBool() {
		resp.Diagnostics.AddAttributeError(path.Root("deletion_protection"), "Deletion protection is on",
			fmt.Sprintf("mastodon_instance %s has deletion_protection = true: set it to false and apply before destroying it.", state.ID.ValueString()))
		return
	}
	timeout, diags := state.Timeouts.Delete(ctx, defaultDeleteTimeout)
	resp.Diagnostics.Append(diags...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, d := r.client()
	resp.Diagnostics.Append(d...)
	if resp.Diagnostics.HasError() {
		return
	}
	ns, name := state.Namespace.ValueString(), state.Name.ValueString()
	sel := mastodon.InstanceSelector(name)
	live, err := c.List(ctx, ns, sel, kube.NamespacedKinds())
	if err != nil {
		resp.Diagnostics.AddError("Cannot list the instance's objects", err.Error())
		return
	}
	keepDB := state.EmbeddedDatabase == nil || !state.EmbeddedDatabase.DeleteVolumeOnDestroy.ValueBool()
	keepMedia := state.Media == nil || !state.Media.DeleteVolumeOnDestroy.ValueBool()
	keepRedis := state.EmbeddedRedis == nil || !state.EmbeddedRedis.DeleteVolumeOnDestroy.ValueBool()
	kept := []string{}
	for _, o := range live {
		if o.GetKind() == "PersistentVolumeClaim" {
			component := o.GetLabels()[mastodon.LabelComponent]
			if (component == mastodon.ComponentDatabase && keepDB) || (component == mastodon.ComponentMedia && keepMedia) ||
				(component == mastodon.ComponentRedis && keepRedis) {
				kept = append(kept, o.GetName())
				continue
			}
		}
		if err := c.Delete(ctx, o.GetKind(), ns, o.GetName()); err != nil {
			resp.Diagnostics.AddError("Cannot delete the instance", err.Error())
			return
		}
	}
	if err := c.WaitGone(ctx, ns, sel, []string{"Deployment", "StatefulSet", "Job", "Pod"}); err != nil {
		resp.Diagnostics.AddError("The instance's objects did not go away", err.Error())
		return
	}
	if state.CreateNamespace.ValueBool() {
		if len(kept) > 0 {
			tflog.Info(ctx, "keeping the namespace, which holds the kept data volumes", map[string]any{"namespace": ns, "volumes": kept})
			return
		}
		if err := c.Delete(ctx, "Namespace", "", ns); err != nil {
			resp.Diagnostics.AddError("Cannot delete the namespace", err.Error())
			return
		}
		if err := c.WaitDeleted(ctx, "Namespace", "", ns); err != nil {
			resp.Diagnostics.AddError("The namespace did not go away", err.Error())
		}
	}
}

func (r *instanceResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	ns, name, ok := splitInstanceID(req.ID)
	if !ok {
		resp.Diagnostics.AddError("Invalid import ID", fmt.Sprintf("Import a mastodon_instance by namespace/name, not %q.", req.ID))
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("namespace"), ns)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), name)...)
}

// sensitivePaths are left out of the configuration recorded on the
// ConfigMap; an import restores them from the Secrets.
var sensitivePaths = [][]string{
	{"secrets"}, {"database", "password"}, {"database", "cloud_sql", "credentials_json"}, {"redis", "password"}, {"smtp", "password"}, {"ingress", "private_key_pem"},
	{"media_bucket", "secret_access_key"},
	// and what is not configuration but the state of the cluster
	{"ready"}, {"drift"}, {"load_balancer_ip"}, {"load_balancer_hostname"},
}

// encodeRecord serialises the configuration (without secret values, and
// with only the names of extra_secret_env) for the ConfigMap annotation.
func encodeRecord(ctx context.Context, m *instanceModel, tmpl tfsdk.State) (string, error) {
	st := tfsdk.State{Schema: tmpl.Schema}
	if d := st.Set(ctx, m); d.HasError() {
		return "", fmt.Errorf("%v", d)
	}
	val, err := tftypes.Transform(st.Raw, func(p *tftypes.AttributePath, v tftypes.Value) (tftypes.Value, error) {
		names := attributeNames(p)
		for _, sp := range sensitivePaths {
			if equalNames(names, sp) {
				return tftypes.NewValue(v.Type(), nil), nil
			}
		}
		if len(names) == 2 && names[0] == "settings" && names[1] == "extra_secret_env" && len(p.Steps()) == 3 && !v.IsNull() {
			return tftypes.NewValue(tftypes.String, ""), nil
		}
		return v, nil
	})
	if err != nil {
		return "", err
	}
	dv, err := tfprotov6.NewDynamicValue(tmpl.Schema.Type().TerraformType(ctx), val)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(dv.MsgPack), nil
}

func attributeNames(p *tftypes.AttributePath) []string {
	var names []string
	for _, step := range p.Steps() {
		if a, ok := step.(tftypes.AttributeName); ok {
			names = append(names, string(a))
		}
	}
	return names
}

func equalNames(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// importRecord rebuilds the model from the configuration recorded on the
// ConfigMap and the values kept in the Secrets.
func importRecord(ctx context.Context, live map[string]*unstructured.Unstructured, ns, name string, tmpl tfsdk.State) (*instanceModel, diag.Diagnostics) {
	var diags diag.Diagnostics
	spec := mastodon.Spec{Name: name, Namespace: ns}
	cm := live["ConfigMap/"+ns+"/"+spec.ConfigMapName()]
	if cm == nil {
		diags.AddError("Cannot import the instance", fmt.Sprintf("ConfigMap %s/%s, which records the instance's configuration, is missing.", ns, spec.ConfigMapName()))
		return nil, diags
	}
	raw, err := base64.StdEncoding.DecodeString(cm.GetAnnotations()[mastodon.AnnotationSpec])
	if err == nil && len(raw) == 0 {
		err = errors.New("the annotation is missing")
	}
	var val tftypes.Value
	if err == nil {
		val, err = (&tfprotov6.DynamicValue{MsgPack: raw}).Unmarshal(tmpl.Schema.Type().TerraformType(ctx))
	}
	if err != nil {
		diags.AddError("Cannot import the instance", fmt.Sprintf("The annotation %s on ConfigMap %s/%s does not hold a configuration this provider wrote: %v",
			mastodon.AnnotationSpec, ns, spec.ConfigMapName(), err))
		return nil, diags
	}
	var m instanceModel
	diags.Append((&tfsdk.State{Schema: tmpl.Schema, Raw: val}).Get(ctx, &m)...)
	if diags.HasError() {
		return nil, diags
	}
	data := map[string]string{}
	if sec := live["Secret/"+ns+"/"+spec.SecretName()]; sec != nil {
		data = kube.SecretData(sec)
	}
	secrets := mastodon.SecretsFromEnv(data, m.Database == nil, m.Redis == nil)
	m.Secrets = secretsObject(secrets)
	m.VapidPublicKey = types.StringValue(secrets.VapidPublicKey)
	if m.Database != nil && data[mastodon.EnvDBPassword] != "" {
		m.Database.Password = types.StringValue(data[mastodon.EnvDBPassword])
	}
	if m.Database != nil && m.Database.CloudSQL != nil && m.Database.CloudSQL.WorkloadIdentityServiceAccount.IsNull() {
		if key := live["Secret/"+ns+"/"+spec.CloudSQLSecretName()]; key != nil {
			m.Database.CloudSQL.CredentialsJSON = types.StringValue(kube.SecretData(key)[mastodon.CloudSQLKeyFile])
		}
	}
	if m.Redis != nil && data[mastodon.EnvRedisPassword] != "" {
		m.Redis.Password = types.StringValue(data[mastodon.EnvRedisPassword])
	}
	if m.SMTP != nil && data[mastodon.EnvSMTPPassword] != "" {
		m.SMTP.Password = types.StringValue(data[mastodon.EnvSMTPPassword])
	}
	if m.MediaBucket != nil {
		m.MediaBucket.SecretAccessKey = types.StringValue(data[mastodon.EnvS3SecretKey])
	}
	if m.Settings != nil && !m.Settings.ExtraSecretEnv.IsNull() {
		values := map[string]attr.Value{}
		for k := range m.Settings.ExtraSecretEnv.Elements() {
			values[k] = types.StringValue(data[k])
		}
		m.Settings.ExtraSecretEnv = types.MapValueMust(types.StringType, values)
	}
	if m.Ingress != nil && !m.Ingress.CertificatePEM.IsNull() {
		if tls := live["Secret/"+ns+"/"+spec.TLSSecretName()]; tls != nil {
			m.Ingress.PrivateKeyPEM = types.StringValue(kube.SecretData(tls)[corev1.TLSPrivateKeyKey])
		}
	}
	return &m, diags
}
