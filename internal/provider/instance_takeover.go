package provider

// The takeover: the first apply after a Helm release was adopted
// (instance_adopt.go). In steps, each one a point the next apply resumes
// from:
//
//  1. the instance's objects start beside the release's, with the same
//     secrets, database, Redis and media claim, its Sidekiq processes that
//     serve the scheduler queue held at zero replicas, and its Ingress held
//     back; the apply waits until they are Ready. Until then nothing of the
//     release was changed: an abort leaves the old instance serving.
//  2. traffic moves: the instance's Ingress is applied, the release's
//     deleted.
//  3. the release's workloads go (its Deployments and CronJobs, proven by
//     its labels and its manifest; never its claims, its data or the
//     bundled PostgreSQL and Redis of the legacy chart), and the apply
//     waits until their Pods are gone.
//  4. the scheduler starts: one scheduler at a time, so scheduled jobs
//     never run twice.
//  5. hand-over: the release's record marks what the instance still uses
//     (its claims, the bundled services) helm.sh/resource-policy: keep, so
//     that a later `helm uninstall` deletes none of it.
//
// The adoption mark leaves private state when every step is done.

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tootform/terraform-provider-mastodon/internal/kube"
	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

// takeoverCluster is what a takeover needs of the cluster besides what
// every apply does.
type takeoverCluster interface {
	HelmRelease(ctx context.Context, namespace, name string) (*kube.HelmRelease, error)
	KeepInRelease(ctx context.Context, r *kube.HelmRelease, keep func(o *unstructured.Unstructured) bool) ([]string, error)
	Delete(ctx context.Context, kind, namespace, name string) error
	WaitGone(ctx context.Context, namespace, selector string, kinds []string) error
	Label(ctx context.Context, kind, namespace, name string, labels map[string]string) error
}

// takeover is what an apply holds back until the release's workloads are
// gone.
type takeover struct {
	adoption  *helmAdoption
	ingress   []*unstructured.Unstructured // the instance's, applied when traffic moves
	scheduler []*unstructured.Unstructured // its Sidekiq processes of the scheduler queue
}

// holdBack takes the Ingress out of the rollout and starts the processes
// of the scheduler queue with no replica.
func (a *instanceApply) holdBack() {
	t := a.takeover
	schedulers := map[string]bool{}
	for _, p := range a.spec.Sidekiq {
		if slices.ContainsFunc(p.Queues, func(q mastodon.Queue) bool { return q.Name == "scheduler" }) {
			schedulers[a.spec.SidekiqName(p.Name)] = true
		}
	}
	var rollout []*unstructured.Unstructured
	for _, o := range a.workloads {
		switch {
		case o.GetKind() == "Ingress":
			t.ingress = append(t.ingress, o)
			continue
		case o.GetKind() == "Deployment" && schedulers[o.GetName()]:
			t.scheduler = append(t.scheduler, o)
			o = o.DeepCopy()
			_ = unstructured.SetNestedField(o.Object, int64(0), "spec", "replicas")
		}
		rollout = append(rollout, o)
	}
	a.workloads = rollout
}

// besideRelease comes before the rollout of a takeover: on a media claim
// one node at a time can mount, the release's running Pods that mount it
// get MediaClaimLabel, which the instance's Pods must run beside.
func (a *instanceApply) besideRelease() *applyStep {
	s := a.spec
	if s.MediaBucket != nil || s.Media.ExistingClaim == "" || s.Media.AccessMode == string(corev1.ReadWriteMany) {
		return nil
	}
	release := a.takeover.adoption.Release
	return &applyStep{"place the instance beside the Pods of Helm release " + release + " that mount " + s.Media.ExistingClaim, changed, func(ctx context.Context) error {
		pods, err := a.c.List(ctx, s.Namespace, mastodon.ChartLabelInstance+"="+release+","+mastodon.LabelManagedBy+"!="+mastodon.ManagedBy, []string{"Pod"})
		if err != nil {
			return err
		}
		for _, key := range slices.Sorted(maps.Keys(pods)) {
			p := pods[key]
			vols, _, _ := unstructured.NestedSlice(p.Object, "spec", "volumes")
			mounts := slices.ContainsFunc(vols, func(v any) bool {
				claim, _, _ := unstructured.NestedString(v.(map[string]any), "persistentVolumeClaim", "claimName")
				return claim == s.Media.ExistingClaim
			})
			phase, _, _ := unstructured.NestedString(p.Object, "status", "phase")
			value := mastodon.MediaClaimValue(s.Media.ExistingClaim)
			if mounts && phase == string(corev1.PodRunning) && p.GetLabels()[mastodon.MediaClaimLabel] != value {
				if err := a.c.Label(ctx, "Pod", s.Namespace, p.GetName(), map[string]string{mastodon.MediaClaimLabel: value}); err != nil {
					return err
				}
			}
		}
		return nil
	}, "Cannot label the Helm release's Pods"}
}

