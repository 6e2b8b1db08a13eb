package provider

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tootform/terraform-provider-mastodon/internal/kube"
	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

func (r *instanceResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state instanceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel, c, ok := begin(ctx, state.Timeouts.Delete, defaultDeleteTimeout, r.client, &resp.Diagnostics)
	defer cancel()
	if !ok {
		return
	}
	ns, name := state.Namespace.ValueString(), state.Name.ValueString()
	if protected(&state) && !abandonsTakeover(ctx, c, ns, req.Private, &resp.Diagnostics) {
		resp.Diagnostics.AddAttributeError(path.Root("deletion_protection"), "Deletion protection is on",
			fmt.Sprintf("mastodon_instance %s has deletion_protection = true: set it to false and apply before destroying it.", state.ID.ValueString()))
		return
	}
	d := &instanceDelete{c: c, state: &state, held: req.Private, diags: &resp.Diagnostics,
		spec: mastodon.Spec{Name: name, Namespace: ns, LocalDomain: state.LocalDomain.ValueString()}, sel: mastodon.InstanceSelector(name)}
	runSteps(ctx, d.steps(), map[string]any{"instance": ns + "/" + name}, &resp.Diagnostics)
}

// instanceDelete is one destroy of an instance: everything it owns goes,
// but the data it keeps.
type instanceDelete struct {
	c     *kube.Client
	state *instanceModel
	held  privateReader
	diags *diag.Diagnostics
	// spec names the instance, and the domain its kept data records.
	spec mastodon.Spec
	sel  string
	live map[string]*unstructured.Unstructured
	// unbound are the claims that never bound: deleted whatever is kept.
	unbound map[string]bool
	// kept are the data the destroy keeps, claims the volume claims it
	// deletes, others everything else it deletes.
	kept, claims, others []*unstructured.Unstructured
}

// steps are the steps of this destroy, in order.
func (d *instanceDelete) steps() []crudStep {
	steps := []crudStep{
		{"list the instance's objects", d.list, "Cannot list the instance's objects"},
		{"check the claim", d.claimed, ""},
		{"sort what is kept from what goes", d.sort, ""},
		{"mark the kept data", d.mark, "Cannot mark the kept data"},
		{"delete all but the volume claims", func(ctx context.Context) error { return d.deleteAll(ctx, d.others) }, "Cannot delete the instance"},
		// Claims go last, once no workload is left: a StatefulSet whose Pod
		// is still pending makes a claim that is missing anew (and a claim
		// only a pending Pod uses is not protected from deletion), so a claim
		// deleted before its StatefulSet may come back, under another UID.
		{"wait until the workloads are gone", d.waitGone, "The instance's objects did not go away"},
		{"delete the volume claims", func(ctx context.Context) error { return d.deleteAll(ctx, d.claims) }, "Cannot delete the instance"},
		{"wait until the claims that never bound are gone", d.waitClaims, ""},
		{"report the kept data", d.reportKept, ""},
	}
	if d.state.CreateNamespace.ValueBool() {
		steps = append(steps, crudStep{"delete the namespace", d.deleteNamespace, ""})
	}
	return steps
}

func (d *instanceDelete) list(ctx context.Context) (err error) {
	d.live, err = d.c.List(ctx, d.spec.Namespace, d.sel, append(slices.Clone(mastodon.PrunableKinds), "Job", "PersistentVolumeClaim"))
	return err
}

// claimed refuses to delete objects another state claims.
func (d *instanceDelete) claimed(ctx context.Context) error {
	ns, name := d.spec.Namespace, d.spec.Name
	if !claimAllows(ctx, "mastodon_instance", ns+"/"+name, instanceLiveClaim(d.live, ns, name), d.held, instanceImport(ns, name), destroyRefused, d.diags) {
		return errStop
	}
	return nil
}

