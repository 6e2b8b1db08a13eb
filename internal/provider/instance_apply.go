package provider

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/types"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tootform/terraform-provider-mastodon/internal/kube"
	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

// instanceCluster is what an apply of an instance needs of the cluster
// (*kube.Client), so that its steps are tested without one.
type instanceCluster interface {
	Get(ctx context.Context, kind, namespace, name string) (*unstructured.Unstructured, error)
	CreateIfMissing(ctx context.Context, o *unstructured.Unstructured) (*unstructured.Unstructured, bool, error)
	Apply(ctx context.Context, objs []*unstructured.Unstructured) error
	ReplaceStatefulSetsGainingClaims(ctx context.Context, objs []*unstructured.Unstructured, owned func(map[string]string) bool) ([]string, error)
	WaitReady(ctx context.Context, objs []*unstructured.Unstructured) error
	WaitIngressAddress(ctx context.Context, namespace, name string) (ip, hostname string, err error)
	Serves(ctx context.Context, kind string) (bool, error)
	GatewayStatus(ctx context.Context, g kube.GatewayRoutes) (kube.GatewayState, error)
	WaitGatewayAddress(ctx context.Context, g kube.GatewayRoutes) (ip, hostname string, err error)
	RunJobOnce(ctx context.Context, job *unstructured.Unstructured) error
	StartJobOnce(ctx context.Context, job *unstructured.Unstructured) (bool, error)
	List(ctx context.Context, namespace, selector string, kinds []string) (map[string]*unstructured.Unstructured, error)
	Prune(ctx context.Context, live map[string]*unstructured.Unstructured, keep map[string]bool, kinds []string, owned func(map[string]string) bool) ([]string, error)
	volumeCluster
	takeoverCluster
}

var _ instanceCluster = (*kube.Client)(nil)

// failure says what a failed step leaves behind, and so what state is
// recorded.
type failure int

const (
	// untouched: nothing that runs changed. An update keeps the prior
	// state; a create records nothing (nothing was created).
	untouched failure = iota
	// changed: the cluster holds some of the new configuration. The plan is
	// recorded as not ready, with the prior migrated_version, so the next
	// plan shows an update (a create: a tainted instance) that resumes.
	changed
	// unindexed: everything but the search index build is done. The plan
	// is recorded as done, with the prior search_index, so the next plan
	// shows the build again and the next apply runs it.
	unindexed
)

// applyStep is one step of an apply: what it does, and what its failure
// leaves.
type applyStep struct {
	name   string
	onFail failure
	run    func(ctx context.Context) error
	// failed is the title of its failure.
	failed string
}

// instanceApply is one apply of an instance, decided before anything
// changes: the objects, the steps, the state to record after each.
type instanceApply struct {
	c         instanceCluster
	spec      *mastodon.Spec
	prior     *instanceModel // nil on create
	plan      *instanceModel
	first     []*unstructured.Unstructured // configuration, secrets, embedded services
	workloads []*unstructured.Unstructured // what runs Rails, or routes to it
	keep      map[string]bool
	// takeover: this apply takes an adopted Helm release over.
	takeover *takeover
	log      func(string)
	// warnings are what the apply reports without failing.
	warnings []string
}

func newInstanceApply(c instanceCluster, spec *mastodon.Spec, secrets mastodon.Secrets, record string, prior, plan *instanceModel, log func(string)) *instanceApply {
	a := &instanceApply{c: c, spec: spec, prior: prior, plan: plan, keep: map[string]bool{}, log: log}
	for _, o := range spec.Render(secrets, record) {
		u := o.Unstructured()
		a.keep[kube.Key(u)] = true
		if o.RunsRails() {
			a.workloads = append(a.workloads, u)
		} else {
			a.first = append(a.first, u)
		}
	}
	return a
}

// migrated is the version whose migrations have all run ("" on create).
func (a *instanceApply) migrated() string {
	if a.prior == nil {
		return ""
	}
	return a.prior.MigratedVersion.ValueString()
}

// prepare says whether the database is to be prepared: a new instance, or
// one that moves to another database (embedded <-> external).
func (a *instanceApply) prepare(ctx context.Context) bool {
	if slices.Contains(a.spec.Plan(a.migrated()), mastodon.StepPrepare) {
		return true
	}
	if a.prior == nil {
		return false
	}
	was, d := a.prior.spec(ctx)
	return !d.HasError() && was.DatabaseTarget() != a.spec.DatabaseTarget()
}

