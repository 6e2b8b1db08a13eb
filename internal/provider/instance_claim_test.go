package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/tootform/terraform-provider-mastodon/internal/kube"
	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

// fakePrivate is private state as the framework keeps it: JSON values by key.
type fakePrivate map[string][]byte

func (p fakePrivate) GetKey(_ context.Context, key string) ([]byte, diag.Diagnostics) {
	return p[key], nil
}

func (p fakePrivate) SetKey(_ context.Context, key string, value []byte) diag.Diagnostics {
	p[key] = value
	return nil
}

func TestReconcileClaim(t *testing.T) {
	for _, tc := range []struct {
		name         string
		held, live   string
		imported     bool
		keep         string
		wantConflict bool
	}{
		{"same claim", "a", "a", false, "a", false},
		{"objects of an earlier release: claimed by the next apply", "a", "", false, "a", false},
		{"a state of an earlier release, objects without claim: a new claim", "", "", false, "", false},
		{"another state created them again", "a", "b", false, "a", true},
		{"a state of an earlier release, objects claimed by another state", "", "b", false, "", true},
		{"an import adopts the live claim", "", "b", true, "b", false},
		{"an import over a held claim adopts the live one", "a", "b", true, "b", false},
		{"an import of objects without claim: a new one", "", "", true, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keep, conflict := reconcileClaim(tc.held, tc.live, tc.imported)
			if keep != tc.keep || conflict != tc.wantConflict {
				t.Errorf("reconcileClaim(%q, %q, %v) = %q, %v; want %q, %v", tc.held, tc.live, tc.imported, keep, conflict, tc.keep, tc.wantConflict)
			}
		})
	}
}

func TestRefreshClaim(t *testing.T) {
	ctx := context.Background()
	hint := instanceImport("ns", "social")
	held := func(claim string) fakePrivate {
		p := fakePrivate{}
		if claim != "" {
			holdClaim(ctx, p, claim)
		}
		return p
	}

	// Another state's claim: an error naming both claims and the way out.
	in, out := held("aaaa"), fakePrivate{}
	var diags diag.Diagnostics
	if refreshClaim(ctx, "mastodon_instance", "ns/social", "bbbb", false, in, out, hint, &diags) {
		t.Fatal("a refresh that found another claim went on")
	}
	msg := diags[0].Detail()
	for _, want := range []string{"created again by another Terraform state", "claim bbbb", "holds claim aaaa",
		"terraform state rm mastodon_instance.<address>", "terraform import mastodon_instance.<address> ns/social"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the error lacks %q:\n%s", want, msg)
		}
	}

	// Objects without a claim (an earlier release): the state keeps its own.
	in, out = held("aaaa"), fakePrivate{}
	diags = nil
	if !refreshClaim(ctx, "mastodon_instance", "ns/social", "", false, in, out, hint, &diags) || diags.HasError() {
		t.Fatalf("refused objects without a claim: %v", diags)
	}
	if len(out) != 0 {
		t.Errorf("rewrote the claim it holds: %q", out)
	}

	// A state without a claim and objects without one: a new claim, held.
	in, out = held(""), fakePrivate{}
	diags = nil
	if !refreshClaim(ctx, "mastodon_instance", "ns/social", "", false, in, out, hint, &diags) {
		t.Fatalf("refused: %v", diags)
	}
	if got, _ := heldClaim(ctx, out); len(got) != 16 {
		t.Errorf("new claim %q, want 16 hex digits", got)
	}

	// An import adopts the live claim.
	in, out = held(""), fakePrivate{}
	diags = nil
	if !refreshClaim(ctx, "mastodon_instance", "ns/social", "bbbb", true, in, out, hint, &diags) {
		t.Fatalf("refused an import: %v", diags)
	}
	if got, _ := heldClaim(ctx, out); got != "bbbb" {
		t.Errorf("import holds %q, want the live claim bbbb", got)
	}
}

func TestApplyClaim(t *testing.T) {
	ctx := context.Background()
	p := fakePrivate{}
	holdClaim(ctx, p, "aaaa")
	if got, _ := applyClaim(ctx, p, false); got != "aaaa" {
		t.Errorf("an update writes %q, want the held claim", got)
	}
	if got, _ := applyClaim(ctx, p, true); got == "aaaa" || len(got) != 16 {
		t.Errorf("a create writes %q, want a new claim of its own", got)
	}
	if got, _ := applyClaim(ctx, fakePrivate{}, false); len(got) != 16 {
		t.Errorf("an update of a state without a claim writes %q, want a new one", got)
	}
}

