package provider

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

// An error that depends on a value not known yet (the version a queue
// list is checked against, the threads a pool is compared with) waits for
// the apply's check; one whose related values are known is reported.
func TestRelatedUnknown(t *testing.T) {
	e := mastodon.FieldError{Path: "database.pool", Related: []string{"web.max_threads"}}
	for unknown, want := range map[string]bool{"web.max_threads": true, "web": true, "version": false, "": false} {
		if got := relatedUnknown(e, map[string]bool{unknown: true}); got != want {
			t.Errorf("unknown %q: %v, want %v", unknown, got, want)
		}
	}
}

// Switching between the embedded PostgreSQL and an external one copies no
// data: the plan says so, naming where the data stays and the guide.
func TestWarnDatabaseMove(t *testing.T) {
	ctx := context.Background()
	external := &databaseModel{Host: types.StringValue("db.internal"), User: types.StringValue("mastodon")}
	plan := func(d *databaseModel) tfsdk.Plan {
		st := instanceSchemaState(t)
		p := tfsdk.Plan{Schema: st.Schema, Raw: tftypes.NewValue(st.Schema.Type().TerraformType(ctx), nil)}
		if diags := p.SetAttribute(ctx, path.Root("database"), d); diags.HasError() {
			t.Fatal(diags)
		}
		return p
	}
	for _, tc := range []struct {
		name     string
		from, to *databaseModel
		want     []string
	}{
		{"embedded to external", nil, external, []string{"from the embedded PostgreSQL to the external database at db.internal", "claim data-social-postgresql-0", "backup-restore.md"}},
		{"external to embedded", external, nil, []string{"from the external database at db.internal to the embedded PostgreSQL", "keeps them untouched", "backup-restore.md"}},
		{"embedded stays", nil, nil, nil},
		{"external stays", external, external, nil},
	} {
		state := model("v4.7.3", tc.from)
		state.ID = types.StringValue("ns/social")
		var diags diag.Diagnostics
		warnDatabaseMove(ctx, plan(tc.to), state, &diags)
		if tc.want == nil {
			if len(diags) != 0 {
				t.Errorf("%s: %v", tc.name, diags)
			}
			continue
		}
		if len(diags) != 1 || diags.WarningsCount() != 1 {
			t.Fatalf("%s: %v", tc.name, diags)
		}
		for _, w := range tc.want {
			if !strings.Contains(diags[0].Detail(), w) {
				t.Errorf("%s: %q lacks %q", tc.name, diags[0].Detail(), w)
			}
		}
	}
}
