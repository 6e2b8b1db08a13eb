package provider

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

func instanceSchemaState(t *testing.T) tfsdk.State {
	t.Helper()
	var resp resource.SchemaResponse
	(&instanceResource{}).Schema(context.Background(), resource.SchemaRequest{}, &resp)
	if resp.Diagnostics.HasError() {
		t.Fatal(resp.Diagnostics)
	}
	return tfsdk.State{Schema: resp.Schema}
}

// A record written by the first format (msgpack of the state value against
// the schema of its day) imports with today's schema: attributes that
// schema did not have are null, attributes since removed are ignored.
func TestImportRecordOfAnOlderSchema(t *testing.T) {
	ctx := context.Background()
	tmpl := instanceSchemaState(t)
	web := tftypes.Object{AttributeTypes: map[string]tftypes.Type{"replicas": tftypes.Number, "retired": tftypes.String}}
	old := tftypes.Object{AttributeTypes: map[string]tftypes.Type{
		"name": tftypes.String, "namespace": tftypes.String, "local_domain": tftypes.String, "version": tftypes.String,
		"deletion_protection": tftypes.Bool, "web": web, "an_attribute_since_removed": tftypes.List{ElementType: tftypes.String},
	}}
	val := tftypes.NewValue(old, map[string]tftypes.Value{
		"name": tftypes.NewValue(tftypes.String, "social"), "namespace": tftypes.NewValue(tftypes.String, "mastodon"),
		"local_domain": tftypes.NewValue(tftypes.String, "social.example"), "version": tftypes.NewValue(tftypes.String, "v4.6.5"),
		"deletion_protection":        tftypes.NewValue(tftypes.Bool, true),
		"web":                        tftypes.NewValue(web, map[string]tftypes.Value{"replicas": tftypes.NewValue(tftypes.Number, 3), "retired": tftypes.NewValue(tftypes.String, "x")}),
		"an_attribute_since_removed": tftypes.NewValue(tftypes.List{ElementType: tftypes.String}, []tftypes.Value{tftypes.NewValue(tftypes.String, "a")}),
	})
	dv, err := tfprotov6.NewDynamicValue(old, val)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeRecord(ctx, base64.StdEncoding.EncodeToString(dv.MsgPack), tmpl)
	if err != nil {
		t.Fatal(err)
	}
	var m instanceModel
	if d := (&tfsdk.State{Schema: tmpl.Schema, Raw: got}).Get(ctx, &m); d.HasError() {
		t.Fatal(d)
	}
	if m.LocalDomain.ValueString() != "social.example" || m.Version.ValueString() != "v4.6.5" || !m.DeletionProtection.ValueBool() ||
		m.Web == nil || m.Web.Replicas.ValueInt64() != 3 || !m.Web.Concurrency.IsNull() || m.Redis != nil || !m.CreateNamespace.IsNull() {
		t.Errorf("decoded %+v", m)
	}
}

// Today's record is JSON keyed by attribute name, without secret values; it
// round-trips, and one with unknown attributes still reads.
func TestImportRecordRoundTrip(t *testing.T) {
	ctx := context.Background()
	tmpl := instanceSchemaState(t)
	m := instanceModel{
		Name: types.StringValue("social"), Namespace: types.StringValue("mastodon"), LocalDomain: types.StringValue("social.example"),
		Version: types.StringValue("v4.7.2"), CreateNamespace: types.BoolValue(true), DeletionProtection: types.BoolValue(false),
		Redis:    &redisModel{Host: types.StringValue("redis.internal"), Password: types.StringValue("redis-secret"), Port: types.Int64Value(6380)},
		Settings: &settingsModel{ExtraSecretEnv: types.MapValueMust(types.StringType, map[string]attr.Value{"DEEPL_API_KEY": types.StringValue("deepl-secret")})},
	}
	nullModel(&m)
	raw, err := encodeRecord(ctx, &m, tmpl)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(raw, "redis-secret") || strings.Contains(raw, "deepl-secret") || !strings.Contains(raw, `"DEEPL_API_KEY":""`) {
		t.Fatalf("the record holds a secret value, or lost a name: %s", raw)
	}
	raw = strings.Replace(raw, `"attributes":{`, `"attributes":{"from_a_later_release":{"x":1},`, 1)
	got, err := decodeRecord(ctx, raw, tmpl)
	if err != nil {
		t.Fatal(err)
	}
	var back instanceModel
	if d := (&tfsdk.State{Schema: tmpl.Schema, Raw: got}).Get(ctx, &back); d.HasError() {
		t.Fatal(d)
	}
	if back.Redis == nil || back.Redis.Host.ValueString() != "redis.internal" || back.Redis.Port.ValueInt64() != 6380 || !back.Redis.Password.IsNull() ||
		back.LocalDomain.ValueString() != "social.example" || !back.CreateNamespace.ValueBool() {
		t.Errorf("round trip gave %+v", back)
	}
	for _, bad := range []string{"", "not base64 !", `{"format":2}`} {
		if _, err := decodeRecord(ctx, bad, tmpl); err == nil {
			t.Errorf("%q decoded", bad)
		}
	}
}

