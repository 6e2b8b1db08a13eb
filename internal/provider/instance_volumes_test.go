package provider

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	k8sresource "k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"

	"github.com/tootform/terraform-provider-mastodon/internal/kube"
	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

// The fake cluster of TestApplySteps has the one default class "standard".
func (f *fakeCluster) StorageClasses(context.Context) (*kube.StorageClasses, error) {
	return &kube.StorageClasses{Provisioners: map[string]string{"standard": "kubernetes.io/host-path"}, Default: "standard"}, nil
}
func (f *fakeCluster) DeleteNeverBoundClaim(_ context.Context, pvc *unstructured.Unstructured, _ string) error {
	return f.do("replace claim " + pvc.GetName())
}
func (f *fakeCluster) WaitDeleted(context.Context, string, string, string) error { return nil }

// A storage class the cluster does not have fails the apply before
// anything is created (not a Pod waiting on its claim until the timeout).
func TestApplyRefusesAMissingStorageClassBeforeAnything(t *testing.T) {
	ctx := context.Background()
	plan := model("v4.7.2", nil)
	plan.Media = &mediaModel{StorageClass: types.StringValue("no-such-class")}
	spec, d := plan.spec(ctx)
	if d.HasError() {
		t.Fatal(d)
	}
	f := &fakeCluster{}
	a := newInstanceApply(f, spec, mastodon.Secrets{}, "", nil, plan, func(string) {})
	state, failed := a.run(ctx)
	if state != nil || failed == nil || len(f.did) != 0 {
		t.Fatalf("state %v, error %v, did %v: want nothing done and an error", state, failed, f.did)
	}
	for _, want := range []string{`media.storage_class: claim social-media would ask for storage class "no-such-class", which does not exist in the cluster (it has: standard (default))`,
		"Nothing was created or changed"} {
		if !strings.Contains(failed.detail, want) {
			t.Errorf("the error lacks %q:\n%s", want, failed.detail)
		}
	}
}

func pvc(name, class, size string, bound bool, labels map[string]string) *unstructured.Unstructured {
	p := &corev1.PersistentVolumeClaim{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolumeClaim"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: labels, UID: "uid-" + "x"},
		Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: &class,
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: k8sresource.MustParse(size)}}},
		Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending},
	}
	if bound {
		p.Spec.VolumeName, p.Status.Phase = "pv-"+name, corev1.ClaimBound
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(p)
	if err != nil {
		panic(err)
	}
	return &unstructured.Unstructured{Object: m}
}

// The volumes step, against a cluster: the instance's own claims that
// never bound and ask for another class or size than planned are replaced
// (the database's with its StatefulSet); a bound claim, one that asks for
// what is planned, and one that is not the instance's are left as they are.
func TestProvideVolumesReplacesOnlyNeverBoundClaimsThatDiffer(t *testing.T) {
	ours := func(component string) map[string]string {
		return mastodon.Labels("social", component, mastodon.OwnerInstance)
	}
	template := mastodon.Labels("social", mastodon.ComponentDatabase, "")
	delete(template, mastodon.LabelOwner) // claims a StatefulSet makes carry its template's labels
	sts := obj("StatefulSet", "social-postgresql", ours(mastodon.ComponentDatabase))
	objs := []runtime.Object{
		sts,
		pvc("data-social-postgresql-0", "no-such-class", "10Gi", false, template),          // never bound, other class: replaced with its StatefulSet
		pvc("data-social-redis-0", "old", "1Gi", true, ours(mastodon.ComponentRedis)),      // bound: kept, whatever its class
		pvc("social-media", "standard", "10Gi", false, ours(mastodon.ComponentMedia)),      // never bound, as planned: kept
		pvc("social-db-backup", "standard", "1Gi", false, map[string]string{"other": "x"}), // not ours: kept
	}
	dyn := fakeClient(objs...).Dynamic
	standard := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "standard",
		Annotations: map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}}, Provisioner: "kubernetes.io/host-path"}
	c := &kube.Client{Dynamic: dyn, Clientset: fake.NewClientset(standard), REST: &rest.Config{Host: "https://127.0.0.1:6443"}}
	s := testSpec()
	s.Backup = &mastodon.Backup{Keep: 1, StorageSize: "2Gi"}
	var logged []string
	a := newInstanceApply(c, s, mastodon.Secrets{}, "", nil, &instanceModel{}, func(m string) { logged = append(logged, m) })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.provideVolumes(ctx); err != nil {
		t.Fatal(err)
	}
	left := map[string]bool{}
	for _, kind := range []string{"StatefulSet", "PersistentVolumeClaim"} {
		live, err := c.List(ctx, "ns", "", []string{kind})
		if err != nil {
			t.Fatal(err)
		}
		for k := range live {
			left[k] = true
		}
	}
	want := []string{"PersistentVolumeClaim/ns/data-social-redis-0", "PersistentVolumeClaim/ns/social-db-backup", "PersistentVolumeClaim/ns/social-media"}
	var got []string
	for k := range left {
		got = append(got, k)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("left %v, want %v", got, want)
	}
	logged = slices.DeleteFunc(logged, func(m string) bool { return !strings.HasPrefix(m, "replaced") })
	if len(logged) != 1 || !strings.Contains(logged[0], `data-social-postgresql-0 (with StatefulSet social-postgresql`) ||
		!strings.Contains(logged[0], `storage class "no-such-class" -> "standard"`) {
		t.Errorf("logged %q", logged)
	}
}

