package provider

// One owner for each instance and account. A create never takes over what
// already lives in the cluster: it refuses, naming the import. Each create
// writes a random claim on the objects it owns and keeps it in its private
// state; a refresh that finds another claim reports that another Terraform
// state created the objects again, instead of planning a change that would
// fight that state; an update and a destroy read the claim before they
// change anything, and refuse another state's too (a plan without a
// refresh did not look). An import adopts the claim it finds.
//
// Objects of earlier releases carry no claim: a refresh accepts them, and
// gives a state that holds no claim one (in private state, persisted by the
// next apply or refresh-only apply); the next apply that updates the
// resource writes it on the objects. No plan of change is made for it.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tootform/terraform-provider-mastodon/internal/kube"
	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

// privateClaimKey is the private state key of the claim.
const privateClaimKey = "claim"

// privateReader and privateWriter are the framework's private state (its
// type is internal to the framework).
type privateReader interface {
	GetKey(ctx context.Context, key string) ([]byte, diag.Diagnostics)
}

type privateWriter interface {
	SetKey(ctx context.Context, key string, value []byte) diag.Diagnostics
}

// newClaim is a fresh random claim ID.
func newClaim() (string, diag.Diagnostics) {
	var diags diag.Diagnostics
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		diags.AddError("Cannot generate a claim ID", err.Error())
	}
	return hex.EncodeToString(b), diags
}

// heldClaim is the claim a state holds ("" for none).
func heldClaim(ctx context.Context, p privateReader) (string, diag.Diagnostics) {
	if p == nil {
		return "", nil
	}
	raw, diags := p.GetKey(ctx, privateClaimKey)
	if diags.HasError() || len(raw) == 0 {
		return "", diags
	}
	var claim string
	if err := json.Unmarshal(raw, &claim); err != nil {
		diags.AddError("Cannot read the claim in private state", err.Error())
	}
	return claim, diags
}

// holdClaim keeps claim in private state.
func holdClaim(ctx context.Context, p privateWriter, claim string) diag.Diagnostics {
	raw, _ := json.Marshal(claim)
	return p.SetKey(ctx, privateClaimKey, raw)
}

// createClaim is a new claim for a create, held in its private state.
func createClaim(ctx context.Context, p privateWriter, diags *diag.Diagnostics) string {
	claim, d := newClaim()
	diags.Append(d...)
	if !d.HasError() {
		diags.Append(holdClaim(ctx, p, claim)...)
	}
	return claim
}

// applyClaim is the claim a create or an update writes: a create's own new
// one; an update's the one its state holds, or a new one when it holds
// none (a state of an earlier release planned without a refresh).
func applyClaim(ctx context.Context, held privateReader, create bool) (string, diag.Diagnostics) {
	if !create {
		claim, diags := heldClaim(ctx, held)
		if claim != "" || diags.HasError() {
			return claim, diags
		}
	}
	return newClaim()
}

// reconcileClaim decides what a refresh does with the claim a state holds
// and the one the cluster's objects carry: keep is the claim to hold from
// now on ("" for a new one), conflict says that another state claimed the
// objects. An import adopts the live claim; objects without one (an earlier
// release) are fine, and are claimed by the next apply.
func reconcileClaim(held, live string, imported bool) (keep string, conflict bool) {
	switch {
	case imported:
		return live, false
	case live == "" || live == held:
		return held, false
	default:
		return held, true
	}
}

// claimConflict is the error of a refresh (or a destroy) that finds
// another state's claim.
func claimConflict(what, id, held, live string, importCmd importHint) (string, string) {
	holds := "holds claim " + held
	if held == "" {
		holds = "holds none (it was last applied by an earlier release of the provider, before claims)"
	}
	return "Created again by another Terraform state", fmt.Sprintf(
		"This %s (%s) was created again by another Terraform state: its objects in the cluster carry claim %s, and this state %s. "+
			"Two states must not manage one %s: each apply would undo the other's, and a destroy in either would delete it under the other. "+
			"Nothing was changed.\n\n"+
			"If the other state should manage it, remove it from this one:\n  terraform state rm %s.<address>\n"+
			"If this state should manage it, remove it from the other state (terraform state rm there), then adopt its claim here:\n"+
			"  terraform state rm %s.<address>\n  %s",
		what, id, live, holds, what, importCmd.typ, importCmd.typ, importCmd.command())
}