// takeoverSteps follow the rollout of an apply that takes a release over.
func (a *instanceApply) takeoverSteps() []applyStep {
	ns, release := a.spec.Namespace, a.takeover.adoption.Release
	var cr *chartRelease
	return []applyStep{
		// First, as it changes nothing that runs: from here on, even an
		// abandoned takeover leaves the media and the bundled services safe
		// from helm uninstall.
		{"hand what the instance uses over from Helm release " + release, changed, func(ctx context.Context) (err error) {
			if cr, err = readTakenOver(ctx, a.c, ns, a.takeover.adoption); err != nil || cr.rel == nil {
				return err
			}
			marked, err := a.c.KeepInRelease(ctx, cr.rel, keptFromRelease)
			if len(marked) > 0 {
				a.log("helm uninstall " + release + " now keeps " + strings.Join(marked, ", "))
			}
			return err
		}, "Cannot mark what helm uninstall must keep"},
		{"move traffic from Helm release " + release, changed, func(ctx context.Context) error {
			if len(a.takeover.ingress) == 0 {
				return nil
			}
			// Applied beside the release's first, so that traffic never
			// stops; a controller that refuses two Ingresses for one host
			// and path (ingress-nginx's admission webhook) has the
			// release's deleted first.
			if err := a.c.Apply(ctx, a.takeover.ingress); err != nil {
				if !apierrors.IsInvalid(err) && !apierrors.IsForbidden(err) && !apierrors.IsBadRequest(err) && !strings.Contains(err.Error(), "admission webhook") {
					return err
				}
				a.log("the Ingress was refused beside the release's (" + err.Error() + "): the release's goes first")
				if err := a.deleteReleased(ctx, cr, "Ingress"); err != nil {
					return err
				}
				return a.c.Apply(ctx, a.takeover.ingress)
			}
			return a.deleteReleased(ctx, cr, "Ingress")
		}, "Cannot move traffic to the instance"},
		{"retire the workloads of Helm release " + release, changed, func(ctx context.Context) error {
			if err := a.deleteReleased(ctx, cr, "Deployment", "CronJob"); err != nil {
				return err
			}
			return a.waitReleasePodsGone(ctx)
		}, "The Helm release's workloads did not go"},
		{"start the scheduler", changed, func(ctx context.Context) error {
			if len(a.takeover.scheduler) == 0 {
				return nil
			}
			if err := a.c.Apply(ctx, a.takeover.scheduler); err != nil {
				return err
			}
			return a.c.WaitReady(ctx, a.takeover.scheduler)
		}, "The instance's scheduler did not become ready"},
	}
}

// waitReleasePodsGone waits until no Pod of the release's own workloads
// runs (whatever this apply deleted: a takeover that stopped half way may
// have deleted them before), so that two schedulers never run at once.
// Pods that finished (a hook's, a CronJob's) do not count.
func (a *instanceApply) waitReleasePodsGone(ctx context.Context) error {
	ns := a.spec.Namespace
	pods, err := a.c.List(ctx, ns, releasePods(a.takeover.adoption.Release), []string{"Pod"})
	if err != nil {
		return err
	}
	for _, key := range slices.Sorted(maps.Keys(pods)) {
		p := pods[key]
		phase, _, _ := unstructured.NestedString(p.Object, "status", "phase")
		if phase == string(corev1.PodSucceeded) || phase == string(corev1.PodFailed) {
			continue
		}
		if err := a.c.WaitDeleted(ctx, "Pod", ns, p.GetName()); err != nil {
			return err
		}
	}
	return nil
}

// readTakenOver reads a release being taken over: its record (nil when
// Helm no longer holds it) and the objects its manifest lists that are
// still there. Unlike an adoption, it accepts a release whose workloads
// are gone (a takeover that stopped half way).
func readTakenOver(ctx context.Context, c instanceCluster, ns string, adoption *helmAdoption) (*chartRelease, error) {
	release := adoption.Release
	cr := &chartRelease{objs: map[string]*unstructured.Unstructured{}}
	rel, err := c.HelmRelease(ctx, ns, release)
	if err != nil || rel == nil {
		return cr, err
	}
	if adoption.Revision != 0 && rel.Revision != adoption.Revision {
		return nil, fmt.Errorf("the Helm release %s/%s is at revision %d, not %d as when it was imported (a helm upgrade or rollback since): "+
			"nothing of it was changed; adopt it again (terraform state rm, then the import) so that the instance takes what runs now", ns, release, rel.Revision, adoption.Revision)
	}
	cr.rel = rel
	listed, err := rel.Objects()
	if err != nil {
		return nil, err
	}
	live, err := c.List(ctx, ns, mastodon.ChartLabelInstance+"="+release, chartKinds)
	if err != nil {
		return nil, err
	}
	for _, o := range listed {
		if u := live[o.Kind+"/"+ns+"/"+o.Name]; u != nil && ownedByRelease(u, release) {
			cr.objs[kube.Key(u)] = u
		}
	}
	return cr, nil
}