func TestClaimInstanceObjects(t *testing.T) {
	spec := &mastodon.Spec{Name: "social", Namespace: "ns"}
	obj := func(kind, name string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{}
		u.SetKind(kind)
		u.SetName(name)
		u.SetAnnotations(map[string]string{"other": "kept"})
		return u
	}
	objs := []*unstructured.Unstructured{obj("ConfigMap", spec.ConfigMapName()), obj("Secret", spec.SecretName()),
		obj("Service", "social-web"), obj("Secret", "social-other")}
	claimed := claimedObjects(objs, spec)
	if len(claimed) != 2 {
		t.Fatalf("claimed %d objects, want the ConfigMap and the generated secrets' Secret", len(claimed))
	}
	setClaims(claimed, "cccc")
	for i, want := range []string{"cccc", "cccc", "", ""} {
		if got := mastodon.Claim(objs[i].GetAnnotations()); got != want {
			t.Errorf("%s %s: claim %q, want %q", objs[i].GetKind(), objs[i].GetName(), got, want)
		}
		if objs[i].GetAnnotations()["other"] != "kept" {
			t.Errorf("%s %s lost its other annotations", objs[i].GetKind(), objs[i].GetName())
		}
	}
	live := map[string]*unstructured.Unstructured{"Secret/ns/" + spec.SecretName(): objs[1]}
	if got := instanceLiveClaim(live, "ns", "social"); got != "cccc" {
		t.Errorf("live claim from the Secret alone: %q", got)
	}
	objs[0].SetAnnotations(map[string]string{mastodon.AnnotationClaim: "dddd"})
	live["ConfigMap/ns/"+spec.ConfigMapName()] = objs[0]
	if got := instanceLiveClaim(live, "ns", "social"); got != "dddd" {
		t.Errorf("live claim %q, want the ConfigMap's", got)
	}
}

// fakeLister lists fixed objects of the kinds asked (selectors are the
// server's: the owner marks are checked by the caller).
func fakeLister(objs ...*unstructured.Unstructured) lister {
	return func(_ context.Context, ns, _ string, kinds []string) (map[string]*unstructured.Unstructured, error) {
		out := map[string]*unstructured.Unstructured{}
		for _, o := range objs {
			for _, k := range kinds {
				if o.GetKind() == k && o.GetNamespace() == ns {
					out[o.GetKind()+"/"+ns+"/"+o.GetName()] = o
				}
			}
		}
		return out, nil
	}
}

func labelled(kind, name string, l map[string]string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetKind(kind)
	u.SetNamespace("ns")
	u.SetName(name)
	u.SetLabels(l)
	return u
}

