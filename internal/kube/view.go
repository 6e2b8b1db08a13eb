package kube

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
)

// The shared view: a plan refreshes every resource of a configuration, many
// at once, each one listing the same few kinds in its own namespace. The view
// lists each kind once, across all namespaces, and lets every refresh pick
// its objects from that one answer: the requests of a plan grow with the
// number of kinds, not of instances.
//
// When it is fresh: a listing is kept until this process writes anything to
// the cluster (any request other than GET, HEAD or OPTIONS, seen by the
// client's round-tripper) or for ViewTTL, whichever comes first; a listing
// that was under way while a write was made is not kept. Reads that must
// see the cluster as it is now (an import, an apply's own reads, a delete)
// use List, never the view.
const (
	// ViewTTL bounds how long a listing is kept.
	ViewTTL = 30 * time.Second
	// viewPageSize is the size of one page of a listing: pages are read
	// as a stream (listAll), so a larger page costs no memory, and a fleet
	// of 500 instances takes two pages of its most numerous kind.
	viewPageSize = 1000
	// NamespacedListsEnv, set to 1, makes the view list per namespace as it
	// does when the credentials may not list across namespaces: the
	// benchmark measures that mode with it.
	NamespacedListsEnv = "TF_MASTODON_NAMESPACED_LISTS"
)

type view struct {
	writes *atomic.Uint64 // bumped by every write through the client

	mu         sync.Mutex
	lists      map[string]*viewList // by kind and scope selector
	namespaced map[string]bool      // kinds that may not be listed across namespaces
	flight     singleflight.Group
}

// viewList is one kind's listing across all namespaces, by namespace.
type viewList struct {
	writes uint64 // the write count when it was listed
	at     time.Time
	byNS   map[string][]viewObject
}

// viewObject is a listed object as the view keeps it: its labels, to
// select it, and its JSON compressed (squeeze), decoded only by the refresh
// that picks it. A decoded object takes several times the memory of its
// JSON, its JSON about three times its compressed form, and a fleet's
// objects are many: this is what the view holds between refreshes.
type viewObject struct {
	labels labels.Set
	packed []byte
	size   int // of the JSON
}

// squeezers are the compressors of the view (each holds large tables).
var squeezers = sync.Pool{New: func() any {
	w, _ := flate.NewWriter(nil, flate.BestSpeed)
	return w
}}

// squeeze compresses a listed object's JSON.
func squeeze(data []byte) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(len(data) / 2)
	w := squeezers.Get().(*flate.Writer)
	defer squeezers.Put(w)
	w.Reset(&buf)
	if _, err := w.Write(data); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return bytes.Clone(buf.Bytes()), nil
}

// unsqueezers are the decompressors of the view.
var unsqueezers = sync.Pool{New: func() any { return flate.NewReader(bytes.NewReader(nil)) }}

// unsqueeze is the JSON of a squeezed object.
func unsqueeze(vo viewObject) ([]byte, error) {
	r := unsqueezers.Get().(io.ReadCloser)
	defer unsqueezers.Put(r)
	if err := r.(flate.Resetter).Reset(bytes.NewReader(vo.packed), nil); err != nil {
		return nil, err
	}
	data := make([]byte, vo.size)
	_, err := io.ReadFull(r, data)
	return data, err
}

func newView(writes *atomic.Uint64) *view {
	return &view{writes: writes, lists: map[string]*viewList{}, namespaced: map[string]bool{}}
}