// steps are the steps of this apply, in order.
func (a *instanceApply) steps(ctx context.Context) []applyStep {
	s := a.spec
	plan := s.Plan(a.migrated())
	var out []applyStep
	if st := a.gatewayCheckStep(); st != nil {
		out = append(out, *st)
	}
	out = append(out, a.volumesStep())
	if a.takeover != nil {
		// Before any Pod of the instance (a migration Job's included) mounts
		// the release's media claim.
		if st := a.besideRelease(); st != nil {
			out = append(out, *st)
		}
	}
	if a.plan.CreateNamespace.ValueBool() {
		out = append(out, applyStep{"namespace " + s.Namespace, untouched, func(ctx context.Context) error {
			_, created, err := a.c.CreateIfMissing(ctx, s.NamespaceObject().Unstructured())
			if apierrors.IsForbidden(err) {
				return fmt.Errorf("%w\n\nCreating a namespace needs cluster-wide permissions (the ClusterRole of the least-privilege guide); "+
					"with permissions in an existing namespace only, set create_namespace = false", err)
			}
			if err == nil && !created {
				a.log("namespace " + s.Namespace + " exists: used as it is (the instance never deletes a namespace it did not create)")
			}
			return err
		}, "Cannot create the namespace " + s.Namespace})
	}
	upgrade := "Step %d of the upgrade to " + s.Version + " failed: %s"
	if slices.Contains(plan, mastodon.StepPreMigrate) {
		// Before anything is applied, so that a failure leaves the running
		// instance exactly as it was; the Job reads the instance's current
		// ConfigMap and Secret.
		out = append(out, applyStep{string(mastodon.StepPreMigrate) + " with " + s.Image(), untouched, func(ctx context.Context) error {
			return a.c.RunJobOnce(ctx, s.MigrationJob(mastodon.PreDeployment).Unstructured())
		}, fmt.Sprintf(upgrade, 1, "pre-deployment migrations")})
	}
	out = append(out, applyStep{"configuration, secrets and embedded services", changed, func(ctx context.Context) error {
		// An embedded Redis from before it had a volume: its StatefulSet
		// must be replaced to gain one (what it held in memory was lost at
		// every restart anyway).
		replaced, err := a.c.ReplaceStatefulSetsGainingClaims(ctx, a.first, mastodon.OwnedByInstance)
		if err != nil {
			return err
		}
		if len(replaced) > 0 {
			a.log("replaced to add a volume: " + strings.Join(replaced, ", "))
		}
		if err := a.c.Apply(ctx, a.first); err != nil {
			return err
		}
		if a.prior == nil {
			// A create marks its new Secret before any wait (an update's
			// data was marked when created, or is by the pass below).
			if err := a.markKeptData(ctx); err != nil {
				return err
			}
		}
		if err := a.c.WaitReady(ctx, a.first); err != nil {
			return err
		}
		return a.markKeptData(ctx) // the claims of StatefulSets exist now
	}, "Cannot apply the instance's configuration and embedded services"})
	if st := a.restoreStep(ctx); st != nil {
		out = append(out, *st)
	}
	if a.prepare(ctx) {
		out = append(out, applyStep{string(mastodon.StepPrepare), changed, func(ctx context.Context) error {
			return a.c.RunJobOnce(ctx, s.PrepareJob().Unstructured())
		}, "The db-prepare Job failed"})
	}
	rollout := len(out)
	out = append(out, applyStep{string(mastodon.StepRollout), changed, func(ctx context.Context) error {
		// An autoscaler switched off goes first: it could otherwise scale
		// its Deployment after the replicas are applied again.
		if a.autoscalerSwitchedOff(ctx) {
			if err := a.pruneKinds(ctx, []string{"HorizontalPodAutoscaler"}); err != nil {
				return err
			}
		}
		if err := a.c.Apply(ctx, a.workloads); err != nil {
			return err
		}
		if err := a.prune(ctx); err != nil {
			return err
		}
		if err := a.c.WaitReady(ctx, a.workloads); err != nil {
			return err
		}
		return nil
	}, "The instance did not become ready"})
	if a.takeover != nil {
		out = append(out, a.takeoverSteps()...)
	}
	if slices.Contains(plan, mastodon.StepPostMigrate) {
		// After a takeover's steps: the release's Pods, which run the old
		// code, are gone before the migrations that it needs are undone.
		out[rollout].failed = fmt.Sprintf(upgrade, 2, "the rollout did not become ready")
		out = append(out, applyStep{string(mastodon.StepPostMigrate), changed, func(ctx context.Context) error {
			return a.c.RunJobOnce(ctx, s.MigrationJob(mastodon.PostDeployment).Unstructured())
		}, fmt.Sprintf(upgrade, 3, "post-deployment migrations")})
	}
	if st := a.searchStep(); st != nil {
		out = append(out, *st)
	}
	// Last, so that waiting for the address never takes time from the
	// steps that make the instance; it only warns.
	learn := a.plan.LoadBalancerIP.IsUnknown() || a.plan.LoadBalancerHostname.IsUnknown()
	switch {
	case a.ingress() != nil && learn:
		out = append(out, applyStep{"the load balancer's address", changed, func(ctx context.Context) error {
			a.learnLoadBalancer(ctx)
			return nil
		}, ""})
	case s.Gateway != nil && learn:
		out = append(out, applyStep{"the Gateway's address", changed, a.learnGatewayAddress,
			"The Gateway's controller refused the instance's HTTPRoute"})
	}
	return out
}