func TestRefuseLiveInstance(t *testing.T) {
	ctx := context.Background()
	own := func(component string) map[string]string {
		return mastodon.Labels("social", component, mastodon.OwnerInstance)
	}
	// What a destroy keeps (the generated secrets' Secret, the volumes)
	// is reopened, not refused.
	kept := []*unstructured.Unstructured{labelled("Secret", "social-secrets", own("secrets")),
		labelled("PersistentVolumeClaim", "data-social-postgresql-0", own(mastodon.ComponentDatabase))}
	var diags diag.Diagnostics
	if !refuseLiveInstance(ctx, fakeLister(kept...), noGet, "ns", "social", &diags) || diags.HasError() {
		t.Fatalf("refused the kept data of a destroyed instance: %v", diags)
	}
	// The ConfigMap, or any workload, makes it live.
	for _, o := range []*unstructured.Unstructured{labelled("ConfigMap", "social-env", own(mastodon.ComponentConfig)),
		labelled("Deployment", "social-web", own("web")), labelled("StatefulSet", "social-postgresql", own(mastodon.ComponentDatabase)),
		labelled("CronJob", "social-mt-media", own("maintenance")), labelled("Job", "social-db-prepare-1", own("db-prepare"))} {
		diags = nil
		if refuseLiveInstance(ctx, fakeLister(append(kept, o)...), noGet, "ns", "social", &diags) {
			t.Errorf("%s %s: the create went on", o.GetKind(), o.GetName())
			continue
		}
		msg := diags[0].Detail()
		for _, want := range []string{"mastodon_instance ns/social already exists", o.GetKind() + " " + o.GetName(),
			"terraform import mastodon_instance.<address> ns/social", `id = "ns/social"`, "Nothing was changed"} {
			if !strings.Contains(msg, want) {
				t.Errorf("%s: the refusal lacks %q:\n%s", o.GetKind(), want, msg)
			}
		}
	}
	// An account's objects, or another instance's, are not this instance.
	diags = nil
	if !refuseLiveInstance(ctx, fakeLister(labelled("Job", "social-account-create-1", mastodon.Labels("social", mastodon.ComponentAccount, mastodon.AccountOwner("alice"))),
		labelled("ConfigMap", "other", map[string]string{"app": "other"})), noGet, "ns", "social", &diags) {
		t.Errorf("refused on objects the instance does not own: %v", diags)
	}
	// A cluster that cannot tell refuses too: the create cannot prove it takes nothing over.
	failing := func(context.Context, string, string, []string) (map[string]*unstructured.Unstructured, error) {
		return nil, errors.New("connection refused")
	}
	diags = nil
	if refuseLiveInstance(ctx, failing, noGet, "ns", "social", &diags) || !strings.Contains(diags[0].Detail(), "connection refused") {
		t.Errorf("went on without knowing: %v", diags)
	}
	// Credentials that may neither list nor get there go on: the apply's
	// first read fails with the permission it lacks, before anything
	// changes.
	forbidden := func(context.Context, string, string, []string) (map[string]*unstructured.Unstructured, error) {
		return nil, fmt.Errorf("listing ConfigMaps: %w", apierrors.NewForbidden(schema.GroupResource{Resource: "configmaps"}, "", errors.New("no")))
	}
	forbiddenGet := func(context.Context, string, string, string) (*unstructured.Unstructured, error) {
		return nil, apierrors.NewForbidden(schema.GroupResource{Resource: "configmaps"}, "social-env", errors.New("no"))
	}
	diags = nil
	if !refuseLiveInstance(ctx, forbidden, forbiddenGet, "ns", "social", &diags) || diags.HasError() {
		t.Errorf("stopped on a forbidden list and get: %v", diags)
	}
}

// noGet finds nothing.
func noGet(context.Context, string, string, string) (*unstructured.Unstructured, error) {
	return nil, nil
}

// Credentials that may get but not list (a Role with get, create and patch)
// still see a live instance: its ConfigMap or its web Deployment, with the
// owner mark, refuses the create.
func TestRefuseLiveInstanceWithoutList(t *testing.T) {
	ctx := context.Background()
	own := func(component string) map[string]string {
		return mastodon.Labels("social", component, mastodon.OwnerInstance)
	}
	forbid := func(c *kube.Client, verb string) {
		c.Dynamic.(*dynamicfake.FakeDynamicClient).PrependReactor(verb, "*", func(k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "configmaps"}, "", errors.New("RBAC: "+verb))
		})
	}
	for _, o := range []*unstructured.Unstructured{obj("ConfigMap", "social-env", own(mastodon.ComponentConfig)), obj("Deployment", "social-web", own("web"))} {
		c := fakeClient(o)
		forbid(c, "list")
		var diags diag.Diagnostics
		if refuseLiveInstance(ctx, c.List, c.Get, "ns", "social", &diags) {
			t.Errorf("%s %s: the create went on", o.GetKind(), o.GetName())
			continue
		}
		if msg := diags[0].Detail(); !strings.Contains(msg, o.GetKind()+" "+o.GetName()) || !strings.Contains(msg, "terraform import mastodon_instance.<address> ns/social") {
			t.Errorf("the refusal lacks the object or the import:\n%s", msg)
		}
	}
	// Not the instance's (no owner mark), or nothing: the create goes on.
	for _, c := range []*kube.Client{fakeClient(obj("ConfigMap", "social-env", map[string]string{"app": "other"})), fakeClient()} {
		forbid(c, "list")
		var diags diag.Diagnostics
		if !refuseLiveInstance(ctx, c.List, c.Get, "ns", "social", &diags) || diags.HasError() {
			t.Errorf("refused without a live instance: %v", diags)
		}
	}
	// Get forbidden too: the create goes on (its first read says why).
	c := fakeClient(obj("ConfigMap", "social-env", own(mastodon.ComponentConfig)))
	forbid(c, "list")
	forbid(c, "get")
	var diags diag.Diagnostics
	if !refuseLiveInstance(ctx, c.List, c.Get, "ns", "social", &diags) || diags.HasError() {
		t.Errorf("stopped on a forbidden list and get: %v", diags)
	}
}