// ListShared is List served from the shared view: the objects of the given
// kinds in namespace that match selector, keyed by Key. scope is a selector
// that every object selector can match also matches (the provider's
// managed-by labels): the view lists each kind across all namespaces with
// it, once for every refresh of the process. Where the credentials may not
// list a kind across namespaces, that kind is listed in the namespace, as
// List does, from then on.
func (c *Client) ListShared(ctx context.Context, scope, namespace, selector string, kinds []string) (map[string]*unstructured.Unstructured, error) {
	if c.view == nil { // a client not built by NewClientFromREST (tests)
		return c.List(ctx, namespace, selector, kinds)
	}
	sel, err := labels.Parse(selector)
	if err != nil {
		return nil, fmt.Errorf("selector %q: %w", selector, err)
	}
	type result struct {
		kind string
		list *viewList
		err  error
	}
	results := make(chan result, len(kinds))
	var direct []string
	for _, kind := range kinds {
		if c.view.namespacedOnly(kind) {
			direct = append(direct, kind)
			continue
		}
		go func() {
			l, err := c.view.list(ctx, c, kind, scope)
			results <- result{kind, l, err}
		}()
	}
	out := map[string]*unstructured.Unstructured{}
	var firstErr error
	for range len(kinds) - len(direct) {
		r := <-results
		switch {
		case apierrors.IsForbidden(r.err):
			c.view.forbid(r.kind)
			direct = append(direct, r.kind)
		case r.err != nil:
			firstErr = cmpErr(firstErr, c.Explain(r.err, "listing "+r.kind+"s", ""))
		default:
			for _, vo := range r.list.byNS[namespace] {
				if !sel.Matches(vo.labels) {
					continue
				}
				data, err := unsqueeze(vo)
				if err != nil {
					return nil, fmt.Errorf("reading a listed %s: %w", r.kind, err)
				}
				o := &unstructured.Unstructured{}
				if err := o.UnmarshalJSON(data); err != nil {
					return nil, fmt.Errorf("decoding a listed %s: %w", r.kind, err)
				}
				out[Key(o)] = o
			}
		}
	}
	if firstErr != nil {
		return nil, firstErr
	}
	if len(direct) > 0 {
		more, err := c.List(ctx, namespace, selector, direct)
		if err != nil {
			return nil, err
		}
		for k, o := range more {
			out[k] = o
		}
	}
	return out, nil
}

func cmpErr(first, next error) error {
	if first != nil {
		return first
	}
	return next
}

