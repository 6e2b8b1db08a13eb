package provider

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	dynamicfake "k8s.io/client-go/dynamic/fake"

	"github.com/tootform/terraform-provider-mastodon/internal/kube"
	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

func (f *fakeCluster) Annotate(context.Context, string, string, string, map[string]string) (bool, error) {
	return false, nil
}

func marked(o *unstructured.Unstructured, domain string) *unstructured.Unstructured {
	if domain != "" {
		o.SetAnnotations(map[string]string{mastodon.AnnotationLocalDomain: domain, mastodon.AnnotationInstance: "social"})
	}
	return o
}

// keptCluster holds what a destroy of instance "social" kept: its Secret
// and its database's bound claim, recorded for domain ("" for an earlier
// release that recorded none), and a claim that never bound.
func keptCluster(domain string, extra ...runtime.Object) *kube.Client {
	ours := func(component string) map[string]string {
		return mastodon.Labels("social", component, mastodon.OwnerInstance)
	}
	objs := append([]runtime.Object{
		marked(obj("Secret", "social-secrets", ours(mastodon.ComponentSecrets)), domain),
		marked(pvc("data-social-postgresql-0", "standard", "10Gi", true, ours(mastodon.ComponentDatabase)), domain),
		pvc("social-media", "no-such-class", "10Gi", false, ours(mastodon.ComponentMedia)), // never bound: deleted by destroy, not data
	}, extra...)
	return fakeClient(objs...)
}

func TestKeptDataOfAnotherDomainIsRefused(t *testing.T) {
	ctx := context.Background()
	s := testSpec() // local_domain social.example.org
	judge := func(c *kube.Client, bucket string) (string, string) {
		t.Helper()
		kd, err := readKeptData(ctx, c, s, nil)
		if err != nil {
			t.Fatal(err)
		}
		return kd.judge(s, bucket)
	}
	// Another domain: refused, naming the data, the domain and both ways out.
	refusal, warning := judge(keptCluster("old.example"), "")
	for _, want := range []string{`Secret social-secrets (local_domain "old.example")`, `PersistentVolumeClaim data-social-postgresql-0 (local_domain "old.example")`,
		`keep local_domain = "old.example"`, "kubectl -n ns delete secret social-secrets", "kubectl -n ns delete pvc data-social-postgresql-0\n"} {
		if !strings.Contains(refusal+"\n", want) {
			t.Errorf("the refusal lacks %q:\n%s", want, refusal)
		}
	}
	if warning != "" || strings.Contains(refusal, "social-media") {
		t.Errorf("warning %q; a claim that never bound is no data:\n%s", warning, refusal)
	}
	// With a bucket, its media are said to belong to the old domain.
	if refusal, _ := judge(keptCluster("old.example"), "media"); !strings.Contains(refusal, `bucket "media", which the old instance wrote, belong to local_domain "old.example"`) {
		t.Errorf("the refusal does not name the bucket:\n%s", refusal)
	}
	// The same domain: a warning naming the data.
	refusal, warning = judge(keptCluster("social.example.org"), "")
	if refusal != "" || !strings.Contains(warning, "reopens data an earlier instance of this name kept: Secret social-secrets, PersistentVolumeClaim data-social-postgresql-0") {
		t.Errorf("same domain: refusal %q, warning %q", refusal, warning)
	}
	// Data of an earlier release records no domain: reopened, saying so.
	refusal, warning = judge(keptCluster(""), "")
	if refusal != "" || !strings.Contains(warning, "Secret social-secrets (local_domain not recorded)") {
		t.Errorf("unrecorded: refusal %q, warning %q", refusal, warning)
	}
	// A running instance (the replacement's destroy has not run yet): its
	// ConfigMap says the domain of data that records none.
	cm := obj("ConfigMap", "social-env", mastodon.Labels("social", mastodon.ComponentConfig, mastodon.OwnerInstance))
	_ = unstructured.SetNestedField(cm.Object, "old.example", "data", mastodon.KeyLocalDomain)
	refusal, _ = judge(keptCluster("", cm), "")
	if !strings.Contains(refusal, `Secret social-secrets (local_domain "old.example")`) || !strings.Contains(refusal, "set delete_volume_on_destroy = true in embedded_database") {
		t.Errorf("live instance of another domain:\n%s", refusal)
	}
	// A replacement whose destroy keeps nothing (the volumes deleted, a
	// bucket for media): the bucket's media still belong to the old domain.
	refusal, warning = judge(fakeClient(cm), "media")
	if refusal != "" || !strings.Contains(warning, `replaces an instance of local_domain "old.example". The media in bucket "media"`) {
		t.Errorf("nothing kept, a bucket: refusal %q, warning %q", refusal, warning)
	}
	// Nothing kept: nothing to say.
	if refusal, warning := judge(fakeClient(), ""); refusal != "" || warning != "" {
		t.Errorf("nothing kept: %q %q", refusal, warning)
	}
}