// A destroy deletes the claims that never bound, whatever
// delete_volume_on_destroy says, and only those.
func TestNeverBoundClaimsAreTheDestroyedOnes(t *testing.T) {
	ours := func(component string) map[string]string {
		return mastodon.Labels("social", component, mastodon.OwnerInstance)
	}
	live := map[string]*unstructured.Unstructured{}
	for _, o := range []*unstructured.Unstructured{
		pvc("data-social-postgresql-0", "no-such-class", "10Gi", false, ours(mastodon.ComponentDatabase)),
		pvc("social-media", "standard", "10Gi", true, ours(mastodon.ComponentMedia)),
		pvc("social-account-x", "standard", "1Gi", false, mastodon.Labels("social", mastodon.ComponentAccount, mastodon.AccountOwner("x"))),
		obj("Secret", "social-secrets", ours(mastodon.ComponentSecrets)),
	} {
		live[kube.Key(o)] = o
	}
	got := neverBoundClaims(context.Background(), live, "ns")
	if len(got) != 1 || !got["data-social-postgresql-0"] {
		t.Errorf("never bound: %v", got)
	}
}

// planFor is a ModifyPlan request and response of mastodon_instance whose
// plan sets the given attributes (the rest null), against prior state
// (nil: a create), with a provider whose client is c.
func planFor(t *testing.T, c *kube.Client, prior map[string]any, attrs map[string]any) (*instanceResource, resource.ModifyPlanRequest, *resource.ModifyPlanResponse) {
	t.Helper()
	ctx := context.Background()
	r := &instanceResource{clients: &clientSource{client: c}}
	r.clients.once.Do(func() {})
	var sr resource.SchemaResponse
	r.Schema(ctx, resource.SchemaRequest{}, &sr)
	null := tftypes.NewValue(sr.Schema.Type().TerraformType(ctx), nil)
	build := func(values map[string]any) tfsdk.Plan {
		p := tfsdk.Plan{Schema: sr.Schema, Raw: null}
		for k, v := range values {
			if d := p.SetAttribute(ctx, attributePath(k), v); d.HasError() {
				t.Fatal(d)
			}
		}
		return p
	}
	plan := build(attrs)
	req := resource.ModifyPlanRequest{Plan: plan, State: tfsdk.State{Schema: sr.Schema, Raw: null}}
	if prior != nil {
		st := build(prior)
		req.State = tfsdk.State{Schema: sr.Schema, Raw: st.Raw}
	}
	return r, req, &resource.ModifyPlanResponse{Plan: plan}
}

