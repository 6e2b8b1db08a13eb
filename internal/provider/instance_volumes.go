package provider

import (
	"context"
	"fmt"
	"strings"
	"time"

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

// Documentation of the volumes' storage_class and delete_volume_on_destroy.
const (
	classDoc = " A class the cluster does not have fails the apply before anything is created (and is warned of at plan time, where " +
		"the cluster is known). A claim that never bound holds nothing: it is replaced when this changes (unless it bound since the plan: " +
		"then the apply fails before changing anything), and deleted by a destroy."
	neverBoundDoc = " A claim that never bound (it holds nothing) is deleted whatever this says."
)

// volumeCluster is what providing the instance's volumes needs of the
// cluster, beyond reading objects.
type volumeCluster interface {
	StorageClasses(ctx context.Context) (*kube.StorageClasses, error)
	DeleteNeverBoundClaim(ctx context.Context, pvc *unstructured.Unstructured, statefulSet string) error
	WaitDeleted(ctx context.Context, kind, namespace, name string) error
	Annotate(ctx context.Context, kind, namespace, name string, annotations map[string]string) (bool, error)
}

var _ volumeCluster = (*kube.Client)(nil)

// volumesStep comes before anything is applied. A claim that never bound
// holds nothing: one of the instance's own that asks for another class or
// size than planned is replaced (with the StatefulSet whose template made
// it: claim templates cannot change). A class the cluster does not have
// fails the apply before anything is created or changed, instead of a
// Pod waiting on its claim until the timeout.
func (a *instanceApply) volumesStep() applyStep {
	return applyStep{"volumes", untouched, a.provideVolumes, "The instance's volumes cannot be provided"}
}

func (a *instanceApply) provideVolumes(ctx context.Context) error {
	ns := a.spec.Namespace
	if a.prior == nil {
		if err := a.refuseForeignData(ctx); err != nil {
			return err
		}
	}
	// The volumes as the prior state had them: an update reads the
	// cluster's classes only where a class changes or a claim is not
	// bound (a bound claim keeps its volume, whatever became of its class).
	was := map[string]mastodon.Volume{}
	if a.prior != nil {
		if s, d := a.prior.spec(ctx); !d.HasError() {
			for _, v := range s.Volumes() {
				was[v.Claim] = v
			}
		}
	}
	vols := a.spec.Volumes()
	lives := make([]*unstructured.Unstructured, len(vols))
	readClasses := a.prior == nil
	for i, v := range vols {
		live, err := a.c.Get(ctx, "PersistentVolumeClaim", ns, v.Claim)
		if err != nil {
			return err
		}
		if live != nil && live.GetDeletionTimestamp() != nil {
			// Deleted by a destroy (a claim that never bound): wait until it
			// is gone, so that it is created anew.
			if err := a.c.WaitDeleted(ctx, "PersistentVolumeClaim", ns, v.Claim); err != nil {
				return err
			}
			live = nil
		}
		lives[i] = live
		if live == nil || kube.ClaimNeverBound(live) || was[v.Claim].StorageClass != v.StorageClass {
			readClasses = true
		}
	}
	var classes *kube.StorageClasses
	if readClasses {
		var err error
		classes, err = a.c.StorageClasses(ctx)
		if apierrors.IsForbidden(err) {
			a.log("the credentials may not list storage classes: the volumes' classes are not checked before they are used")
			classes, err = nil, nil
		}
		if err != nil {
			return err
		}
	}
	type replacement struct {
		v      mastodon.Volume
		live   *unstructured.Unstructured
		reason string
	}
	var replace []replacement
	var problems, boundSince []string
	for i, v := range vols {
		live := lives[i]
		if live != nil && !mastodon.OwnedByInstance(live.GetLabels()) {
			continue // not ours: used as it is
		}
		if live != nil && !kube.ClaimNeverBound(live) {
			// It holds data: used as it is. A change of class or size the
			// plan let through because the claim had not bound (it would
			// have been replaced) cannot be applied to it now.
			if w, ok := was[v.Claim]; ok && immutableChange(w, v) {
				if reason := claimDiffers(live, v, classes); reason != "" {
					boundSince = append(boundSince, fmt.Sprintf("%s: claim %s bound since the plan (it holds data now): %s.", v.Block, v.Claim, reason))
				}
			}
			continue
		}
		if live != nil {
			reason := claimDiffers(live, v, classes)
			if reason == "" {
				if class, _ := kube.ClaimStorage(live); classes != nil && class != "" && !classes.Exists(class) {
					problems = append(problems, fmt.Sprintf("%s.storage_class: claim %s, which never bound, asks for %s.", v.Block, v.Claim, classes.Describe(class)))
				}
				continue
			}
			replace = append(replace, replacement{v, live, reason})
		}
		if classes != nil && !classes.Exists(v.StorageClass) {
			problems = append(problems, fmt.Sprintf("%s.storage_class: claim %s would ask for %s.", v.Block, v.Claim, classes.Describe(v.StorageClass)))
		}
	}
	if len(boundSince) > 0 {
		return fmt.Errorf("%s\nKubernetes never lets a volume claim's storage class change, nor a StatefulSet's volume claim template, and a claim "+
			"never shrinks: the claim is no longer replaced, since it may hold data. Keep the old storage_class and storage_size "+
			"(to grow the volume, expand its claim where the storage class allows it). Nothing was created or changed", strings.Join(boundSince, "\n"))
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s\nA claim waits for its class to give it a volume: with this class it would wait forever, and the Pods that use it "+
			"with it. Set storage_class to a class the cluster has, or leave it unset for the cluster's default class, and apply again. "+
			"Nothing was created or changed", strings.Join(problems, "\n"))
	}
	for _, r := range replace {
		if err := a.c.DeleteNeverBoundClaim(ctx, r.live, r.v.StatefulSet); err != nil {
			return err
		}
		what := "claim " + r.v.Claim
		if r.v.StatefulSet != "" {
			what += " (with StatefulSet " + r.v.StatefulSet + ", whose claim template made it)"
		}
		a.log("replaced " + what + ", which never bound and so held nothing: " + r.reason)
	}
	return nil
}

