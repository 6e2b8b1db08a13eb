package kube

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
)

// Diff reports where live differs from desired, looking only at the fields
// desired sets (the server adds defaults and status of its own). Lists must
// have the same length and match element by element. Numbers compare by
// value and Kubernetes quantities by amount ("0.5" equals "500m"). With
// hideValues, differing values are not printed (Secrets).
func Diff(desired, live map[string]any, hideValues bool) []string {
	var out []string
	diffValue("", desired, live, hideValues, &out)
	sort.Strings(out)
	return out
}

func diffValue(path string, want, got any, hide bool, out *[]string) {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			*out = append(*out, fmt.Sprintf("%s is missing", orRoot(path)))
			return
		}
		for k, v := range w {
			p := k
			if path != "" {
				p = path + "." + k
			}
			diffValue(p, v, g[k], hide, out)
		}
	case []any:
		g, ok := got.([]any)
		if names := namesOf(w); names != nil && ok {
			// Named entries (containers, volumes, env, ports) match by name:
			// entries others add (an injected sidecar, a mounted
			// certificate) are theirs, and not drift.
			live := map[string]any{}
			for _, e := range g {
				if m, ok := e.(map[string]any); ok {
					if n, ok := m["name"].(string); ok {
						live[n] = e
					}
				}
			}
			for i, n := range names {
				l, found := live[n]
				if !found {
					*out = append(*out, fmt.Sprintf("%s[name=%s] is missing", path, n))
					continue
				}
				diffValue(path+"[name="+n+"]", w[i], l, hide, out)
			}
			return
		}
		if !ok || len(g) != len(w) {
			*out = append(*out, fmt.Sprintf("%s has %d entries, want %d", path, len(g), len(w)))
			return
		}
		for i := range w {
			diffValue(path+"["+strconv.Itoa(i)+"]", w[i], g[i], hide, out)
		}
	default:
		// The deprecated serviceAccount of a Pod template is written empty
		// (to clear it) and left out by the API server; elsewhere an empty
		// string is a value (a ConfigMap key), and its absence drift.
		if scalarEqual(want, got) || (want == "" && got == nil && strings.HasSuffix(path, ".serviceAccount")) {
			return
		}
		switch {
		case got == nil:
			*out = append(*out, fmt.Sprintf("%s is missing", path))
		case hide:
			*out = append(*out, fmt.Sprintf("%s differs", path))
		default:
			*out = append(*out, fmt.Sprintf("%s is %v, want %v", path, got, want))
		}
	}
}

// namesOf returns the names of a list's entries when every entry is an
// object with a distinct name, else nil.
func namesOf(l []any) []string {
	names := make([]string, 0, len(l))
	seen := map[string]bool{}
	for _, e := range l {
		m, ok := e.(map[string]any)
		if !ok {
			return nil
		}
		n, ok := m["name"].(string)
		if !ok || seen[n] {
			return nil
		}
		seen[n] = true
		names = append(names, n)
	}
	if len(names) == 0 {
		return nil
	}
	return names
}

func orRoot(p string) string {
	if p == "" {
		return "the object"
	}
	return p
}

func scalarEqual(a, b any) bool {
	if fa, ok := number(a); ok {
		fb, ok := number(b)
		return ok && fa == fb
	}
	sa, okA := a.(string)
	sb, okB := b.(string)
	if okA && okB {
		if sa == sb {
			return true
		}
		qa, errA := resource.ParseQuantity(sa)
		qb, errB := resource.ParseQuantity(sb)
		return errA == nil && errB == nil && qa.Cmp(qb) == 0
	}
	return reflect.DeepEqual(a, b)
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int64:
		return float64(n), true
	case int32:
		return float64(n), true
	case int:
		return float64(n), true
	case float64:
		return n, true
	}
	return 0, false
}
