package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/rest"
)

// fakeLists is an API server on 127.0.0.1 that serves ConfigMaps and
// Secrets of n namespaces (two instances in each: "a" and "b"), two objects
// a page, and counts the requests by path. forbidAll refuses lists across
// namespaces, as a Role in each namespace does.
type fakeLists struct {
	n         int
	forbidAll bool
	mu        sync.Mutex
	requests  map[string]int // "GET /api/v1/configmaps", ...
}

func (f *fakeLists) count(key string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests[key]
}

func (f *fakeLists) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests[r.Method+" "+r.URL.Path]++
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if r.Method != http.MethodGet {
		_, _ = w.Write([]byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x","namespace":"ns-0"}}`))
		return
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/") // api v1 [namespaces ns] configmaps
	resource, ns := parts[len(parts)-1], ""
	if len(parts) == 5 {
		ns = parts[3]
	} else if f.forbidAll {
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"apiVersion":"v1","kind":"Status","status":"Failure","reason":"Forbidden","code":403,"message":"forbidden"}`))
		return
	}
	kind := map[string]string{"configmaps": "ConfigMap", "secrets": "Secret"}[resource]
	sel, err := labels.Parse(r.URL.Query().Get("labelSelector"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var items []map[string]any
	for i := range f.n {
		for _, inst := range []string{"a", "b"} {
			l := map[string]any{"managed-by": "us", "instance": inst}
			if !sel.Matches(labels.Set{"managed-by": "us", "instance": inst}) || (ns != "" && ns != fmt.Sprintf("ns-%d", i)) {
				continue
			}
			items = append(items, map[string]any{"apiVersion": "v1", "kind": kind, "metadata": map[string]any{
				"name": inst, "namespace": fmt.Sprintf("ns-%d", i), "labels": l,
				"managedFields": []any{map[string]any{"manager": "us"}}}})
		}
	}
	// Two items a page when asked for pages; the continue token is the offset.
	start, end := 0, len(items)
	if r.URL.Query().Get("limit") != "" {
		_, _ = fmt.Sscan(r.URL.Query().Get("continue"), &start)
		end = min(start+2, len(items))
	}
	meta := map[string]any{}
	if end < len(items) {
		meta["continue"] = fmt.Sprint(end)
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"apiVersion": "v1", "kind": kind + "List", "metadata": meta, "items": items[start:end]})
}

func newFakeLists(t *testing.T, n int, forbidAll bool) (*fakeLists, *Client) {
	f := &fakeLists{n: n, forbidAll: forbidAll, requests: map[string]int{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	c, err := NewClientFromREST(&rest.Config{Host: srv.URL, QPS: DefaultQPS, Burst: DefaultBurst})
	if err != nil {
		t.Fatal(err)
	}
	return f, c
}

// readAll reads every namespace's instance "a" at once, as terraform's
// parallel refreshes do, and checks each gets its own objects only.
func readAll(t *testing.T, c *Client, n int) int64 {
	var wg sync.WaitGroup
	var total atomic.Int64
	for i := range n {
		wg.Go(func() {
			ctx, requests := CountRequests(context.Background())
			ns := fmt.Sprintf("ns-%d", i)
			live, err := c.ListShared(ctx, "managed-by=us", ns, "managed-by=us,instance=a", []string{"ConfigMap", "Secret"})
			if err != nil {
				t.Error(err)
				return
			}
			total.Add(requests.Load())
			keys := slices.Sorted(func(yield func(string) bool) {
				for k, o := range live {
					if o.GetManagedFields() != nil {
						t.Errorf("%s kept its managedFields", k)
					}
					yield(k)
				}
			})
			if want := []string{"ConfigMap/" + ns + "/a", "Secret/" + ns + "/a"}; !slices.Equal(keys, want) {
				t.Errorf("%s: got %v, want %v", ns, keys, want)
			}
		})
	}
	wg.Wait()
	return total.Load()
}

func TestListSharedListsEachKindOnceUntilAWrite(t *testing.T) {
	const n = 20
	f, c := newFakeLists(t, n, false)
	// 40 objects of each kind, two a page: 20 requests a kind, whatever
	// the number of readers, and the readers' counts add up to them.
	if got := readAll(t, c, n); got != 40 {
		t.Errorf("the refreshes counted %d requests, want 40", got)
	}
	if a, b := f.count("GET /api/v1/configmaps"), f.count("GET /api/v1/secrets"); a != 20 || b != 20 {
		t.Fatalf("lists across namespaces: %d ConfigMaps, %d Secrets; want 20 each (one paginated listing)", a, b)
	}
	if got := readAll(t, c, n); got != 0 {
		t.Errorf("reads of a fresh view made %d requests", got)
	}
	// Any write makes the view stale: the next reads list again.
	if err := c.ApplyOne(context.Background(), &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "x", "namespace": "ns-0"}}}); err != nil {
		t.Fatal(err)
	}
	readAll(t, c, n)
	if a := f.count("GET /api/v1/configmaps"); a != 40 {
		t.Errorf("after a write, %d ConfigMap list requests in all; want 40 (listed again once)", a)
	}
	if ns := f.count("GET /api/v1/namespaces/ns-0/configmaps"); ns != 0 {
		t.Errorf("%d lists in a namespace, want none", ns)
	}
}

func TestListSharedFallsBackToNamespacesWhenForbidden(t *testing.T) {
	const n = 5
	f, c := newFakeLists(t, n, true)
	readAll(t, c, n)
	readAll(t, c, n)
	if a := f.count("GET /api/v1/configmaps"); a < 1 || a > n {
		t.Errorf("%d refused lists across namespaces; want them tried once per reader at most, then no more", a)
	}
	for i := range n {
		if got := f.count(fmt.Sprintf("GET /api/v1/namespaces/ns-%d/configmaps", i)); got != 2 {
			t.Errorf("ns-%d: %d lists, want one per read", i, got)
		}
	}
	before := f.count("GET /api/v1/configmaps")
	readAll(t, c, n)
	if a := f.count("GET /api/v1/configmaps"); a != before {
		t.Errorf("a list across namespaces was tried again after it was refused")
	}
}

// BenchmarkListSharedFleet measures what the view costs a plan of a fleet:
// 500 namespaces of four Deployments each (a real one, managedFields and
// all, from testdata), listed by ten refreshes at once as terraform's
// -parallelism=10 does, each picking its namespace's four. Reported: the
// bytes allocated per plan (the transient that sets the provider's peak
// memory) and the bytes the view keeps.
func BenchmarkListSharedFleet(b *testing.B) {
	const namespaces, perNS = 500, 4
	raw, err := os.ReadFile("testdata/deployment.json")
	if err != nil {
		b.Fatal(err)
	}
	var proto map[string]any
	if err := json.Unmarshal(raw, &proto); err != nil {
		b.Fatal(err)
	}
	var items []json.RawMessage
	for i := range namespaces * perNS {
		meta := proto["metadata"].(map[string]any)
		meta["namespace"], meta["name"] = fmt.Sprintf("ns-%d", i/perNS), fmt.Sprintf("d-%d", i%perNS)
		item, _ := json.Marshal(proto)
		items = append(items, item)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := 0
		_, _ = fmt.Sscan(r.URL.Query().Get("continue"), &start)
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		end := min(start+limit, len(items))
		meta := map[string]any{}
		if end < len(items) {
			meta["continue"] = fmt.Sprint(end)
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"apiVersion": "apps/v1", "kind": "DeploymentList", "metadata": meta, "items": items[start:end]})
	}))
	defer srv.Close()
	b.ReportAllocs()
	var kept int
	for b.Loop() {
		c, err := NewClientFromREST(&rest.Config{Host: srv.URL, QPS: DefaultQPS, Burst: DefaultBurst})
		if err != nil {
			b.Fatal(err)
		}
		sem := make(chan struct{}, 10)
		var wg sync.WaitGroup
		for i := range namespaces {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				live, err := c.ListShared(context.Background(), "", fmt.Sprintf("ns-%d", i), "", []string{"Deployment"})
				if err != nil || len(live) != perNS {
					b.Errorf("ns-%d: %d objects, %v", i, len(live), err)
				}
			})
		}
		wg.Wait()
		kept = 0
		for _, l := range c.view.lists {
			for _, objs := range l.byNS {
				for _, o := range objs {
					kept += len(o.packed)
				}
			}
		}
	}
	b.ReportMetric(float64(kept)/(1<<20), "kept-MB")
}