// ingress is the instance's Ingress (nil for none).
func (a *instanceApply) ingress() *unstructured.Unstructured {
	if a.takeover != nil {
		return findKind(a.takeover.ingress, "Ingress")
	}
	return findKind(a.workloads, "Ingress")
}

// learnLoadBalancer fills the load balancer's address that the plan left
// unknown (the apply that creates the Ingress), so that a DNS record fed
// from it in the same apply gets it. The Ingress controller publishes it
// after the Ingress exists: unless wait_for_load_balancer is false, the
// apply waits for it, at most load_balancer_timeout, and warns when the
// time runs out (the address is then null until a refresh reads it).
func (a *instanceApply) learnLoadBalancer(ctx context.Context) {
	ing := a.ingress()
	wait, timeout := false, time.Duration(0)
	if in := a.plan.Ingress; in != nil {
		wait, timeout = loadBalancerWait(in.WaitForLB, in.LBTimeout)
	}
	if !wait {
		if cur, err := a.c.Get(ctx, "Ingress", a.spec.Namespace, ing.GetName()); err == nil && cur != nil {
			a.plan.LoadBalancerIP, a.plan.LoadBalancerHostname = loadBalancer(cur)
		}
		return
	}
	a.log(fmt.Sprintf("waiting for the load balancer's address of Ingress %s (at most %s)", ing.GetName(), timeout))
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ip, host, err := a.c.WaitIngressAddress(wctx, a.spec.Namespace, ing.GetName())
	if err == nil {
		a.plan.LoadBalancerIP, a.plan.LoadBalancerHostname = nullable(ip), nullable(host)
		return
	}
	a.warnings = append(a.warnings, fmt.Sprintf("Ingress %s/%s reported no load balancer address within %s (%v), so load_balancer_ip and "+
		"load_balancer_hostname are null after this apply, and a DNS record fed from them in this apply got nothing. "+
		"The instance itself is ready. Check that an Ingress controller serves its class (kubectl describe ingress shows its events); "+
		"once it publishes the address, `terraform apply` reads it and updates what depends on it. On a cluster without a load "+
		"balancer controller, set ingress.wait_for_load_balancer = false.", a.spec.Namespace, ing.GetName(), timeout, err))
}

// prune deletes the instance's objects that are no longer rendered: only
// kinds the renderer produces, only objects carrying the instance's owner
// mark (its accounts' objects are theirs), never Jobs or volumes.
func (a *instanceApply) prune(ctx context.Context) error {
	return a.pruneKinds(ctx, mastodon.PrunableKinds)
}