// ownedByRelease says whether an object is the release's: its labels say
// so (Helm's managed-by, the release as instance) and it is not one of
// the provider's.
func ownedByRelease(u *unstructured.Unstructured, release string) bool {
	l := u.GetLabels()
	return l[mastodon.ChartLabelInstance] == release && l[mastodon.ChartLabelManagedBy] == "Helm" && !mastodon.OwnedByInstance(l)
}

// deleteReleased deletes the release's own objects (the chart's, not its
// bundled services') of the given kinds.
func (a *instanceApply) deleteReleased(ctx context.Context, cr *chartRelease, kinds ...string) error {
	var names []string
	for _, key := range slices.Sorted(maps.Keys(cr.objs)) {
		u := cr.objs[key]
		if !slices.Contains(kinds, u.GetKind()) || u.GetLabels()[mastodon.ChartLabelName] != mastodon.ChartName {
			continue
		}
		if err := a.c.Delete(ctx, u.GetKind(), u.GetNamespace(), u.GetName()); err != nil {
			return err
		}
		names = append(names, u.GetKind()+" "+u.GetName())
	}
	if len(names) > 0 {
		a.log("deleted from the Helm release: " + strings.Join(names, ", "))
	}
	return nil
}

// releasePods selects the Pods of the release's own workloads: the
// chart's (not its bundled services'), never the instance's.
func releasePods(release string) string {
	return mastodon.ChartLabelInstance + "=" + release + "," + mastodon.ChartLabelName + "=" + mastodon.ChartName + "," +
		mastodon.LabelManagedBy + "!=" + mastodon.ManagedBy
}

// keptFromRelease says what `helm uninstall` of an adopted release must
// keep: its claims (the media the instance mounts) and its bundled
// services (the legacy chart's PostgreSQL and Redis, which the instance
// uses in place).
func keptFromRelease(o *unstructured.Unstructured) bool {
	return o.GetKind() == "PersistentVolumeClaim" || o.GetLabels()[mastodon.ChartLabelName] != mastodon.ChartName
}

// abandonsTakeover says whether a destroy abandons a takeover before it
// retired the release: the release's workloads still run, so the old
// instance still serves and the destroy, which deletes only the
// instance's own objects, is the way back. deletion_protection does not
// stop it then (turning it off would take an apply, which is the
// takeover).
func abandonsTakeover(ctx context.Context, c instanceCluster, ns string, held privateReader, diags *diag.Diagnostics) bool {
	adoption, d := heldAdoption(ctx, held)
	if d.HasError() || adoption == nil {
		return false
	}
	live, err := c.List(ctx, ns, mastodon.ChartLabelInstance+"="+adoption.Release+","+mastodon.ChartLabelName+"="+mastodon.ChartName+","+
		mastodon.ChartLabelManagedBy+"=Helm", []string{"Deployment"})
	if err != nil || len(live) == 0 {
		return false
	}
	diags.AddWarning("The takeover is abandoned", fmt.Sprintf("Helm release %s/%s still runs, not retired by a takeover: the destroy deletes only "+
		"the instance's own objects (deletion_protection does not apply until the takeover), and the release keeps serving.", ns, adoption.Release))
	return true
}

// takeoverKeeps are the attributes an instance must keep, as adopted,
// until its takeover: they say what the release's data is (its database,
// Redis and media), and the takeover retires the release.
var takeoverKeeps = []path.Path{
	path.Root("name"), path.Root("namespace"), path.Root("database").AtName("host"), path.Root("database").AtName("name"),
	path.Root("redis").AtName("host"), path.Root("media").AtName("existing_claim"), path.Root("media_bucket").AtName("bucket"),
}

// planTakeover plans an update of an instance whose takeover is not done:
// a change of what the release's data is, or a replacement, is refused
// (the takeover would retire the release for an instance without its
// data, or a second instance would start beside it); the load balancer's
// address is learnt by the takeover, which creates the Ingress.
func planTakeover(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	adoption, d := heldAdoption(ctx, req.Private)
	resp.Diagnostics.Append(d...)
	if adoption == nil {
		return
	}
	for _, p := range takeoverKeeps {
		var planned, adopted types.String
		if resp.Plan.GetAttribute(ctx, p, &planned).HasError() || req.State.GetAttribute(ctx, p, &adopted).HasError() {
			continue
		}
		if !planned.IsUnknown() && !planned.Equal(adopted) {
			resp.Diagnostics.AddAttributeError(p, "Not until the takeover", fmt.Sprintf("%s: the instance adopted Helm release %s with %s, and has not "+
				"taken it over yet: the takeover retires the release, so the instance keeps the release's database, Redis, media and name "+
				"until it is done. Apply with %s as adopted first, then change it.", p, adoption.Release, adopted, p))
		}
	}
	var ingress types.Object
	if !resp.Plan.GetAttribute(ctx, path.Root("ingress"), &ingress).HasError() && !ingress.IsNull() {
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("load_balancer_ip"), types.StringUnknown())...)
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("load_balancer_hostname"), types.StringUnknown())...)
	}
}