func (v *view) namespacedOnly(kind string) bool {
	if os.Getenv(NamespacedListsEnv) == "1" {
		return true
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.namespaced[kind]
}

func (v *view) forbid(kind string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.namespaced[kind] = true
}

// list returns a kind's listing across all namespaces: the one kept when it
// is fresh, else one listing shared by every caller that asks for it before
// the next write.
func (v *view) list(ctx context.Context, c *Client, kind, scope string) (*viewList, error) {
	key := kind + "\x00" + scope
	writes := v.writes.Load()
	v.mu.Lock()
	l := v.lists[key]
	v.mu.Unlock()
	if l != nil && l.writes == writes && time.Since(l.at) < ViewTTL {
		return l, nil
	}
	// The listing is not bound to the first caller's cancellation (others
	// may wait for it), but it counts in its requests.
	ch := v.flight.DoChan(fmt.Sprintf("%s\x00%d", key, writes), func() (any, error) {
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		defer cancel()
		l, err := c.listAll(lctx, kind, scope)
		if err != nil {
			return nil, err
		}
		l.writes = writes
		if v.writes.Load() == writes {
			v.mu.Lock()
			v.lists[key] = l
			v.mu.Unlock()
		}
		return l, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*viewList), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// listAll lists a kind across all namespaces, page by page, and keeps of
// each object what a refresh reads (keptJSON). Pages are read as a stream of
// JSON items, never decoded into objects: a page of a fleet's Deployments
// decoded whole, managedFields and all, takes many times the memory the
// view keeps of it, and that transient is what set the provider's peak.
func (c *Client) listAll(ctx context.Context, kind, selector string) (*viewList, error) {
	k, ok := KindOf(kind)
	if !ok {
		return nil, fmt.Errorf("kind %s is not one the provider manages", kind)
	}
	l := &viewList{at: time.Now(), byNS: map[string][]viewObject{}}
	rc := c.Clientset.Discovery().RESTClient()
	next := ""
	for {
		req := rc.Get().AbsPath(k.listPath()).Param("labelSelector", selector).Param("limit", strconv.Itoa(viewPageSize))
		if next != "" {
			req = req.Param("continue", next)
		}
		body, err := req.Stream(ctx)
		if optionalKinds[kind] && apierrors.IsNotFound(err) {
			return l, nil
		}
		if err != nil {
			return nil, err
		}
		next, err = readPage(body, func(raw []byte) error {
			ns, labels, data, err := keptJSON(raw, k)
			if err != nil {
				return err
			}
			packed, err := squeeze(data)
			if err == nil {
				l.byNS[ns] = append(l.byNS[ns], viewObject{labels: labels, packed: packed, size: len(data)})
			}
			return err
		})
		_ = body.Close()
		if err != nil {
			return nil, fmt.Errorf("reading a list of %ss: %w", kind, err)
		}
		if next == "" {
			return l, nil
		}
	}
}

// listPath is the path that lists a kind across all namespaces.
func (k Kind) listPath() string {
	if k.GVR.Group == "" {
		return "/api/" + k.GVR.Version + "/" + k.GVR.Resource
	}
	return "/apis/" + k.GVR.Group + "/" + k.GVR.Version + "/" + k.GVR.Resource
}

// readPage reads one page of a list, handing each item's JSON to item, and
// returns the continue token.
func readPage(r io.Reader, item func([]byte) error) (string, error) {
	dec := json.NewDecoder(r)
	if err := expectDelim(dec, '{'); err != nil {
		return "", err
	}
	next := ""
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return "", err
		}
		switch key {
		case "metadata":
			var meta struct {
				Continue string `json:"continue"`
			}
			if err := dec.Decode(&meta); err != nil {
				return "", err
			}
			next = meta.Continue
		case "items":
			if err := expectDelim(dec, '['); err != nil {
				return "", err
			}
			for dec.More() {
				var raw json.RawMessage
				if err := dec.Decode(&raw); err != nil {
					return "", err
				}
				if err := item(raw); err != nil {
					return "", err
				}
			}
			if err := expectDelim(dec, ']'); err != nil {
				return "", err
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return "", err
			}
		}
	}
	return next, expectDelim(dec, '}')
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	t, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := t.(json.Delim); !ok || d != want {
		return fmt.Errorf("unexpected %v where %q was expected", t, want)
	}
	return nil
}

// keptJSON is a listed item as the view keeps it: with its kind and
// apiVersion (list items may come without them), without the metadata
// nothing reads (managedFields, kubectl's last applied configuration),
// which is most of an object's size; and its namespace and labels.
func keptJSON(raw []byte, k Kind) (string, labels.Set, []byte, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return "", nil, nil, err
	}
	var meta map[string]json.RawMessage
	if err := json.Unmarshal(top["metadata"], &meta); err != nil {
		return "", nil, nil, err
	}
	delete(meta, "managedFields")
	var head struct {
		Namespace   string            `json:"namespace"`
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
	}
	if err := json.Unmarshal(top["metadata"], &head); err != nil {
		return "", nil, nil, err
	}
	if _, ok := head.Annotations[lastApplied]; ok {
		delete(head.Annotations, lastApplied)
		a, err := json.Marshal(head.Annotations)
		if err != nil {
			return "", nil, nil, err
		}
		meta["annotations"] = a
	}
	m, err := json.Marshal(meta)
	if err != nil {
		return "", nil, nil, err
	}
	top["metadata"] = m
	top["kind"], _ = json.Marshal(k.Name)
	top["apiVersion"], _ = json.Marshal(k.GVR.GroupVersion().String())
	data, err := json.Marshal(top)
	return head.Namespace, head.Labels, data, err
}

// lastApplied is kubectl's copy of what it applied: never read by a refresh.
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// listed is a listed object as the provider keeps it: its kind set (list
// items may come without it), without the metadata nothing reads
// (managedFields, kubectl's last applied configuration), which is most of
// an object's size.
func listed(o *unstructured.Unstructured, kind string) *unstructured.Unstructured {
	o.SetKind(kind)
	o.SetManagedFields(nil)
	if a := o.GetAnnotations(); a[lastApplied] != "" {
		delete(a, lastApplied)
		o.SetAnnotations(a)
	}
	return o
}
