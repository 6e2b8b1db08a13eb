package provider

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/types"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"

	"github.com/tootform/terraform-provider-mastodon/internal/kube"
	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

func obj(kind, name string, labels map[string]string) *unstructured.Unstructured {
	k, _ := kube.KindOf(kind)
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(k.GVR.GroupVersion().String())
	u.SetKind(kind)
	u.SetNamespace("ns")
	u.SetName(name)
	u.SetLabels(labels)
	return u
}

func fakeClient(objs ...runtime.Object) *kube.Client {
	lists := map[schema.GroupVersionResource]string{}
	for _, k := range kube.Kinds {
		lists[k.GVR] = k.Name + "List"
	}
	return &kube.Client{Dynamic: dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), lists, objs...)}
}

func testSpec() *mastodon.Spec {
	s := &mastodon.Spec{Name: "social", Namespace: "ns", LocalDomain: "social.example.org", WebReplicas: 1, StreamReplicas: 1}
	s.Defaults()
	return s
}

// An instance's prune deletes only its own objects no longer rendered: not
// its accounts' objects (old or new marks), not objects of anyone else
// that happen to carry the instance label, not Jobs, not volumes.
func TestPruneDeletesOnlyWhatTheInstanceOwns(t *testing.T) {
	legacy := func(component string, extra ...string) map[string]string {
		l := mastodon.Labels("social", component, "")
		delete(l, mastodon.LabelOwner)
		for i := 0; i+1 < len(extra); i += 2 {
			l[extra[i]] = extra[i+1]
		}
		return l
	}
	ours := func(component string) map[string]string {
		return mastodon.Labels("social", component, mastodon.OwnerInstance)
	}
	s := testSpec()
	objs := []runtime.Object{
		obj("ConfigMap", s.ConfigMapName(), ours(mastodon.ComponentConfig)),                                                             // rendered: kept
		obj("Ingress", "social", ours(mastodon.ComponentIngress)),                                                                       // ours, no longer rendered: pruned
		obj("Service", "social-old", legacy(mastodon.ComponentWeb)),                                                                     // ours before owner marks: pruned
		obj("Secret", "social-account-gargron", mastodon.Labels("social", mastodon.ComponentAccount, mastodon.AccountOwner("Gargron"))), // an account's
		obj("Secret", "social-account-old", legacy(mastodon.ComponentAccount, mastodon.LabelUsername, "old")),                           // an account's, before marks
		obj("Secret", "social-foreign", map[string]string{mastodon.LabelInstance: "social", mastodon.LabelName: "mastodon"}),            // not managed by us
		obj("Secret", "other-secrets", mastodon.Labels("other", mastodon.ComponentSecrets, mastodon.OwnerInstance)),                     // another instance
		obj("PersistentVolumeClaim", "social-media", ours(mastodon.ComponentMedia)),                                                     // data
		obj("Job", "social-db-prepare-x", ours(mastodon.ComponentPrepare)),                                                              // history
	}
	c := fakeClient(objs...)
	a := newInstanceApply(c, s, mastodon.Secrets{}, "", nil, &instanceModel{}, func(string) {})
	if err := a.prune(context.Background()); err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, k := range kube.Kinds {
		list, err := c.Dynamic.Resource(k.GVR).Namespace("ns").List(context.Background(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range list.Items {
			left = append(left, k.Name+"/"+o.GetName())
		}
	}
	slices.Sort(left)
	want := []string{"ConfigMap/social-env", "Job/social-db-prepare-x", "PersistentVolumeClaim/social-media",
		"Secret/other-secrets", "Secret/social-account-gargron", "Secret/social-account-old", "Secret/social-foreign"}
	if !slices.Equal(left, want) {
		t.Errorf("left after the prune:\n  %v\nwant\n  %v", left, want)
	}
}

// fakeCluster records what an apply does and fails where told.
type fakeCluster struct {
	did    []string
	failOn string // a prefix of what fails
	// unserved: the cluster serves no HTTPRoutes; noGateway: the Gateway
	// does not exist.
	unserved, noGateway bool
	// gatewayWait is what WaitGatewayAddress returns besides failOn.
	gatewayWait error
}

func (f *fakeCluster) do(what string) error {
	f.did = append(f.did, what)
	if f.failOn != "" && strings.HasPrefix(what, f.failOn) {
		return errors.New("boom")
	}
	return nil
}
func (f *fakeCluster) Get(context.Context, string, string, string) (*unstructured.Unstructured, error) {
	return nil, nil
}
func (f *fakeCluster) CreateIfMissing(_ context.Context, o *unstructured.Unstructured) (*unstructured.Unstructured, bool, error) {
	return o, true, f.do("create " + o.GetKind())
}
func (f *fakeCluster) Apply(_ context.Context, objs []*unstructured.Unstructured) error {
	return f.do("apply " + objs[0].GetKind())
}
func (f *fakeCluster) ReplaceStatefulSetsGainingClaims(context.Context, []*unstructured.Unstructured, func(map[string]string) bool) ([]string, error) {
	return nil, nil
}
func (f *fakeCluster) WaitReady(context.Context, []*unstructured.Unstructured) error { return nil }
func (f *fakeCluster) WaitIngressAddress(context.Context, string, string) (string, string, error) {
	return "", "", f.do("wait for the load balancer")
}
func (f *fakeCluster) Serves(_ context.Context, kind string) (bool, error) {
	return !f.unserved, f.do("serves " + kind)
}
func (f *fakeCluster) GatewayStatus(context.Context, kube.GatewayRoutes) (kube.GatewayState, error) {
	return kube.GatewayState{Missing: f.noGateway}, f.do("read the gateway")
}
func (f *fakeCluster) WaitGatewayAddress(context.Context, kube.GatewayRoutes) (string, string, error) {
	if err := f.do("wait for the gateway"); err != nil {
		return "", "", err
	}
	return "", "", f.gatewayWait
}
func (f *fakeCluster) RunJobOnce(_ context.Context, job *unstructured.Unstructured) error {
	return f.do("job " + job.GetLabels()[mastodon.LabelComponent])
}
func (f *fakeCluster) StartJobOnce(_ context.Context, job *unstructured.Unstructured) (bool, error) {
	return false, f.do("start " + job.GetLabels()[mastodon.LabelComponent])
}
func (f *fakeCluster) List(context.Context, string, string, []string) (map[string]*unstructured.Unstructured, error) {
	return map[string]*unstructured.Unstructured{}, nil
}
func (f *fakeCluster) Prune(context.Context, map[string]*unstructured.Unstructured, map[string]bool, []string, func(map[string]string) bool) ([]string, error) {
	return nil, f.do("prune")
}

func (f *fakeCluster) HelmRelease(context.Context, string, string) (*kube.HelmRelease, error) {
	return nil, f.do("read helm release")
}
func (f *fakeCluster) KeepInRelease(context.Context, *kube.HelmRelease, func(*unstructured.Unstructured) bool) ([]string, error) {
	return nil, f.do("keep in helm release")
}
func (f *fakeCluster) Delete(_ context.Context, kind, _, name string) error {
	return f.do("delete " + kind + " " + name)
}
func (f *fakeCluster) Label(_ context.Context, kind, _, name string, _ map[string]string) error {
	return f.do("label " + kind + " " + name)
}
func (f *fakeCluster) WaitGone(_ context.Context, _, selector string, _ []string) error {
	return f.do("wait gone " + selector)
}

func model(version string, database *databaseModel) *instanceModel {
	return &instanceModel{Name: types.StringValue("social"), Namespace: types.StringValue("ns"), LocalDomain: types.StringValue("social.example.org"),
		Version: types.StringValue(version), CreateNamespace: types.BoolValue(true), Database: database,
		LoadBalancerIP: types.StringUnknown(), LoadBalancerHostname: types.StringUnknown(), MigratedVersion: types.StringValue(version)}
}

// Each step of an apply says what its failure leaves, and so what state is
// recorded: nothing changed keeps the prior state (or, on create, none);
// anything changed records the plan as not ready with the prior migrated
// version, so the next apply resumes.
func TestApplySteps(t *testing.T) {
	external := &databaseModel{Host: types.StringValue("db.internal"), User: types.StringValue("mastodon")}
	cases := []struct {
		name        string
		prior, plan *instanceModel
		failOn      string
		steps       []string
		state       string // "none", "prior", "unready", "unindexed", "done"
		migrated    string
		index       string // search_index recorded
		database    string // the database recorded on failure: its host, or "embedded"; "" not checked
	}{
		{name: "create", prior: nil, plan: model("v4.7.2", nil),
			steps: []string{"create Namespace", "apply ConfigMap", "job db-prepare", "apply Deployment", "prune"}, state: "done", migrated: "v4.7.2"},
		{name: "create, namespace refused", prior: nil, plan: model("v4.7.2", nil), failOn: "create",
			steps: []string{"create Namespace"}, state: "none"},
		{name: "create, prepare fails", prior: nil, plan: model("v4.7.2", nil), failOn: "job db-prepare",
			steps: []string{"create Namespace", "apply ConfigMap", "job db-prepare"}, state: "unready", migrated: ""},
		{name: "update", prior: model("v4.7.2", nil), plan: model("v4.7.2", nil),
			steps: []string{"create Namespace", "apply ConfigMap", "apply Deployment", "prune"}, state: "done", migrated: "v4.7.2"},
		{name: "upgrade", prior: model("v4.6.5", nil), plan: model("v4.7.2", nil),
			steps: []string{"create Namespace", "job db-migrate-pre", "apply ConfigMap", "apply Deployment", "prune", "job db-migrate-post"}, state: "done", migrated: "v4.7.2"},
		{name: "upgrade, pre-deployment migrations fail", prior: model("v4.6.5", nil), plan: model("v4.7.2", nil), failOn: "job db-migrate-pre",
			steps: []string{"create Namespace", "job db-migrate-pre"}, state: "prior", migrated: "v4.6.5"},
		{name: "upgrade, rollout fails", prior: model("v4.6.5", nil), plan: model("v4.7.2", nil), failOn: "apply Deployment",
			steps: []string{"create Namespace", "job db-migrate-pre", "apply ConfigMap", "apply Deployment"}, state: "unready", migrated: "v4.6.5"},
		{name: "upgrade, post-deployment migrations fail", prior: model("v4.6.5", nil), plan: model("v4.7.2", nil), failOn: "job db-migrate-post",
			steps: []string{"create Namespace", "job db-migrate-pre", "apply ConfigMap", "apply Deployment", "prune", "job db-migrate-post"}, state: "unready", migrated: "v4.6.5"},
		{name: "embedded to external database: the new one is prepared", prior: model("v4.7.2", nil), plan: model("v4.7.2", external),
			steps: []string{"create Namespace", "apply ConfigMap", "job db-prepare", "apply Deployment", "prune"}, state: "done", migrated: "v4.7.2"},
		{name: "external to embedded database", prior: model("v4.7.2", external), plan: model("v4.7.2", nil),
			steps: []string{"create Namespace", "apply ConfigMap", "job db-prepare", "apply Deployment", "prune"}, state: "done", migrated: "v4.7.2"},
		// Restore: into a new database only, before it is prepared.
		{name: "create with restore", prior: nil, plan: withRestore(model("v4.7.2", nil)),
			steps: []string{"create Namespace", "apply ConfigMap", "job db-restore", "job db-prepare", "apply Deployment", "prune"}, state: "done", migrated: "v4.7.2"},
		{name: "create with restore, restore fails: nothing prepared, nothing started", prior: nil, plan: withRestore(model("v4.7.2", nil)), failOn: "job db-restore",
			steps: []string{"create Namespace", "apply ConfigMap", "job db-restore"}, state: "unready", migrated: ""},
		{name: "restore kept: the next apply restores nothing", prior: withRestore(model("v4.7.2", nil)), plan: withRestore(model("v4.7.2", nil)),
			steps: []string{"create Namespace", "apply ConfigMap", "apply Deployment", "prune"}, state: "done", migrated: "v4.7.2"},
		{name: "external to embedded database with restore", prior: model("v4.7.2", external), plan: withRestore(model("v4.7.2", nil)),
			steps: []string{"create Namespace", "apply ConfigMap", "job db-restore", "job db-prepare", "apply Deployment", "prune"}, state: "done", migrated: "v4.7.2"},
		{name: "external to embedded database with restore, restore fails: the move is recorded undone", prior: model("v4.7.2", external),
			plan: withRestore(model("v4.7.2", nil)), failOn: "job db-restore",
			steps: []string{"create Namespace", "apply ConfigMap", "job db-restore"}, state: "unready", migrated: "v4.7.2", database: "db.internal"},
		{name: "embedded to external database, prepare fails: the move is recorded undone", prior: model("v4.7.2", nil), plan: model("v4.7.2", external),
			failOn: "job db-prepare", steps: []string{"create Namespace", "apply ConfigMap", "job db-prepare"}, state: "unready", migrated: "v4.7.2", database: "embedded"},
		{name: "embedded to external database, rollout fails: the move is done", prior: model("v4.7.2", nil), plan: model("v4.7.2", external),
			failOn: "apply Deployment", steps: []string{"create Namespace", "apply ConfigMap", "job db-prepare", "apply Deployment"}, state: "unready", migrated: "v4.7.2", database: "db.internal"},
		// Search: the index build runs last, after removing earlier build Jobs.
		{name: "create with search", prior: nil, plan: withSearch(model("v4.7.2", nil), true, ""),
			steps: []string{"create Namespace", "apply ConfigMap", "job db-prepare", "apply Deployment", "prune", "prune", "job search-deploy"},
			state: "done", migrated: "v4.7.2", index: indexOf("v4.7.2")},
		{name: "create with search, index build fails", prior: nil, plan: withSearch(model("v4.7.2", nil), true, ""), failOn: "job search-deploy",
			steps: []string{"create Namespace", "apply ConfigMap", "job db-prepare", "apply Deployment", "prune", "prune", "job search-deploy"},
			state: "unindexed", migrated: "v4.7.2", index: ""},
		{name: "search switched on", prior: model("v4.7.2", nil), plan: withSearch(model("v4.7.2", nil), true, ""),
			steps: []string{"create Namespace", "apply ConfigMap", "apply Deployment", "prune", "prune", "job search-deploy"},
			state: "done", migrated: "v4.7.2", index: indexOf("v4.7.2")},
		{name: "search on, built: an unrelated change builds nothing", prior: withSearch(model("v4.7.2", nil), true, indexOf("v4.7.2")),
			plan:  withSearch(model("v4.7.2", nil), true, indexOf("v4.7.2")),
			steps: []string{"create Namespace", "apply ConfigMap", "apply Deployment", "prune"}, state: "done", migrated: "v4.7.2", index: indexOf("v4.7.2")},
		{name: "search on, failed build retried", prior: withSearch(model("v4.7.2", nil), true, ""), plan: withSearch(model("v4.7.2", nil), true, ""),
			steps: []string{"create Namespace", "apply ConfigMap", "apply Deployment", "prune", "prune", "job search-deploy"},
			state: "done", migrated: "v4.7.2", index: indexOf("v4.7.2")},
		{name: "search switched off: the build Jobs go", prior: withSearch(model("v4.7.2", nil), true, indexOf("v4.7.2")), plan: model("v4.7.2", nil),
			steps: []string{"create Namespace", "apply ConfigMap", "apply Deployment", "prune", "prune"}, state: "done", migrated: "v4.7.2", index: ""},
		{name: "upgrade across an index change", prior: withSearch(model("v4.3.9", nil), true, indexOf("v4.3.9")), plan: withSearch(model("v4.4.0", nil), true, indexOf("v4.3.9")),
			steps: []string{"create Namespace", "job db-migrate-pre", "apply ConfigMap", "apply Deployment", "prune", "job db-migrate-post", "prune", "job search-deploy"},
			state: "done", migrated: "v4.4.0", index: indexOf("v4.4.0")},
		{name: "upgrade, post-deployment migrations fail: nothing built", prior: withSearch(model("v4.3.9", nil), true, indexOf("v4.3.9")),
			plan: withSearch(model("v4.4.0", nil), true, indexOf("v4.3.9")), failOn: "job db-migrate-post",
			steps: []string{"create Namespace", "job db-migrate-pre", "apply ConfigMap", "apply Deployment", "prune", "job db-migrate-post"},
			state: "unready", migrated: "v4.3.9", index: indexOf("v4.3.9")},
		{name: "upgrade, index build fails", prior: withSearch(model("v4.3.9", nil), true, indexOf("v4.3.9")),
			plan: withSearch(model("v4.4.0", nil), true, indexOf("v4.3.9")), failOn: "job search-deploy",
			steps: []string{"create Namespace", "job db-migrate-pre", "apply ConfigMap", "apply Deployment", "prune", "job db-migrate-post", "prune", "job search-deploy"},
			state: "unindexed", migrated: "v4.4.0", index: indexOf("v4.3.9")},
		{name: "search switched on without waiting", prior: model("v4.7.2", nil), plan: withSearch(model("v4.7.2", nil), false, ""),
			steps: []string{"create Namespace", "apply ConfigMap", "apply Deployment", "prune", "prune", "start search-deploy"},
			state: "done", migrated: "v4.7.2", index: ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			f := &fakeCluster{failOn: c.failOn}
			spec, d := c.plan.spec(ctx)
			if d.HasError() {
				t.Fatal(d)
			}
			a := newInstanceApply(f, spec, mastodon.Secrets{}, "", c.prior, c.plan, func(string) {})
			state, failed := a.run(ctx)
			if !slices.Equal(f.did, c.steps) {
				t.Errorf("did %q, want %q", f.did, c.steps)
			}
			switch c.state {
			case "none":
				if state != nil || failed == nil {
					t.Fatalf("state %v, error %v: want no state and an error", state, failed)
				}
				return
			case "prior":
				if state != c.prior || failed == nil {
					t.Fatalf("want the prior state and an error")
				}
			case "unready":
				if failed == nil || state == nil || state.Ready.ValueBool() {
					t.Fatalf("want an unready state and an error, got %v %v", state, failed)
				}
			case "done":
				if failed != nil || !state.Ready.ValueBool() {
					t.Fatalf("want a ready state, got error %v", failed)
				}
			case "unindexed":
				if failed == nil || state == nil || !state.Ready.ValueBool() || !strings.Contains(failed.advice(a)+failed.title, "index") {
					t.Fatalf("want a ready state, an error about the index build, got %v %v", state, failed)
				}
			}
			if got := state.SearchIndex.ValueString(); got != c.index || state.SearchIndex.IsUnknown() {
				t.Errorf("search_index %q, want %q", got, c.index)
			}
			if c.database != "" {
				got := "embedded"
				if state.Database != nil {
					got = state.Database.Host.ValueString()
				}
				if got != c.database {
					t.Errorf("database recorded: %s, want %s", got, c.database)
				}
			}
			if got := state.MigratedVersion.ValueString(); got != c.migrated {
				t.Errorf("migrated_version %q, want %q", got, c.migrated)
			}
			if state != c.prior && (state.LoadBalancerIP.IsUnknown() || state.LoadBalancerHostname.IsUnknown()) {
				t.Error("unknown values left in state")
			}
			if failed != nil && failed.warning != (c.state == "unindexed" && c.prior == nil) {
				t.Errorf("warning = %v: only a failed index build of a create is a warning (an error would taint a running instance)", failed.warning)
			}
			if failed != nil && c.prior == nil && !failed.warning && !strings.Contains(failed.advice(a), "tainted") {
				t.Errorf("a failed create does not say what it left: %s", failed.advice(a))
			}
		})
	}
}

func withSearch(m *instanceModel, wait bool, built string) *instanceModel {
	m.Opensearch = &opensearchModel{Host: types.StringValue("opensearch.search"), WaitForIndex: types.BoolValue(wait)}
	m.SearchIndex = types.StringNull()
	if built != "" {
		m.SearchIndex = types.StringValue(built)
	}
	return m
}

func indexOf(version string) string {
	s := &mastodon.Spec{Version: version, Search: &mastodon.Search{Host: "opensearch.search"}}
	s.Defaults()
	return s.SearchIndex()
}

func withRestore(m *instanceModel) *instanceModel {
	m.MediaBucket = &instanceBucketModel{mediaBucketModel: mediaBucketModel{Bucket: types.StringValue("media"), Endpoint: types.StringValue("https://s3.example"),
		AccessKeyID: types.StringValue("key"), SecretAccessKey: types.StringValue("secret")}}
	m.Restore = &restoreModel{Key: types.StringValue("migration/mastodon.dump")}
	return m
}
