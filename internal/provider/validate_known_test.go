package provider

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// A problem is reported unless an unknown value could change it.
func TestKnownOnly(t *testing.T) {
	unknown := map[string]bool{"database.host": true, "sidekiq[1].replicas": true, "namespace": true, "ingress": true}
	cases := map[string]bool{ // error path -> kept
		"web.replicas":                true,  // nothing unknown near it
		"name":                        true,  // top level, itself known
		"namespace":                   false, // itself unknown
		"database.host":               false,
		"database.port":               true, // beside an unknown value: a rule names what it reads (relatedUnknown)
		"sidekiq[1].queues":           true,
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

// A collection with an unknown element is read as null as a whole, and
// counted unknown; other unknown values are null.
func TestSplitUnknown(t *testing.T) {
	str := tftypes.String
	m := tftypes.Map{ElementType: str}
	l := tftypes.List{ElementType: str}
	obj := tftypes.Object{AttributeTypes: map[string]tftypes.Type{"host": str, "annotations": m, "queues": l, "name": str}}
	v := tftypes.NewValue(obj, map[string]tftypes.Value{
		"host":        tftypes.NewValue(str, tftypes.UnknownValue),
		"annotations": tftypes.NewValue(m, map[string]tftypes.Value{"a": tftypes.NewValue(str, tftypes.UnknownValue), "b": tftypes.NewValue(str, "x")}),
		"queues":      tftypes.NewValue(l, []tftypes.Value{tftypes.NewValue(str, "default")}),
		"name":        tftypes.NewValue(str, "social"),
	})
	unknown, known, err := splitUnknown(v)
	if err != nil {
		t.Fatal(err)
	}
	if !unknown["host"] || !unknown["annotations"] || unknown["queues"] || unknown["name"] || !known.IsFullyKnown() {
		t.Errorf("unknown %v", unknown)
	}
	var got map[string]tftypes.Value
	_ = known.As(&got)
	if !got["annotations"].IsNull() || !got["host"].IsNull() || got["queues"].IsNull() || got["name"].IsNull() {
		t.Errorf("known %v", known)
	}
}