// autoscalerSwitchedOff says whether the prior configuration had an
// autoscaler that this one has not.
func (a *instanceApply) autoscalerSwitchedOff(ctx context.Context) bool {
	if a.prior == nil {
		return false
	}
	was, d := a.prior.spec(ctx)
	if d.HasError() {
		return false
	}
	for _, o := range was.Render(mastodon.Secrets{}, "") {
		if o.Kind == "HorizontalPodAutoscaler" && !a.keep[o.Key()] {
			return true
		}
	}
	return false
}

// pruneKinds prunes objects of some of the prunable kinds only.
func (a *instanceApply) pruneKinds(ctx context.Context, kinds []string) error {
	live, err := a.c.List(ctx, a.spec.Namespace, mastodon.InstanceSelector(a.spec.Name), kinds)
	if err != nil {
		return err
	}
	pruned, err := a.c.Prune(ctx, live, a.keep, kinds, mastodon.OwnedByInstance)
	if len(pruned) > 0 {
		a.log("removed objects no longer configured: " + strings.Join(pruned, ", "))
	}
	return err
}

// applyError is a failed step, with the state to record.
type applyError struct {
	step, title, detail string
	state               *instanceModel // nil: record nothing (create) or keep the prior state (update)
	// warning: the instance was created and runs, only its index build
	// failed; an error would taint it, and the next apply would replace it.
	warning bool
}

// run performs the steps in order. It returns the state to record: the
// plan, completed, when every step succeeded; else what the failed step's
// rule says.
func (a *instanceApply) run(ctx context.Context) (*instanceModel, *applyError) {
	steps := a.steps(ctx)
	// A move to another database that fails before the new one is
	// prepared records the database it moves from: the next plan shows the
	// move again, and its apply restores and prepares the new one.
	moving, prepared := a.prior != nil && a.prepare(ctx), false
	if a.prior != nil && a.migrated() != a.spec.Version {
		a.log(fmt.Sprintf("upgrading from %s to %s", a.migrated(), a.spec.Version))
	}
	for i, st := range steps {
		a.log(fmt.Sprintf("step %d/%d: %s", i+1, len(steps), st.name))
		if err := st.run(ctx); err != nil {
			e := &applyError{step: st.name, title: st.failed, detail: err.Error()}
			if st.name != "volumes" && st.name != searchStepName {
				e.detail += a.unboundClaims()
			}
			switch {
			case st.onFail == changed:
				failed := *a.plan
				failed.Ready = types.BoolValue(false)
				failed.MigratedVersion = types.StringNull()
				if a.prior != nil {
					failed.MigratedVersion = a.prior.MigratedVersion
				}
				failed.SearchIndex = a.builtIndex()
				if moving && !prepared {
					failed.Database, failed.EmbeddedDatabase = a.prior.Database, a.prior.EmbeddedDatabase
				}
				resolveUnknown(&failed)
				e.state = &failed
			case st.onFail == unindexed:
				failed := *a.plan
				failed.MigratedVersion = types.StringValue(a.spec.Version)
				failed.Ready = types.BoolValue(true)
				failed.SearchIndex = a.builtIndex()
				resolveUnknown(&failed)
				e.state = &failed
				e.warning = a.prior == nil
			case a.prior != nil:
				e.state = a.prior
			}
			return e.state, e
		}
		prepared = prepared || st.name == string(mastodon.StepPrepare)
	}
	done := *a.plan
	done.MigratedVersion = types.StringValue(a.spec.Version)
	done.Ready = types.BoolValue(true)
	resolveUnknown(&done)
	a.log("instance ready")
	return &done, nil
}

// resolveUnknown makes the values an apply could not learn null.
func resolveUnknown(m *instanceModel) {
	if m.LoadBalancerIP.IsUnknown() {
		m.LoadBalancerIP = types.StringNull()
	}
	if m.LoadBalancerHostname.IsUnknown() {
		m.LoadBalancerHostname = types.StringNull()
	}
	if m.SearchIndex.IsUnknown() {
		m.SearchIndex = types.StringNull()
	}
}