// claimDiffers says how a live claim differs from the volume planned ("" when
// it does not, or when that cannot be told: no class given and the
// cluster's default unknown).
func claimDiffers(live *unstructured.Unstructured, v mastodon.Volume, classes *kube.StorageClasses) string {
	class, size := kube.ClaimStorage(live)
	want := v.StorageClass
	if want == "" && classes != nil {
		want = classes.Resolve("")
	}
	var diffs []string
	if (want != "" || v.StorageClass != "") && class != want {
		diffs = append(diffs, fmt.Sprintf("storage class %q -> %q", class, want))
	}
	have, err1 := k8sresource.ParseQuantity(size)
	planned, err2 := k8sresource.ParseQuantity(v.StorageSize)
	if err1 == nil && err2 == nil && have.Cmp(planned) != 0 {
		diffs = append(diffs, fmt.Sprintf("size %s -> %s", size, v.StorageSize))
	}
	return strings.Join(diffs, ", ")
}

// immutableChange says whether a volume's change from was to now is one
// the API server refuses on a claim that exists (refuseImmutable): its
// class, its StatefulSet's claim template, or a shrink.
func immutableChange(was, now mastodon.Volume) bool {
	if was.StorageClass != now.StorageClass {
		return true
	}
	a, err1 := k8sresource.ParseQuantity(was.StorageSize)
	b, err2 := k8sresource.ParseQuantity(now.StorageSize)
	if err1 != nil || err2 != nil || a.Cmp(b) == 0 {
		return false
	}
	return now.StatefulSet != "" || b.Cmp(a) < 0
}

// unboundClaims is the advice for a wait that failed while some of the
// instance's claims are not bound: which, the class each asks for, and
// the way out.
func (a *instanceApply) unboundClaims() string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var classes *kube.StorageClasses
	var out []string
	for _, v := range a.spec.Volumes() {
		live, err := a.c.Get(ctx, "PersistentVolumeClaim", a.spec.Namespace, v.Claim)
		if err != nil || live == nil || !kube.ClaimNeverBound(live) {
			continue
		}
		if classes == nil {
			if classes, err = a.c.StorageClasses(ctx); err != nil {
				classes = nil
			}
		}
		class, _ := kube.ClaimStorage(live)
		what := fmt.Sprintf("storage class %q", class)
		if classes != nil {
			what = classes.Describe(class)
		}
		out = append(out, fmt.Sprintf("%s.storage_class: claim %s never bound: it asks for %s.", v.Block, v.Claim, what))
	}
	if len(out) == 0 {
		return ""
	}
	return "\n\n" + strings.Join(out, "\n") + "\nA claim that never bound holds nothing: set storage_class to a class that gives volumes in this cluster " +
		"(or leave it unset for the default class) and apply again; the claim is replaced (a tainted instance's destroy deletes it)."
}

// plannedSpec is the planned instance and its spec, for the checks a plan
// makes against the cluster: not ok where the cluster is not known yet or
// the plan does not convert (validation reports that).
func (r *instanceResource) plannedSpec(ctx context.Context, planned tfsdk.Plan) (*instanceModel, *mastodon.Spec, bool) {
	if r.clients == nil || !r.clients.Known() {
		return nil, nil, false
	}
	var plan instanceModel
	if planned.Get(ctx, &plan).HasError() {
		return nil, nil, false
	}
	spec, d := plan.spec(ctx)
	return &plan, spec, !d.HasError()
}

// boundPlanClient is the cluster's client for a check at plan time (planClient), with its
// time bound: not ok where there is none (the check is skipped; the apply
// checks again).
func (r *instanceResource) boundPlanClient(ctx context.Context, bound time.Duration) (context.Context, context.CancelFunc, *kube.Client, bool) {
	c := planClient(ctx, r.clients)
	if c == nil {
		return ctx, func() {}, nil, false
	}
	ctx, cancel := context.WithTimeout(ctx, bound)
	return ctx, cancel, c, true
}