// importHint names how to import a resource.
type importHint struct{ typ, id string }

func (h importHint) command() string {
	return fmt.Sprintf("terraform import %s.<address> %s", h.typ, h.id)
}

// refusal is the error of a create that finds its resource live.
func (h importHint) refusal(what string, found []string) string {
	return fmt.Sprintf("%s already exists (%s): another Terraform state manages it, or one that was lost did, or it was made by hand. "+
		"A create never takes over what already lives: two states would manage it, and a destroy in either would delete it under the other. "+
		"Nothing was changed.\n\n"+
		"To manage it from this configuration, import it (after removing it from the other state with terraform state rm, "+
		"so that one state owns it):\n  %s\nor with an import block:\n  import {\n    to = %s.<address>\n    id = %q\n  }\n"+
		"To create a new one instead, choose another name.",
		what, strings.Join(found, ", "), h.command(), h.typ, h.id)
}

// refreshClaim checks the claim a refresh finds against the one the state
// holds, and keeps the claim to hold in private state. It says whether the
// refresh may go on.
func refreshClaim(ctx context.Context, what, id, live string, imported bool, held privateReader, out privateWriter, hint importHint, diags *diag.Diagnostics) bool {
	claim, d := heldClaim(ctx, held)
	diags.Append(d...)
	if diags.HasError() {
		return false
	}
	keep, conflict := reconcileClaim(claim, live, imported)
	if conflict {
		diags.AddError(claimConflict(what, id, claim, live, hint))
		return false
	}
	if keep == "" {
		keep, d = newClaim()
		diags.Append(d...)
		tflog.Info(ctx, "claiming objects that carry no claim: the next apply writes it on them", map[string]any{"id": id, "claim": keep})
	}
	if keep != claim {
		diags.Append(holdClaim(ctx, out, keep)...)
	}
	return !diags.HasError()
}

// claimAllows says whether a destroy or an update may go on: never over
// objects that another state claims (a refresh would have said so; an
// apply without one, -refresh=false, must not delete them under that
// state, nor take them over). outcome says what was left undone.
func claimAllows(ctx context.Context, what, id, live string, held privateReader, hint importHint, outcome string, diags *diag.Diagnostics) bool {
	claim, d := heldClaim(ctx, held)
	diags.Append(d...)
	if _, conflict := reconcileClaim(claim, live, false); conflict && !d.HasError() {
		title, detail := claimConflict(what, id, claim, live, hint)
		diags.AddError(title, detail+"\n\n"+outcome)
	}
	return !diags.HasError()
}

// Outcomes of a refused destroy and a refused update.
const (
	destroyRefused = "The destroy deleted nothing."
	updateRefused  = "The update changed nothing."
)

// instanceUpdateClaimed says whether an update of instance ns/name may go
// on: it reads the claim on the instance's objects first. Objects without
// a claim (an earlier release) are claimed by the update.
func instanceUpdateClaimed(ctx context.Context, list lister, ns, name string, held privateReader, diags *diag.Diagnostics) bool {
	live, err := list(ctx, ns, mastodon.InstanceSelector(name), []string{"ConfigMap", "Secret"})
	if err != nil {
		diags.AddError("Cannot read the instance's claim", fmt.Sprintf("mastodon_instance %s/%s: %v", ns, name, err))
		return false
	}
	return claimAllows(ctx, "mastodon_instance", ns+"/"+name, instanceLiveClaim(live, ns, name), held, instanceImport(ns, name), updateRefused, diags)
}