// sort sorts the instance's own objects into what is kept and what goes.
// Data outlives the instance unless the user said otherwise, and so do the
// generated secrets that read it: the embedded database's volume, or an
// external database (never ours to delete), needs the same keys (Active
// Record encryption, SECRET_KEY_BASE) and password when an instance of this
// name is created again.
func (d *instanceDelete) sort(ctx context.Context) error {
	keep := keptBy(d.state)
	d.unbound = neverBoundClaims(ctx, d.live, d.spec.Namespace)
	for _, o := range d.live {
		if !mastodon.OwnedByInstance(o.GetLabels()) {
			continue
		}
		component := o.GetLabels()[mastodon.LabelComponent]
		switch {
		case o.GetKind() == "PersistentVolumeClaim" && !d.unbound[o.GetName()] && keep.volumes[component],
			o.GetKind() == "Secret" && o.GetName() == d.spec.SecretName() && keep.secrets:
			d.kept = append(d.kept, o)
		case o.GetKind() == "PersistentVolumeClaim":
			d.claims = append(d.claims, o)
		default:
			d.others = append(d.others, o)
		}
	}
	return nil
}

// mark marks what is kept with the domain and instance it belongs to (data
// of earlier releases, never marked, is marked by its last destroy), so
// that an instance created on it with another domain is refused.
func (d *instanceDelete) mark(ctx context.Context) error {
	if d.spec.LocalDomain == "" {
		return nil
	}
	for _, o := range d.kept {
		if hasMarks(o, d.spec.DataMarks()) {
			continue
		}
		if _, err := d.c.Annotate(ctx, o.GetKind(), d.spec.Namespace, o.GetName(), d.spec.DataMarks()); err != nil {
			return err
		}
	}
	return nil
}

func (d *instanceDelete) deleteAll(ctx context.Context, objs []*unstructured.Unstructured) error {
	for _, o := range objs {
		if err := d.c.Delete(ctx, o.GetKind(), d.spec.Namespace, o.GetName()); err != nil {
			return err
		}
	}
	return nil
}

func (d *instanceDelete) waitGone(ctx context.Context) error {
	return d.c.WaitGone(ctx, d.spec.Namespace, d.sel, []string{"Deployment", "StatefulSet", "Job", "Pod"})
}

// waitClaims waits for the claims that never bound; the destroy goes on
// when they do not go away (and fails).
func (d *instanceDelete) waitClaims(ctx context.Context) error {
	d.diags.Append(waitClaimsGone(ctx, d.c, d.spec.Namespace, d.unbound)...)
	return nil
}

func (d *instanceDelete) reportKept(context.Context) error {
	var kept []string
	for _, o := range d.kept {
		kept = append(kept, o.GetKind()+" "+o.GetName())
	}
	slices.Sort(kept)
	if len(kept) > 0 {
		d.diags.AddWarning("Data kept",
			fmt.Sprintf("Kept in namespace %s: %s. An instance named %s created again in this namespace with local_domain %q uses them (with another one "+
				"it is refused); delete_volume_on_destroy = true (embedded_database, embedded_redis, media, backup) removes the volumes with the instance.",
				d.spec.Namespace, strings.Join(kept, ", "), d.spec.Name, d.state.LocalDomain.ValueString()))
	}
	return nil
}

// deleteNamespace deletes the instance's namespace, only when the instance
// created it (its mark says so) and nothing else lives in it.
func (d *instanceDelete) deleteNamespace(ctx context.Context) error {
	c, ns := d.c, d.spec.Namespace
	live, err := c.Get(ctx, "Namespace", "", ns)
	if err != nil {
		d.diags.AddWarning("Namespace kept", fmt.Sprintf("Cannot tell whether the instance created namespace %s, so it is kept: %v", ns, err))
		return nil
	}
	if live == nil {
		return nil
	}
	if !mastodon.NamespaceCreatedBy(live.GetAnnotations(), d.spec.Name) {
		tflog.Info(ctx, "keeping the namespace: the instance did not create it", map[string]any{"namespace": ns})
		return nil
	}
	others, err := c.NamespaceContents(ctx, ns)
	if err != nil {
		d.diags.AddWarning("Namespace kept", fmt.Sprintf("Cannot tell whether namespace %s is empty, so it is kept: %v", ns, err))
		return nil
	}
	if len(others) > 0 {
		tflog.Info(ctx, "keeping the namespace, which holds other objects", map[string]any{"namespace": ns, "objects": others})
		return nil
	}
	if err := c.Delete(ctx, "Namespace", "", ns); err != nil {
		d.diags.AddError("Cannot delete the namespace", err.Error())
		return nil
	}
	if err := c.WaitDeleted(ctx, "Namespace", "", ns); err != nil {
		d.diags.AddError("The namespace did not go away", err.Error())
	}
	return nil
}