func TestRefuseLiveAccount(t *testing.T) {
	ctx := context.Background()
	account := mastodon.AccountSecret("ns", "social", "alice", map[string]string{"password": "x"}).Unstructured()
	var diags diag.Diagnostics
	if refuseLiveAccount(ctx, fakeLister(account), "ns", "social", "alice", &diags) {
		t.Fatal("the create of an account whose Secret exists went on")
	}
	for _, want := range []string{"The account alice of mastodon_instance ns/social already exists", "Secret social-account-alice",
		"terraform import mastodon_admin_user.<address> ns/social/alice"} {
		if !strings.Contains(diags[0].Detail(), want) {
			t.Errorf("the refusal lacks %q:\n%s", want, diags[0].Detail())
		}
	}
	diags = nil
	if !refuseLiveAccount(ctx, fakeLister(account), "ns", "social", "bob", &diags) {
		t.Errorf("refused bob on alice's Secret: %v", diags)
	}
}

func TestDestroyClaimed(t *testing.T) {
	ctx := context.Background()
	held := fakePrivate{}
	holdClaim(ctx, held, "aaaa")
	hint := instanceImport("ns", "social")
	for _, tc := range []struct {
		live string
		held privateReader
		ok   bool
	}{{"aaaa", held, true}, {"", held, true}, {"bbbb", held, false}, {"", fakePrivate{}, true}, {"bbbb", fakePrivate{}, false}} {
		var diags diag.Diagnostics
		if got := claimAllows(ctx, "mastodon_instance", "ns/social", tc.live, tc.held, hint, destroyRefused, &diags); got != tc.ok {
			t.Errorf("live %q: destroy goes on %v, want %v (%v)", tc.live, got, tc.ok, diags)
		}
		if !tc.ok && !strings.Contains(diags[0].Detail(), "The destroy deleted nothing") {
			t.Errorf("the refusal does not say nothing was deleted: %s", diags[0].Detail())
		}
	}
}

func TestClaimedElsewhere(t *testing.T) {
	ctx := context.Background()
	held := fakePrivate{}
	holdClaim(ctx, held, "aaaa")
	found := []string{"ConfigMap social-env"}
	for _, tc := range []struct {
		name  string
		found []string
		live  string
		held  privateReader
		want  bool
	}{
		{"nothing live", nil, "", fakePrivate{}, false},
		{"another state's instance", found, "bbbb", fakePrivate{}, true},
		{"the replaced object's own claim (a replacement's create)", found, "aaaa", held, false},
		{"another claim than the replaced object's", found, "bbbb", held, true},
		{"no claim: a failed create (tainted) or an earlier release, left to the create", found, "", fakePrivate{}, false},
	} {
		if got := claimedElsewhere(ctx, tc.found, tc.live, tc.held, false); got != tc.want {
			t.Errorf("%s: refused %v, want %v", tc.name, got, tc.want)
		}
	}
	// A replacement that moves the instance: its destroy goes first, so
	// whatever lives at the target without this state's claim is refused.
	for _, tc := range []struct {
		name  string
		found []string
		live  string
		want  bool
	}{
		{"nothing live at the target", nil, "", false},
		{"no claim at the target (an earlier release, another state's failed create)", found, "", true},
		{"another state's claim at the target", found, "bbbb", true},
		{"this state's claim at the target", found, "aaaa", false},
	} {
		if got := claimedElsewhere(ctx, tc.found, tc.live, held, true); got != tc.want {
			t.Errorf("moved, %s: refused %v, want %v", tc.name, got, tc.want)
		}
	}
}