// advice says how to go on after a failed step.
func (e *applyError) advice(a *instanceApply) string {
	s := a.spec
	first := ""
	switch e.step {
	case string(mastodon.StepPrepare):
		first = "No Deployment was started on the unprepared database. "
	case restoreStepName:
		first = "No Deployment was started, and the database was left as it was (the restore runs in one transaction, and refuses a database that holds tables). "
	}
	switch {
	case e.step == searchStepName:
		return "Everything else is done: the instance runs, and search answers from what the indexes hold. Fix the cause and apply again: " +
			"the next plan shows search_index to be built, and the apply runs the index build again (a failed Job is replaced by a fresh one; " +
			"one still running is waited for, not started twice)."
	case a.prior == nil && e.state != nil:
		return first + fmt.Sprintf("The instance's objects created so far are in namespace %s (labelled app.kubernetes.io/instance=%s). "+
			"Terraform records the instance as tainted: the next terraform apply deletes them (keeping data volumes and the "+
			"generated secrets) and creates the instance again once you fixed the cause; terraform destroy removes them.", s.Namespace, s.Name)
	case a.prior == nil:
		return "Nothing was created. Fix the cause and apply again."
	case e.state == a.prior:
		return "Nothing that runs was changed: the Deployments were not touched and still run " + a.migrated() + ". Fix the cause and apply again: a fresh Job is started."
	}
	return first + "Fix the cause and apply again: the next apply continues from where the cluster is (a failed Job is replaced by a fresh one, a finished one is not run again)."
}

const searchStepName = "build the search indexes (tootctl search deploy)"

// builtIndex is the search_index built before this apply.
func (a *instanceApply) builtIndex() types.String {
	if a.prior == nil {
		return types.StringNull()
	}
	return a.prior.SearchIndex
}

// searchStep is the index build, when one is due (mastodon.PlanSearchDeploy),
// after everything else, as Mastodon's documentation orders it: configure,
// restart, then `tootctl search deploy`. It runs in a Job named after what
// it builds, so an interrupted build is waited for, not started twice; the
// instance keeps the Job of its last build only, and none once search is
// switched off (a Job of the same name from an earlier build would
// otherwise pass for this one).
func (a *instanceApply) searchStep() *applyStep {
	s := a.spec
	if s.Search == nil {
		if a.prior == nil || (a.prior.Opensearch == nil && a.prior.SearchIndex.IsNull()) {
			return nil
		}
		return &applyStep{"remove the search index build Jobs (search switched off)", changed, func(ctx context.Context) error {
			return a.pruneSearchJobs(ctx, "")
		}, "Cannot remove the search index build Jobs"}
	}
	d := s.PlanSearchDeploy(a.builtIndex().ValueString())
	if d == nil {
		// Built already (planned unknown when the plan could not tell).
		a.plan.SearchIndex = types.StringValue(s.SearchIndex())
		return nil
	}
	job := s.SearchDeployJob(d).Unstructured()
	return &applyStep{searchStepName, unindexed, func(ctx context.Context) error {
		if err := a.pruneSearchJobs(ctx, job.GetName()); err != nil {
			return err
		}
		a.log("index build: " + job.GetName() + " (tootctl " + strings.Join(d.Args(), " ") + ")")
		if a.plan.Opensearch.waits() {
			if err := a.c.RunJobOnce(ctx, job); err != nil {
				return err
			}
			a.plan.SearchIndex = types.StringValue(d.Want)
			return nil
		}
		complete, err := a.c.StartJobOnce(ctx, job)
		if err != nil {
			return err
		}
		a.plan.SearchIndex = a.builtIndex()
		if complete {
			a.plan.SearchIndex = types.StringValue(d.Want)
		} else {
			a.log("index build " + job.GetName() + " runs in the background (wait_for_index = false): the next apply records it once complete")
		}
		return nil
	}, "The search index build failed"}
}

// pruneSearchJobs deletes the instance's index build Jobs but keep.
func (a *instanceApply) pruneSearchJobs(ctx context.Context, keep string) error {
	live, err := a.c.List(ctx, a.spec.Namespace, a.spec.SearchSelector(), []string{"Job"})
	if err != nil {
		return err
	}
	pruned, err := a.c.Prune(ctx, live, map[string]bool{"Job/" + a.spec.Namespace + "/" + keep: true}, []string{"Job"}, mastodon.OwnedByInstance)
	if len(pruned) > 0 {
		a.log("removed earlier index build Jobs: " + strings.Join(pruned, ", "))
	}
	return err
}