// A destroy keeps what delete_volume_on_destroy says, and the Secret with
// the database's volume or an external database.
func TestKeptBy(t *testing.T) {
	m := model("v4.7.2", nil)
	if k := keptBy(m); !k.secrets || !k.volumes[mastodon.ComponentDatabase] || !k.volumes[mastodon.ComponentMedia] {
		t.Errorf("defaults: %+v", k)
	}
	m.EmbeddedDatabase = &embeddedDatabaseModel{DeleteVolumeOnDestroy: types.BoolValue(true)}
	if k := keptBy(m); k.secrets || k.volumes[mastodon.ComponentDatabase] || !k.volumes[mastodon.ComponentRedis] {
		t.Errorf("database volume deleted: %+v", k)
	}
	m.Database = &databaseModel{Host: types.StringValue("db")}
	if k := keptBy(m); !k.secrets {
		t.Errorf("an external database keeps the Secret: %+v", k)
	}
}

// An apply records the domain and the instance on the Secret and the
// claims (those that exist), and writes nothing once they carry it.
func TestMarkKeptData(t *testing.T) {
	ctx := context.Background()
	c := keptCluster("")
	a := newInstanceApply(c, testSpec(), mastodon.Secrets{}, "", nil, &instanceModel{}, func(string) {})
	if err := a.markKeptData(ctx); err != nil {
		t.Fatal(err)
	}
	for _, o := range []string{"Secret/social-secrets", "PersistentVolumeClaim/data-social-postgresql-0", "PersistentVolumeClaim/social-media"} {
		kind, name, _ := strings.Cut(o, "/")
		live, err := c.Get(ctx, kind, "ns", name)
		if err != nil || live == nil {
			t.Fatal(o, err)
		}
		if got := live.GetAnnotations(); got[mastodon.AnnotationLocalDomain] != "social.example.org" || got[mastodon.AnnotationInstance] != "social" {
			t.Errorf("%s: annotations %v", o, got)
		}
	}
	for _, o := range []string{"Secret/social-secrets", "PersistentVolumeClaim/data-social-postgresql-0"} {
		kind, name, _ := strings.Cut(o, "/")
		if wrote, err := c.Annotate(ctx, kind, "ns", name, a.spec.DataMarks()); err != nil || wrote {
			t.Errorf("%s annotated again (%v)", o, err)
		}
	}
}

// The plan of a create refuses, on local_domain, data kept for another
// domain, where the cluster is known.
func TestPlanRefusesKeptDataOfAnotherDomain(t *testing.T) {
	attrs := map[string]any{"name": "social", "namespace": "ns", "local_domain": "new.example"}
	r, req, resp := planFor(t, keptCluster("old.example"), nil, attrs)
	r.checkKeptData(context.Background(), req, resp)
	if resp.Diagnostics.ErrorsCount() != 1 {
		t.Fatalf("diagnostics: %v", resp.Diagnostics)
	}
	if d, ok := resp.Diagnostics[0].(interface{ Path() path.Path }); !ok || !d.Path().Equal(path.Root("local_domain")) ||
		!strings.Contains(resp.Diagnostics[0].Detail(), `data kept for another local_domain`) {
		t.Errorf("refusal: %v", resp.Diagnostics)
	}
	attrs["local_domain"] = "old.example"
	r, req, resp = planFor(t, keptCluster("old.example"), nil, attrs)
	r.checkKeptData(context.Background(), req, resp)
	if resp.Diagnostics.ErrorsCount() != 0 || resp.Diagnostics.WarningsCount() != 1 {
		t.Errorf("same domain: %v", resp.Diagnostics)
	}
}

