package provider

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// restore's rules between attributes see the database and the media
// bucket: each is refused when both sides are known, and left to the
// plan while the other side is unknown (a toggle, a value of another
// resource).
func TestValidateRestoreWithUnknowns(t *testing.T) {
	ctx := context.Background()
	r := &instanceResource{}
	var sr resource.SchemaResponse
	r.Schema(ctx, resource.SchemaRequest{}, &sr)
	root := sr.Schema.Type().TerraformType(ctx).(tftypes.Object)
	str := func(s string) tftypes.Value { return tftypes.NewValue(tftypes.String, s) }
	unknown := func(name string) tftypes.Value {
		return tftypes.NewValue(root.AttributeTypes[name], tftypes.UnknownValue)
	}
	block := func(name string, vals map[string]tftypes.Value) tftypes.Value {
		return withNulls(root.AttributeTypes[name].(tftypes.Object), vals)
	}
	validate := func(vals map[string]tftypes.Value) string {
		all := map[string]tftypes.Value{"name": str("social"), "namespace": str("mastodon"), "local_domain": str("social.example")}
		for k, v := range vals {
			all[k] = v
		}
		resp := &resource.ValidateConfigResponse{}
		r.ValidateConfig(ctx, resource.ValidateConfigRequest{Config: tfsdk.Config{Schema: sr.Schema, Raw: withNulls(root, all)}}, resp)
		var errs []string
		for _, d := range resp.Diagnostics.Errors() {
			errs = append(errs, d.Detail())
		}
		return strings.Join(errs, "\n")
	}
	restore := block("restore", map[string]tftypes.Value{"key": str("migration/mastodon.dump")})
	media := block("media_bucket", map[string]tftypes.Value{"bucket": str("media"), "endpoint": str("https://s3.example"),
		"access_key_id": str("k"), "secret_access_key": str("s")})
	db := block("database", map[string]tftypes.Value{"host": str("db.internal"), "user": str("mastodon"), "password": str("pw")})
	for _, tc := range []struct {
		name string
		vals map[string]tftypes.Value
		want string // "" for none
	}{
		{"from the media bucket", map[string]tftypes.Value{"restore": restore, "media_bucket": media}, ""},
		{"no bucket", map[string]tftypes.Value{"restore": restore}, "restore.bucket: must be set"},
		{"media bucket unknown", map[string]tftypes.Value{"restore": restore, "media_bucket": unknown("media_bucket")}, ""},
		{"with a database", map[string]tftypes.Value{"restore": restore, "media_bucket": media, "database": db}, "restore: restores into the embedded PostgreSQL only"},
		{"database unknown", map[string]tftypes.Value{"restore": restore, "media_bucket": media, "database": unknown("database")}, ""},
		{"restore unknown with a database", map[string]tftypes.Value{"restore": unknown("restore"), "database": db}, ""},
	} {
		got := validate(tc.vals)
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%s: errors %q, want %q", tc.name, got, tc.want)
		}
	}
}
