package provider

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
)

// A problem is reported unless an unknown value could change it.
func TestKnownOnly(t *testing.T) {
	unknown := map[string]bool{"database.host": true, "sidekiq[1].replicas": true, "namespace": true, "ingress": true}
	cases := map[string]bool{ // error path -> kept
		"web.replicas":                true,  // nothing unknown near it
		"name":                        true,  // top level, itself known
		"namespace":                   false, // itself unknown
		"database.host":               false,
		"database.port":               false, // beside an unknown value
		"sidekiq[1].queues":           false,
		"sidekiq[0].queues":           true,
		"ingress.certificate_pem":     false, // inside an unknown block
		"settings.extra_env[\"A-B\"]": true,
	}
	for p, kept := range cases {
		var diags diag.Diagnostics
		diags.AddAttributeError(attributePath(p), "x", "x")
		if p == "settings.extra_env[\"A-B\"]" {
			diags = diag.Diagnostics{diag.NewAttributeErrorDiagnostic(path.Root("settings").AtName("extra_env").AtMapKey("A-B"), "x", "x")}
		}
		if got := len(knownOnly(diags, unknown)) == 1; got != kept {
			t.Errorf("%s: kept %v, want %v", p, got, kept)
		}
	}
}