// An update reads the live claim before it changes anything: another
// state's claim is refused (a plan without a refresh did not see it), like
// a destroy; objects without a claim (an earlier release) are claimed.
func TestUpdateClaimed(t *testing.T) {
	ctx := context.Background()
	held := fakePrivate{}
	holdClaim(ctx, held, "aaaa")
	cm := func(claim string) *unstructured.Unstructured {
		o := labelled("ConfigMap", "social-env", mastodon.Labels("social", mastodon.ComponentConfig, mastodon.OwnerInstance))
		if claim != "" {
			o.SetAnnotations(map[string]string{mastodon.AnnotationClaim: claim})
		}
		return o
	}
	account := func(claim string) *unstructured.Unstructured {
		o := mastodon.AccountSecret("ns", "social", "alice", map[string]string{"password": "x"}).Unstructured()
		if claim != "" {
			setClaim(o, claim)
		}
		return o
	}
	for _, tc := range []struct {
		live string
		held privateReader
		ok   bool
	}{{"aaaa", held, true}, {"", held, true}, {"", fakePrivate{}, true}, {"bbbb", held, false}, {"bbbb", fakePrivate{}, false}} {
		var diags diag.Diagnostics
		if got := instanceUpdateClaimed(ctx, fakeLister(cm(tc.live)), "ns", "social", tc.held, &diags); got != tc.ok {
			t.Errorf("instance, live %q: the update goes on %v, want %v (%v)", tc.live, got, tc.ok, diags)
		}
		if !tc.ok && !strings.Contains(diags[0].Detail(), "carry claim bbbb") || !tc.ok && !strings.Contains(diags[0].Detail(), "The update changed nothing") {
			t.Errorf("the instance's refusal: %s", diags[0].Detail())
		}
		diags = nil
		c := fakeClient(account(tc.live))
		if got := accountClaimed(ctx, c.Get, "ns", "social", "alice", tc.held, updateRefused, &diags); got != tc.ok {
			t.Errorf("account, live %q: the update goes on %v, want %v (%v)", tc.live, got, tc.ok, diags)
		}
		if !tc.ok && !strings.Contains(diags[0].Detail(), "mastodon_admin_user (ns/social/alice) was created again") {
			t.Errorf("the account's refusal: %s", diags[0].Detail())
		}
	}
	// No Secret (gone, or made by hand): the update goes on.
	var diags diag.Diagnostics
	if !accountClaimed(ctx, fakeClient().Get, "ns", "social", "alice", held, updateRefused, &diags) || diags.HasError() {
		t.Errorf("refused without a Secret: %v", diags)
	}
}

// A replacement that moves the instance (another name or namespace) is
// refused at plan when an instance lives at the target without this
// state's claim, none included: its destroy would go first, then the
// create would refuse. A replacement in place (another domain) is not.
func TestPlanRefusesMoveOntoLiveInstance(t *testing.T) {
	ctx := context.Background()
	old := map[string]any{"name": "social", "namespace": "ns", "local_domain": "social.example"}
	target := func(claim string) *unstructured.Unstructured {
		o := obj("ConfigMap", "other-env", mastodon.Labels("other", mastodon.ComponentConfig, mastodon.OwnerInstance))
		if claim != "" {
			setClaim(o, claim)
		}
		return o
	}
	for _, tc := range []struct {
		name   string
		live   []runtime.Object
		plan   map[string]any
		refuse bool
	}{
		{"moved onto an instance without claim", []runtime.Object{target("")}, map[string]any{"name": "other", "namespace": "ns", "local_domain": "social.example"}, true},
		{"moved onto another state's instance", []runtime.Object{target("bbbb")}, map[string]any{"name": "other", "namespace": "ns", "local_domain": "social.example"}, true},
		{"moved onto nothing", nil, map[string]any{"name": "other", "namespace": "ns", "local_domain": "social.example"}, false},
		{"another domain, in place", []runtime.Object{obj("ConfigMap", "social-env", mastodon.Labels("social", mastodon.ComponentConfig, mastodon.OwnerInstance))},
			map[string]any{"name": "social", "namespace": "ns", "local_domain": "new.example"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, req, resp := planFor(t, fakeClient(tc.live...), old, tc.plan)
			if !replaced(ctx, req) {
				t.Fatal("not a replacement")
			}
			r.ModifyPlan(ctx, req, resp)
			if got := resp.Diagnostics.HasError(); got != tc.refuse {
				t.Fatalf("refused %v, want %v: %v", got, tc.refuse, resp.Diagnostics)
			}
			if tc.refuse && !strings.Contains(resp.Diagnostics[0].Detail(), "terraform import mastodon_instance.<address> ns/other") {
				t.Errorf("the refusal lacks the import: %s", resp.Diagnostics[0].Detail())
			}
		})
	}
}