// A plan replaces the instance when local_domain, web_domain, name or
// namespace changes (that its first plan then checks the kept data:
// TestModifyPlanOfAReplacementRefusesKeptDataOfTheOldDomain).
func TestReplacedSaysWhetherAPlanReplaces(t *testing.T) {
	old := map[string]any{"name": "social", "namespace": "ns", "local_domain": "old.example"}
	for domain, want := range map[string]bool{"old.example": false, "new.example": true} {
		_, req, _ := planFor(t, fakeClient(), old, map[string]any{"name": "social", "namespace": "ns", "local_domain": domain})
		if got := replaced(context.Background(), req); got != want {
			t.Errorf("local_domain old.example -> %s: replaced = %v", domain, got)
		}
	}
}

// Marking data that carries its marks already costs one list per kind: no
// read, no write of each object.
func TestMarkKeptDataReadsOnceAndWritesOnlyWhatLacksTheMarks(t *testing.T) {
	ctx := context.Background()
	c := keptCluster("social.example.org")
	dyn := c.Dynamic.(*dynamicfake.FakeDynamicClient)
	a := newInstanceApply(c, testSpec(), mastodon.Secrets{}, "", nil, &instanceModel{}, func(string) {})
	if err := a.markKeptData(ctx); err != nil {
		t.Fatal(err)
	}
	verbs := map[string]int{}
	for _, act := range dyn.Actions() {
		verbs[act.GetVerb()]++
	}
	// social-media (no marks in keptCluster) is read and written; the
	// Secret and the database's claim, marked, are not.
	if verbs["list"] != 2 || verbs["get"] != 1 || verbs["patch"] != 1 || len(verbs) != 3 {
		t.Errorf("requests: %v", verbs)
	}
}

// The first plan of a replacement (state of one local_domain, a plan of
// another) refuses, on local_domain, the data the destroy keeps for the
// old domain: Terraform shows only the errors of its second, create-only
// plan, which could not tell (the running instance's objects are there).
func TestModifyPlanOfAReplacementRefusesKeptDataOfTheOldDomain(t *testing.T) {
	cm := obj("ConfigMap", "social-env", mastodon.Labels("social", mastodon.ComponentConfig, mastodon.OwnerInstance))
	_ = unstructured.SetNestedField(cm.Object, "old.example", "data", mastodon.KeyLocalDomain)
	old := map[string]any{"name": "social", "namespace": "ns", "local_domain": "old.example", "version": "v4.7.2", "migrated_version": "v4.7.2"}
	plan := map[string]any{"name": "social", "namespace": "ns", "local_domain": "new.example", "version": "v4.7.2"}
	r, req, resp := planFor(t, keptCluster("old.example", cm), old, plan)
	r.ModifyPlan(context.Background(), req, resp)
	var found bool
	for _, d := range resp.Diagnostics.Errors() {
		p, ok := d.(interface{ Path() path.Path })
		if ok && p.Path().Equal(path.Root("local_domain")) && d.Summary() == "Kept data belongs to another local_domain" &&
			strings.Contains(d.Detail(), `Secret social-secrets (local_domain "old.example")`) &&
			strings.Contains(d.Detail(), "this plan replaces the running instance") {
			found = true
		} else {
			t.Errorf("unexpected: %s: %s", d.Summary(), d.Detail())
		}
	}
	if !found {
		t.Errorf("no refusal: %v", resp.Diagnostics)
	}
	// The same replacement onto data of its new domain is not refused.
	r, req, resp = planFor(t, keptCluster("new.example"), old, plan)
	r.ModifyPlan(context.Background(), req, resp)
	if resp.Diagnostics.HasError() {
		t.Errorf("data of the new domain: %v", resp.Diagnostics)
	}
}