// Where the cluster is known, a plan warns of a storage class it does not
// have (a warning: the same apply may create it), naming the attribute;
// a class it has, and a class a plan does not change, are not read.
func TestPlanWarnsOfAMissingStorageClass(t *testing.T) {
	standard := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "standard",
		Annotations: map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}}, Provisioner: "kubernetes.io/host-path"}
	c := &kube.Client{Clientset: fake.NewClientset(standard)}
	base := map[string]any{"name": "social", "namespace": "ns", "local_domain": "social.example"}
	with := func(extra map[string]any) map[string]any {
		m := maps.Clone(base)
		maps.Copy(m, extra)
		return m
	}
	ctx := context.Background()
	r, req, resp := planFor(t, c, nil, with(map[string]any{"media.storage_class": "no-such-class", "embedded_database.storage_class": "standard"}))
	r.warnMissingClasses(ctx, req, resp)
	if len(resp.Diagnostics) != 1 || resp.Diagnostics.WarningsCount() != 1 ||
		!strings.Contains(resp.Diagnostics[0].Detail(), `media.storage_class: claim social-media would ask for storage class "no-such-class", which does not exist`) {
		t.Errorf("create: %v", resp.Diagnostics)
	}
	// An update that keeps the class reads nothing (the class may be gone
	// since: the claim is bound to its volume).
	c.Clientset = fake.NewClientset()
	r, req, resp = planFor(t, c, with(map[string]any{"media.storage_class": "gone"}), with(map[string]any{"media.storage_class": "gone"}))
	r.warnMissingClasses(ctx, req, resp)
	if len(resp.Diagnostics) != 0 {
		t.Errorf("update keeping the class: %v", resp.Diagnostics)
	}
}

// A change of class or size the API server would refuse is let through,
// as a warning, for a claim that never bound (the apply replaces it), and
// refused for a bound one.
func TestClassChangeOfANeverBoundClaimIsAllowed(t *testing.T) {
	ours := mastodon.Labels("social", mastodon.ComponentBackup, mastodon.OwnerInstance)
	state := model("v4.7.2", nil)
	state.Backup = &backupModel{StorageClass: types.StringValue("nobody")}
	refused := func() diag.Diagnostics {
		var d diag.Diagnostics
		d.AddAttributeError(path.Root("backup").AtName("storage_class"), "Cannot change backup.storage_class", "refused")
		d.AddAttributeError(path.Root("version"), "Unrelated", "refused")
		return d
	}
	for _, tc := range []struct {
		bound    bool
		warnings int
	}{{false, 1}, {true, 0}} {
		c := &kube.Client{Dynamic: fakeClient(pvc("social-db-backup", "nobody", "10Gi", tc.bound, ours)).Dynamic}
		r := &instanceResource{clients: &clientSource{client: c}}
		r.clients.once.Do(func() {})
		got := r.unlessNeverBound(context.Background(), state, refused())
		if got.WarningsCount() != tc.warnings || got.ErrorsCount() != 2-tc.warnings {
			t.Errorf("bound %v: %v", tc.bound, got)
		}
	}
}

// volumesCluster is a cluster of the given objects with the one default
// class "standard", whose requests can be counted.
func volumesCluster(objs ...runtime.Object) (*kube.Client, *dynamicfake.FakeDynamicClient, *fake.Clientset) {
	standard := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "standard",
		Annotations: map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}}, Provisioner: "kubernetes.io/host-path"}
	c := fakeClient(objs...)
	cs := fake.NewClientset(standard)
	c.Clientset = cs
	return c, c.Dynamic.(*dynamicfake.FakeDynamicClient), cs
}