// nullModel sets the typed nulls that a model's zero values lack.
func nullModel(m *instanceModel) {
	m.Timeouts = timeouts.Value{Object: types.ObjectNull(map[string]attr.Type{"create": types.StringType, "read": types.StringType, "update": types.StringType, "delete": types.StringType})}
	m.Secrets = types.ObjectNull(secretsAttrTypes())
	m.Drift = types.ListNull(types.StringType)
	if m.AlternateDomains.ElementType(context.Background()) == nil {
		m.AlternateDomains = types.ListNull(types.StringType)
	}
	if s := m.Settings; s != nil {
		for _, mp := range []*types.Map{&s.ExtraEnv, &s.ExtraSecretEnv, &s.ExtraSecretEnvWO} {
			if mp.ElementType(context.Background()) == nil {
				*mp = types.MapNull(types.StringType)
			}
		}
		for _, l := range []*types.List{&s.EmailDomainAllowlist, &s.EmailDomainDenylist, &s.AllowedPrivateAddresses} {
			if l.ElementType(context.Background()) == nil {
				*l = types.ListNull(types.StringType)
			}
		}
	}
}

// No Sensitive attribute reaches the record (a ConfigMap annotation): every
// attribute of the schema is given a value naming its path, and the record
// holds none of the Sensitive ones (settings.extra_secret_env: its names
// only), while it does hold the others.
func TestRecordLeavesOutEverySensitiveAttribute(t *testing.T) {
	ctx := context.Background()
	r := &instanceResource{}
	var sr resource.SchemaResponse
	r.Schema(ctx, resource.SchemaRequest{}, &sr)
	var fill func(p string, typ tftypes.Type) tftypes.Value
	fill = func(p string, typ tftypes.Type) tftypes.Value {
		switch tt := typ.(type) {
		case tftypes.Object:
			vals := map[string]tftypes.Value{}
			for name, at := range tt.AttributeTypes {
				vals[name] = fill(strings.TrimPrefix(p+"."+name, "."), at)
			}
			return tftypes.NewValue(tt, vals)
		case tftypes.List:
			return tftypes.NewValue(tt, []tftypes.Value{fill(p, tt.ElementType)})
		case tftypes.Map:
			return tftypes.NewValue(tt, map[string]tftypes.Value{"KEY": fill(p, tt.ElementType)})
		}
		switch {
		case typ.Is(tftypes.String):
			return tftypes.NewValue(tftypes.String, "VALUE-OF-"+p+"-END")
		case typ.Is(tftypes.Bool):
			return tftypes.NewValue(tftypes.Bool, true)
		case typ.Is(tftypes.Number):
			return tftypes.NewValue(tftypes.Number, 1)
		}
		t.Fatalf("%s: unexpected type %s", p, typ)
		return tftypes.Value{}
	}
	st := tfsdk.State{Schema: sr.Schema, Raw: fill("", sr.Schema.Type().TerraformType(ctx))}
	var m instanceModel
	if d := st.Get(ctx, &m); d.HasError() {
		t.Fatal(d)
	}
	record, err := encodeRecord(ctx, &m, st)
	if err != nil {
		t.Fatal(err)
	}
	var sensitive, plain int
	_, err = tftypes.Transform(st.Raw, func(p *tftypes.AttributePath, v tftypes.Value) (tftypes.Value, error) {
		a, aerr := sr.Schema.AttributeAtTerraformPath(ctx, p)
		if aerr != nil || !v.Type().Is(tftypes.String) {
			return v, nil //nolint:nilerr // a path inside a collection names no attribute of its own
		}
		var s string
		_ = v.As(&s)
		switch {
		case a.IsSensitive() && strings.Contains(record, s):
			t.Errorf("the record holds the Sensitive attribute %s", p)
		case a.IsSensitive():
			sensitive++
		case a.IsOptional() && strings.Contains(record, s):
			plain++
		}
		return v, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if sensitive < 10 || plain < 10 {
		t.Errorf("checked %d Sensitive values and found %d plain ones in the record: the test does not see the schema", sensitive, plain)
	}
	if !strings.Contains(record, `"KEY"`) {
		t.Error("the names of settings.extra_secret_env are not recorded")
	}
}
