package kube

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"
)

func TestPortForwardURL(t *testing.T) {
	for host, want := range map[string]string{
		"https://127.0.0.1:6443":      "https://127.0.0.1:6443/api/v1/namespaces/mastodon/pods/social-web-1/portforward",
		"https://example.test/prefix": "https://example.test/prefix/api/v1/namespaces/mastodon/pods/social-web-1/portforward",
	} {
		u, err := PortForwardURL(&rest.Config{Host: host}, "mastodon", "social-web-1")
		if err != nil || u.String() != want {
			t.Errorf("%s: got %v, %v; want %s", host, u, err, want)
		}
	}
}

// The forward asks the API server (and nothing else) to upgrade a POST to
// the Pod's portforward subresource; a refusal is an error naming the Pod,
// not a hang. (A forward that carries bytes needs a kubelet and a process
// listening in the Pod: the smoke test on kind does that.)
func TestPortForwardAsksTheAPIServer(t *testing.T) {
	var got *http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		http.Error(w, `pods "social-web-1" not found`, http.StatusNotFound)
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := PortForward(ctx, &rest.Config{Host: srv.URL}, "mastodon", "social-web-1", 3000)
	if err == nil || !strings.Contains(err.Error(), "mastodon/social-web-1:3000") {
		t.Fatalf("got %v, want an error naming the Pod", err)
	}
	if got == nil || got.Method != http.MethodPost || got.URL.Path != "/api/v1/namespaces/mastodon/pods/social-web-1/portforward" ||
		!strings.EqualFold(got.Header.Get("Connection"), "Upgrade") {
		t.Fatalf("request %v", got)
	}
}