// warnMissingClasses warns at plan time, where the cluster is known and
// reachable, of a storage class it does not have, for the volumes a create
// makes or a change of class asks for. A warning, not an error: something
// in the same apply may create the class.
func (r *instanceResource) warnMissingClasses(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	_, spec, ok := r.plannedSpec(ctx, resp.Plan)
	if !ok {
		return
	}
	var asked []mastodon.Volume
	for _, v := range spec.Volumes() {
		p := path.Root(v.Block).AtName("storage_class")
		var now, was types.String
		if resp.Plan.GetAttribute(ctx, p, &now).HasError() || now.IsUnknown() {
			continue
		}
		if !req.State.Raw.IsNull() {
			if req.State.GetAttribute(ctx, p, &was).HasError() || was.Equal(now) {
				continue
			}
		}
		asked = append(asked, v)
	}
	if len(asked) == 0 {
		return
	}
	ctx, cancel, c, ok := r.boundPlanClient(ctx, 10*time.Second)
	defer cancel()
	if !ok {
		return
	}
	classes, err := c.StorageClasses(ctx)
	if err != nil {
		tflog.Debug(ctx, "cannot read the storage classes at plan time", map[string]any{"error": err.Error()})
		return
	}
	for _, v := range asked {
		if !classes.Exists(v.StorageClass) {
			resp.Diagnostics.AddAttributeWarning(path.Root(v.Block).AtName("storage_class"), "Storage class not found",
				fmt.Sprintf("%s.storage_class: claim %s would ask for %s. Unless this apply creates that class first, the apply fails "+
					"before creating anything: set storage_class to a class the cluster has, or leave it unset for the default class.",
					v.Block, v.Claim, classes.Describe(v.StorageClass)))
		}
	}
}

// unlessNeverBound lets through, as a warning, a refused change of class or
// size (refuseImmutable) of a volume whose claim never bound: it holds
// nothing, and the apply replaces it (volumesStep). Where the cluster
// cannot be read the refusal stands.
func (r *instanceResource) unlessNeverBound(ctx context.Context, state *instanceModel, refused diag.Diagnostics) diag.Diagnostics {
	if !refused.HasError() || r.clients == nil || !r.clients.Known() {
		return refused
	}
	was, d := state.spec(ctx)
	if d.HasError() {
		return refused
	}
	var c *kube.Client
	var out diag.Diagnostics
	for _, e := range refused {
		withPath, ok := e.(diag.DiagnosticWithPath)
		v, found := volumeAt(was, withPath, ok)
		if e.Severity() != diag.SeverityError || !found {
			out.Append(e)
			continue
		}
		if c == nil {
			var err error
			if c, err = r.clients.Client(); err != nil {
				return refused
			}
		}
		live, err := c.Get(ctx, "PersistentVolumeClaim", was.Namespace, v.Claim)
		if err != nil || live == nil || !kube.ClaimNeverBound(live) {
			out.Append(e)
			continue
		}
		what := "claim " + v.Claim
		if v.StatefulSet != "" {
			what += " (with StatefulSet " + v.StatefulSet + ", whose claim template cannot change)"
		}
		out.AddAttributeWarning(withPath.Path(), "Replacing a claim that never bound",
			fmt.Sprintf("%s: claim %s never bound, so it holds nothing: the apply replaces %s with the new value.", withPath.Path(), v.Claim, what))
	}
	return out
}

// volumeAt is the volume whose storage_class or storage_size a
// diagnostic's path names.
func volumeAt(s *mastodon.Spec, d diag.DiagnosticWithPath, ok bool) (mastodon.Volume, bool) {
	if !ok {
		return mastodon.Volume{}, false
	}
	for _, v := range s.Volumes() {
		for _, a := range []string{"storage_class", "storage_size"} {
			if d.Path().Equal(path.Root(v.Block).AtName(a)) {
				return v, true
			}
		}
	}
	return mastodon.Volume{}, false
}

// neverBoundClaims are the claims among an instance's objects that never
// bound: a destroy deletes them whatever delete_volume_on_destroy says
// (they hold nothing, and a claim kept with a wrong class would make every
// instance created again wait on it), and says so in the log.
func neverBoundClaims(ctx context.Context, live map[string]*unstructured.Unstructured, ns string) map[string]bool {
	out := map[string]bool{}
	for _, o := range live {
		if o.GetKind() == "PersistentVolumeClaim" && mastodon.OwnedByInstance(o.GetLabels()) && kube.ClaimNeverBound(o) {
			out[o.GetName()] = true
			class, _ := kube.ClaimStorage(o)
			tflog.Info(ctx, "deleting a volume claim that never bound: it holds nothing", map[string]any{
				"claim": ns + "/" + o.GetName(), "storage_class": class})
		}
	}
	return out
}

// waitClaimsGone waits until the claims a destroy deleted are gone, so that
// an instance created again (a replacement) makes them anew.
func waitClaimsGone(ctx context.Context, c *kube.Client, ns string, claims map[string]bool) diag.Diagnostics {
	var diags diag.Diagnostics
	for name := range claims {
		if err := c.WaitDeleted(ctx, "PersistentVolumeClaim", ns, name); err != nil {
			diags.AddError("The instance's objects did not go away", err.Error())
			return diags
		}
	}
	return diags
}