// setClaim writes claim on an object about to be applied.
func setClaim(o *unstructured.Unstructured, claim string) {
	a := o.GetAnnotations()
	if a == nil {
		a = map[string]string{}
	}
	a[mastodon.AnnotationClaim] = claim
	o.SetAnnotations(a)
}

// claimedObjects are the instance's objects that carry its claim: its
// ConfigMap and its generated secrets' Secret.
func claimedObjects(objs []*unstructured.Unstructured, spec *mastodon.Spec) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range objs {
		if (o.GetKind() == "ConfigMap" && o.GetName() == spec.ConfigMapName()) || (o.GetKind() == "Secret" && o.GetName() == spec.SecretName()) {
			out = append(out, o)
		}
	}
	return out
}

// setClaims writes claim on the objects that carry it. An update writes it
// with everything else; a create, once it got through (a second apply of
// those objects), so that a failed create (tainted) leaves objects that no
// plan refuses (see claimedElsewhere).
func setClaims(objs []*unstructured.Unstructured, claim string) {
	for _, o := range objs {
		setClaim(o, claim)
	}
}

// instanceLiveClaim is the claim on the instance's objects: its
// ConfigMap's, else its Secret's.
func instanceLiveClaim(live map[string]*unstructured.Unstructured, ns, name string) string {
	spec := mastodon.Spec{Name: name, Namespace: ns}
	for _, key := range []string{"ConfigMap/" + ns + "/" + spec.ConfigMapName(), "Secret/" + ns + "/" + spec.SecretName()} {
		if o := live[key]; o != nil {
			if c := mastodon.Claim(o.GetAnnotations()); c != "" {
				return c
			}
		}
	}
	return ""
}

func instanceImport(ns, name string) importHint {
	return importHint{typ: "mastodon_instance", id: ns + "/" + name}
}

// lister lists objects: kube.Client.List, or a refresh's shared view.
type lister func(ctx context.Context, namespace, selector string, kinds []string) (map[string]*unstructured.Unstructured, error)

// liveInstance names the objects that make instance ns/name live (see
// mastodon.LiveKinds), sorted, and says the claim its ConfigMap carries;
// none when it does not exist or a destroy left only its data.
func liveInstance(ctx context.Context, list lister, ns, name string) ([]string, string, error) {
	live, err := list(ctx, ns, mastodon.InstanceSelector(name), mastodon.LiveKinds)
	if err != nil {
		return nil, "", err
	}
	var found []string
	for key, o := range live {
		if mastodon.OwnedByInstance(o.GetLabels()) {
			found = append(found, o.GetKind()+" "+o.GetName())
		} else {
			delete(live, key)
		}
	}
	slices.Sort(found)
	return found, instanceLiveClaim(live, ns, name), nil
}

// getter gets one object (nil when it does not exist): kube.Client.Get.
type getter func(ctx context.Context, kind, namespace, name string) (*unstructured.Unstructured, error)

// liveInstanceByGet is liveInstance for credentials that may get but not
// list: it names the instance's ConfigMap and web Deployment where they
// exist with the owner mark.
func liveInstanceByGet(ctx context.Context, get getter, ns, name string) ([]string, error) {
	spec := mastodon.Spec{Name: name, Namespace: ns}
	var found []string
	for _, o := range []struct{ kind, name string }{{"ConfigMap", spec.ConfigMapName()}, {"Deployment", spec.WebName()}} {
		u, err := get(ctx, o.kind, ns, o.name)
		if err != nil {
			return nil, err
		}
		if u != nil && mastodon.OwnedByInstance(u.GetLabels()) {
			found = append(found, o.kind+" "+o.name)
		}
	}
	return found, nil
}

