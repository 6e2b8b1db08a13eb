package kube

import (
	"slices"
	"testing"
)

// Diff looks only at what we set: what others add (labels, annotations,
// an injected sidecar or volume) is theirs, what they change of ours is
// drift.
func TestDiff(t *testing.T) {
	desired := map[string]any{
		"metadata": map[string]any{"labels": map[string]any{"app": "web"}},
		"spec": map[string]any{
			"replicas": int64(2),
			"containers": []any{
				map[string]any{"name": "web", "image": "mastodon:v4.7.3", "args": []any{"a", "b"}},
			},
			"volumes":        []any{map[string]any{"name": "media"}},
			"serviceAccount": "", // left out by the server when empty
		},
	}
	live := map[string]any{
		"metadata": map[string]any{"labels": map[string]any{"app": "web", "policy.example/team": "social"}, "annotations": map[string]any{"x": "y"}},
		"spec": map[string]any{
			"replicas": int64(2),
			"containers": []any{
				map[string]any{"name": "istio-proxy", "image": "proxy"},
				map[string]any{"name": "web", "image": "mastodon:v4.7.3", "args": []any{"a", "b"}, "resources": map[string]any{}},
			},
			"volumes": []any{map[string]any{"name": "istio-certs"}, map[string]any{"name": "media"}},
		},
	}
	if got := Diff(desired, live, false); len(got) != 0 {
		t.Errorf("what others added shows as drift: %v", got)
	}
	changed := map[string]any{
		"metadata": map[string]any{"labels": map[string]any{"app": "other"}},
		"spec": map[string]any{
			"replicas":   int64(3),
			"containers": []any{map[string]any{"name": "web", "image": "mastodon:v4.6.5", "args": []any{"a"}}},
			"volumes":    []any{},
		},
	}
	want := []string{
		"metadata.labels.app is other, want web",
		"spec.containers[name=web].args has 1 entries, want 2",
		"spec.containers[name=web].image is mastodon:v4.6.5, want mastodon:v4.7.3",
		"spec.replicas is 3, want 2",
		"spec.volumes[name=media] is missing",
	}
	if got := Diff(desired, changed, false); !slices.Equal(got, want) {
		t.Errorf("got\n  %q\nwant\n  %q", got, want)
	}
	if got := Diff(map[string]any{"data": map[string]any{"KEY": "a"}}, map[string]any{"data": map[string]any{"KEY": "b"}}, true); !slices.Equal(got, []string{"data.KEY differs"}) {
		t.Errorf("secret values shown: %v", got)
	}
}

// An empty deprecated serviceAccount wanted is met by its absence, not by
// another value; anywhere else an empty string is a value, and its absence
// drift (a ConfigMap key deleted).
func TestDiffEmptyString(t *testing.T) {
	want := map[string]any{"spec": map[string]any{"serviceAccount": ""}}
	if got := Diff(want, map[string]any{"spec": map[string]any{}}, false); len(got) != 0 {
		t.Errorf("absent reported: %v", got)
	}
	if got := Diff(want, map[string]any{"spec": map[string]any{"serviceAccount": "social"}}, false); len(got) != 1 {
		t.Errorf("another value not reported: %v", got)
	}
	cm := map[string]any{"data": map[string]any{"S3_PERMISSION": ""}}
	if got := Diff(cm, map[string]any{"data": map[string]any{}}, false); !slices.Equal(got, []string{"data.S3_PERMISSION is missing"}) {
		t.Errorf("a deleted empty ConfigMap key: %v", got)
	}
}