// A change of class or size the plan let through because the claim had
// not bound fails the volumes step, before anything changes, when the
// claim bound since (it may hold data now: it is not replaced, and the
// API server would refuse the change half way through the apply). A
// claim that grows is no such change.
func TestProvideVolumesRefusesAChangeOfAClaimBoundSinceThePlan(t *testing.T) {
	ctx := context.Background()
	ours := func(component string) map[string]string {
		return mastodon.Labels("social", component, mastodon.OwnerInstance)
	}
	prior := model("v4.7.2", nil)
	prior.EmbeddedDatabase = &embeddedDatabaseModel{StorageClass: types.StringValue("standard")}
	prior.Media = &mediaModel{StorageClass: types.StringValue("standard"), StorageSize: types.StringValue("10Gi")}
	for _, tc := range []struct {
		name   string
		change func(plan *instanceModel)
		refuse []string
	}{
		{"database class", func(p *instanceModel) { p.EmbeddedDatabase.StorageClass = types.StringValue("fast") },
			[]string{`embedded_database: claim data-social-postgresql-0 bound since the plan (it holds data now): storage class "standard" -> "fast".`}},
		{"media class", func(p *instanceModel) { p.Media.StorageClass = types.StringValue("fast") },
			[]string{`media: claim social-media bound since the plan (it holds data now): storage class "standard" -> "fast".`}},
		{"media shrinks", func(p *instanceModel) { p.Media.StorageSize = types.StringValue("5Gi") },
			[]string{`media: claim social-media bound since the plan (it holds data now): size 10Gi -> 5Gi.`}},
		{"media grows", func(p *instanceModel) { p.Media.StorageSize = types.StringValue("20Gi") }, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan := model("v4.7.2", nil)
			db, media := *prior.EmbeddedDatabase, *prior.Media
			plan.EmbeddedDatabase, plan.Media = &db, &media
			tc.change(plan)
			spec, d := plan.spec(ctx)
			if d.HasError() {
				t.Fatal(d)
			}
			c, dyn, _ := volumesCluster(
				pvc("data-social-postgresql-0", "standard", mastodon.DefaultDatabaseSize, true, ours(mastodon.ComponentDatabase)),
				pvc("data-social-redis-0", "standard", mastodon.DefaultRedisSize, true, ours(mastodon.ComponentRedis)),
				pvc("social-media", "standard", "10Gi", true, ours(mastodon.ComponentMedia)))
			a := newInstanceApply(c, spec, mastodon.Secrets{}, "", prior, plan, func(string) {})
			err := a.provideVolumes(ctx)
			for _, act := range dyn.Actions() {
				if act.GetVerb() != "get" {
					t.Errorf("changed the cluster: %s %s", act.GetVerb(), act.GetResource().Resource)
				}
			}
			if tc.refuse == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatal("not refused")
			}
			for _, want := range append(tc.refuse, "Keep the old storage_class and storage_size", "Nothing was created or changed") {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("the error lacks %q:\n%s", want, err)
				}
			}
		})
	}
}

// An update reads the cluster's storage classes only where a volume's
// class changes or a claim is not bound; a create always does.
func TestProvideVolumesReadsClassesOnlyWhereNeeded(t *testing.T) {
	ctx := context.Background()
	ours := func(component string) map[string]string {
		return mastodon.Labels("social", component, mastodon.OwnerInstance)
	}
	prior := model("v4.7.2", nil)
	prior.Media = &mediaModel{StorageClass: types.StringValue("standard")}
	for _, tc := range []struct {
		name       string
		prior      *instanceModel
		mediaBound bool
		class      string
		lists      int
	}{
		{"update, all bound", prior, true, "standard", 0},
		{"update, a claim not bound", prior, false, "standard", 1},
		{"update, a class changes", prior, true, "other", 1},
		{"create", nil, true, "standard", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan := model("v4.7.2", nil)
			plan.Media = &mediaModel{StorageClass: types.StringValue(tc.class)}
			spec, d := plan.spec(ctx)
			if d.HasError() {
				t.Fatal(d)
			}
			c, _, cs := volumesCluster(
				pvc("data-social-postgresql-0", "standard", mastodon.DefaultDatabaseSize, true, ours(mastodon.ComponentDatabase)),
				pvc("data-social-redis-0", "standard", mastodon.DefaultRedisSize, true, ours(mastodon.ComponentRedis)),
				pvc("social-media", "standard", mastodon.DefaultMediaSize, tc.mediaBound, ours(mastodon.ComponentMedia)))
			a := newInstanceApply(c, spec, mastodon.Secrets{}, "", tc.prior, plan, func(string) {})
			_ = a.provideVolumes(ctx) // a class change of a bound claim is refused: counted all the same
			if got := len(cs.Actions()); got != tc.lists {
				t.Errorf("storage class lists: %d, want %d", got, tc.lists)
			}
		})
	}
}