// refuseLiveInstance refuses the create of a live instance. It says whether
// the create may go on.
func refuseLiveInstance(ctx context.Context, list lister, get getter, ns, name string, diags *diag.Diagnostics) bool {
	found, _, err := liveInstance(ctx, list, ns, name)
	if apierrors.IsForbidden(err) {
		// Credentials that may not list the namespace may still get: the
		// ConfigMap and the web Deployment tell.
		found, err = liveInstanceByGet(ctx, get, ns, name)
	}
	if apierrors.IsForbidden(err) {
		// Credentials that may not read the instance's namespace (one that
		// does not exist yet, beyond a Role's reach) cannot create there
		// either: the apply's first read fails, naming the permission it
		// lacks, before anything changes.
		tflog.Info(ctx, "cannot read the namespace: the apply's own reads say why", map[string]any{"error": err.Error()})
		return true
	}
	if err != nil {
		diags.AddError("Cannot tell whether the instance exists", fmt.Sprintf("mastodon_instance %s/%s: %v", ns, name, err))
		return false
	}
	if len(found) > 0 {
		diags.AddError("The instance already exists", instanceImport(ns, name).refusal("mastodon_instance "+ns+"/"+name, found))
		return false
	}
	return true
}

// planCheckTimeout bounds the plan-time look at the cluster: it is a
// courtesy (the create checks again before changing anything), so a
// cluster that does not answer delays no plan for long.
const planCheckTimeout = 15 * time.Second

// planClient is the client a plan-time check may use: nil when the cluster
// cannot be reached yet (its settings are unknown) or at all.
func planClient(ctx context.Context, clients *clientSource) *kube.Client {
	if clients == nil || !clients.Known() {
		return nil
	}
	c, err := clients.Client()
	if err != nil {
		tflog.Debug(ctx, "no plan-time check of the cluster", map[string]any{"error": err.Error()})
		return nil
	}
	return c
}

// accountImport is how to import an account.
func accountImport(ns, instance, username string) importHint {
	return importHint{typ: "mastodon_admin_user", id: ns + "/" + instance + "/" + username}
}

// liveAccount names the account's own objects (its Secret and Jobs),
// sorted, and says the claim its Secret carries.
func liveAccount(ctx context.Context, list lister, ns, instance, username string) ([]string, string, error) {
	live, err := list(ctx, ns, mastodon.AccountSelector(instance, username), []string{"Secret", "Job"})
	if err != nil {
		return nil, "", err
	}
	var found []string
	claim := ""
	for _, o := range live {
		if mastodon.OwnedByAccount(o.GetLabels(), username) {
			found = append(found, o.GetKind()+" "+o.GetName())
			if o.GetKind() == "Secret" && o.GetName() == mastodon.AccountSecretName(instance, username) {
				claim = mastodon.Claim(o.GetAnnotations())
			}
		}
	}
	slices.Sort(found)
	return found, claim, nil
}

// accountClaimed says whether a destroy or an update of an account may go
// on: never over an account Secret that another state claims.
func accountClaimed(ctx context.Context, get getter, ns, instance, username string, held privateReader, outcome string, diags *diag.Diagnostics) bool {
	sec, err := get(ctx, "Secret", ns, mastodon.AccountSecretName(instance, username))
	if err != nil {
		diags.AddError("Cannot read the account", err.Error())
		return false
	}
	if sec == nil || !mastodon.OwnedByAccount(sec.GetLabels(), username) {
		return true
	}
	return claimAllows(ctx, "mastodon_admin_user", ns+"/"+instance+"/"+username, mastodon.Claim(sec.GetAnnotations()), held,
		accountImport(ns, instance, username), outcome, diags)
}

// refuseLiveAccount refuses the create of an account whose objects exist.
// It says whether the create may go on.
func refuseLiveAccount(ctx context.Context, list lister, ns, instance, username string, diags *diag.Diagnostics) bool {
	found, _, err := liveAccount(ctx, list, ns, instance, username)
	if err != nil {
		diags.AddError("Cannot tell whether the account exists", fmt.Sprintf("mastodon_admin_user %s/%s/%s: %v", ns, instance, username, err))
		return false
	}
	if len(found) > 0 {
		diags.AddError("The account already exists", accountImport(ns, instance, username).refusal(
			fmt.Sprintf("The account %s of mastodon_instance %s/%s", username, ns, instance), found))
		return false
	}
	return true
}

