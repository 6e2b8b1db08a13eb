package provider

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

// readSecretRefs reads each referenced Secret once, hashes the values, and
// names the attribute of a missing Secret or key (a variable of
// settings.extra_secret_env_refs by its map key); the value is in no
// message.
func TestReadSecretRefs(t *testing.T) {
	s := &mastodon.Spec{Name: "social", Namespace: "mastodon",
		SMTP:     &mastodon.SMTP{Server: "mail", PasswordRef: &mastodon.SecretRef{Name: "mail", Key: "password"}},
		Redis:    &mastodon.Redis{Host: "redis", PasswordRef: &mastodon.SecretRef{Name: "mail", Key: "redis"}},
		Search:   &mastodon.Search{Host: "os", PasswordRef: &mastodon.SecretRef{Name: "gone", Key: "password"}},
		Settings: mastodon.Settings{ExtraSecretEnvRefs: map[string]*mastodon.SecretRef{"TOKEN": {Name: "mail", Key: "token"}}}}
	gets := map[string]int{}
	get := func(_ context.Context, kind, ns, name string) (*unstructured.Unstructured, error) {
		gets[kind+"/"+ns+"/"+name]++
		if name != "mail" {
			return nil, nil
		}
		return &unstructured.Unstructured{Object: map[string]any{"data": map[string]any{
			"password": "c2VjcmV0LXZhbHVl", "redis": "c2VjcmV0LXZhbHVl"}}}, nil // "secret-value"
	}
	problems, err := readSecretRefs(context.Background(), get, s)
	if err != nil {
		t.Fatal(err)
	}
	if gets["Secret/mastodon/mail"] != 1 || gets["Secret/mastodon/gone"] != 1 || len(gets) != 2 {
		t.Errorf("reads: %v", gets)
	}
	if h := s.SMTP.PasswordRef.Hash; h == "" || h != s.Redis.PasswordRef.Hash {
		t.Errorf("hashes %q, %q: the same value, the same hash", h, s.Redis.PasswordRef.Hash)
	}
	var diags diag.Diagnostics
	reportRefs(problems, &diags)
	want := map[string]string{
		`opensearch.password_secret_ref`:          `Secret mastodon/gone does not exist`,
		`settings.extra_secret_env_refs["TOKEN"]`: `Secret mastodon/mail has no key "token" (its keys: "password", "redis")`,
	}
	if len(diags) != len(want) {
		t.Fatalf("%d problems, want %d: %v", len(diags), len(want), diags)
	}
	for _, d := range diags {
		p := d.(diag.DiagnosticWithPath).Path().String()
		if !strings.Contains(d.Detail(), want[p]) || want[p] == "" || strings.Contains(d.Detail(), "secret-value") {
			t.Errorf("%s: %q", p, d.Detail())
		}
	}
}