// claimedElsewhere is the plan-time rule: a create is refused at plan when
// the live objects carry a claim, which only a create that got through (or
// an update) writes, and it is not the one this plan holds. Objects with no
// claim are left to the create's own check: a failed create of this state
// (tainted, whose plan holds no private data) is replaced, its objects
// deleted first; objects of an earlier release, or of another state's
// failed create, are refused by the create. A replacement's create is
// planned with the private data of the object it replaces, whose claim is
// on the live objects: not refused. A replacement that moves the instance
// (another name or namespace) refuses objects without a claim too: its
// destroy would go first, and the create would refuse them.
func claimedElsewhere(ctx context.Context, found []string, live string, held privateReader, moved bool) bool {
	if len(found) == 0 {
		return false
	}
	if live == "" {
		return moved
	}
	claim, _ := heldClaim(ctx, held)
	return live != claim
}

// refuseLiveAtPlan refuses, at plan time, the create of an instance that
// another state claims, where the cluster can be reached: nothing is
// created by an apply that would fail. A cluster that cannot be reached
// (or credentials that may not list) leave the check to the create, which
// is the guarantee. prior is the state a replacement replaces (nil for a
// create): when the plan moves the instance to another name or namespace,
// objects there are refused unless they carry this state's claim.
func (r *instanceResource) refuseLiveAtPlan(ctx context.Context, plan tfsdk.Plan, prior *instanceModel, held privateReader, diags *diag.Diagnostics) {
	var ns, name types.String
	diags.Append(plan.GetAttribute(ctx, path.Root("namespace"), &ns)...)
	diags.Append(plan.GetAttribute(ctx, path.Root("name"), &name)...)
	if ns.IsUnknown() || name.IsUnknown() || ns.IsNull() || name.IsNull() {
		return
	}
	moved := prior != nil && (!prior.Namespace.Equal(ns) || !prior.Name.Equal(name))
	if prior != nil && !moved {
		return
	}
	c := planClient(ctx, r.clients)
	if c == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, planCheckTimeout)
	defer cancel()
	shared := func(ctx context.Context, ns, sel string, kinds []string) (map[string]*unstructured.Unstructured, error) {
		return c.ListShared(ctx, mastodon.AllInstancesSelector(), ns, sel, kinds)
	}
	found, live, err := liveInstance(ctx, shared, ns.ValueString(), name.ValueString())
	if err != nil {
		tflog.Debug(ctx, "no plan-time check of a live instance: the create checks", map[string]any{"error": err.Error()})
		return
	}
	if claimedElsewhere(ctx, found, live, held, moved) {
		diags.AddError("The instance already exists",
			instanceImport(ns.ValueString(), name.ValueString()).refusal("mastodon_instance "+ns.ValueString()+"/"+name.ValueString(), found))
	}
}

// refuseLiveAtPlan refuses, at plan time, the create of an account that
// another state claims, where the cluster can be reached (whether Mastodon
// holds the account only its Job can tell, at apply).
func (r *adminUserResource) refuseLiveAtPlan(ctx context.Context, plan *adminUserModel, held privateReader, diags *diag.Diagnostics) {
	if plan.Instance.IsUnknown() || plan.Username.IsUnknown() || plan.Username.IsNull() {
		return
	}
	ns, instance, ok := splitInstanceID(plan.Instance.ValueString())
	c := planClient(ctx, r.clients)
	if !ok || c == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, planCheckTimeout)
	defer cancel()
	found, live, err := liveAccount(ctx, c.List, ns, instance, plan.Username.ValueString())
	if err != nil {
		tflog.Debug(ctx, "no plan-time check of a live account: the create checks", map[string]any{"error": err.Error()})
		return
	}
	if claimedElsewhere(ctx, found, live, held, false) {
		diags.AddError("The account already exists", accountImport(ns, instance, plan.Username.ValueString()).refusal(
			fmt.Sprintf("The account %s of mastodon_instance %s/%s", plan.Username.ValueString(), ns, instance), found))
	}
}
