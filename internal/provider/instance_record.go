package provider

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"reflect"
	"slices"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"github.com/vmihailenco/msgpack/v5"
)

// The configuration of an instance is recorded on its ConfigMap
// (mastodon.AnnotationSpec), without secret values, so that an import
// restores every attribute. The record must outlive the schema that wrote
// it: it is JSON keyed by attribute name, read against today's schema,
// where an attribute the record lacks is null and one the schema lacks is
// ignored.
//
// Format 1 (releases up to 0.1) was base64 msgpack of the whole state
// value; msgpack objects are maps keyed by attribute name too, so it is
// read the same tolerant way.
const recordFormat = 2

type recordJSON struct {
	Format     int            `json:"format"`
	Attributes map[string]any `json:"attributes"`
}

// unrecordedPaths are left out of the record, as is every attribute the
// schema calls Sensitive: the generated secrets, the credentials' clear
// values (an import restores them from the Secrets, never those given
// write-only) and what is not configuration but the state of the cluster.
var unrecordedPaths = append([][]string{
	{"secrets"}, {"ready"}, {"drift"}, {"load_balancer_ip"}, {"load_balancer_hostname"},
}, instanceFeatures.unrecorded()...)

// encodeRecord serialises the configuration (without secret values, and
// with only the names of extra_secret_env) for the ConfigMap annotation.
func encodeRecord(ctx context.Context, m *instanceModel, tmpl tfsdk.State) (string, error) {
	st := tfsdk.State{Schema: tmpl.Schema}
	if d := st.Set(ctx, m); d.HasError() {
		return "", fmt.Errorf("%v", d)
	}
	val, err := tftypes.Transform(st.Raw, func(p *tftypes.AttributePath, v tftypes.Value) (tftypes.Value, error) {
		names := attributeNames(p)
		// Whatever the schema calls Sensitive is left out, listed or not
		// (extra_secret_env keeps its names, below).
		if a, err := tmpl.Schema.AttributeAtTerraformPath(ctx, p); err == nil && a.IsSensitive() &&
			!slices.Equal(names, []string{"settings", "extra_secret_env"}) {
			return tftypes.NewValue(v.Type(), nil), nil
		}
		for _, sp := range unrecordedPaths {
			if slices.Equal(names, sp) {
				return tftypes.NewValue(v.Type(), nil), nil
			}
		}
		if len(names) == 2 && names[0] == "settings" && names[1] == "extra_secret_env" && len(p.Steps()) == 3 && !v.IsNull() {
			return tftypes.NewValue(tftypes.String, ""), nil
		}
		return v, nil
	})
	if err != nil {
		return "", err
	}
	attrs, _ := toGeneric(val).(map[string]any)
	raw, err := json.Marshal(recordJSON{Format: recordFormat, Attributes: attrs})
	return string(raw), err
}

// decodeRecord reads a record of any format against the schema's type.
func decodeRecord(ctx context.Context, raw string, tmpl tfsdk.State) (tftypes.Value, error) {
	typ := tmpl.Schema.Type().TerraformType(ctx)
	var attrs any
	switch {
	case raw == "":
		return tftypes.Value{}, fmt.Errorf("the annotation is missing")
	case strings.HasPrefix(raw, "{"):
		var rec recordJSON
		dec := json.NewDecoder(strings.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&rec); err != nil {
			return tftypes.Value{}, fmt.Errorf("not a configuration record: %w", err)
		}
		attrs = rec.Attributes
	default: // format 1
		b, err := base64.StdEncoding.DecodeString(raw)
		if err != nil {
			return tftypes.Value{}, fmt.Errorf("not a configuration record: %w", err)
		}
		dec := msgpack.NewDecoder(bytes.NewReader(b))
		dec.SetMapDecoder(func(d *msgpack.Decoder) (any, error) { return d.DecodeUntypedMap() })
		if err := dec.Decode(&attrs); err != nil {
			return tftypes.Value{}, fmt.Errorf("not a configuration record: %w", err)
		}
	}
	if m, ok := asMap(attrs); !ok || m == nil {
		return tftypes.Value{}, fmt.Errorf("not a configuration record: no attributes")
	}
	return fromGeneric(typ, attrs), nil
}

// toGeneric turns a known value into JSON-shaped data.
func toGeneric(v tftypes.Value) any {
	if v.IsNull() || !v.IsKnown() {
		return nil
	}
	t := v.Type()
	switch {
	case t.Is(tftypes.String):
		var s string
		_ = v.As(&s)
		return s
	case t.Is(tftypes.Bool):
		var b bool
		_ = v.As(&b)
		return b
	case t.Is(tftypes.Number):
		var f big.Float
		_ = v.As(&f)
		return json.Number(f.Text('g', -1))
	case t.Is(tftypes.Object{}), t.Is(tftypes.Map{}):
		var m map[string]tftypes.Value
		_ = v.As(&m)
		out := make(map[string]any, len(m))
		for k, e := range m {
			out[k] = toGeneric(e)
		}
		return out
	default: // list, set, tuple
		var l []tftypes.Value
		_ = v.As(&l)
		out := make([]any, len(l))
		for i, e := range l {
			out[i] = toGeneric(e)
		}
		return out
	}
}

// fromGeneric reads JSON-shaped (or msgpack-decoded) data as a value of
// type t; what does not fit t is null.
func fromGeneric(t tftypes.Type, g any) tftypes.Value {
	null := tftypes.NewValue(t, nil)
	if g == nil {
		return null
	}
	switch tt := t.(type) {
	case tftypes.Object:
		m, ok := asMap(g)
		if !ok {
			return null
		}
		vals := map[string]tftypes.Value{}
		for name, at := range tt.AttributeTypes {
			vals[name] = fromGeneric(at, m[name])
		}
		return tftypes.NewValue(t, vals)
	case tftypes.Map:
		m, ok := asMap(g)
		if !ok {
			return null
		}
		vals := map[string]tftypes.Value{}
		for k, e := range m {
			vals[k] = fromGeneric(tt.ElementType, e)
		}
		return tftypes.NewValue(t, vals)
	case tftypes.List, tftypes.Set:
		l, ok := g.([]any)
		if !ok {
			return null
		}
		elem := tftypes.Type(nil)
		if lt, isList := tt.(tftypes.List); isList {
			elem = lt.ElementType
		} else {
			elem = tt.(tftypes.Set).ElementType
		}
		vals := make([]tftypes.Value, len(l))
		for i, e := range l {
			vals[i] = fromGeneric(elem, e)
		}
		return tftypes.NewValue(t, vals)
	}
	switch {
	case t.Is(tftypes.String):
		if s, ok := g.(string); ok {
			return tftypes.NewValue(t, s)
		}
	case t.Is(tftypes.Bool):
		if b, ok := g.(bool); ok {
			return tftypes.NewValue(t, b)
		}
	case t.Is(tftypes.Number):
		if f, ok := number(g); ok {
			return tftypes.NewValue(t, f)
		}
	}
	return null
}

func asMap(g any) (map[string]any, bool) {
	switch m := g.(type) {
	case map[string]any:
		return m, true
	case map[any]any:
		out := make(map[string]any, len(m))
		for k, v := range m {
			s, ok := k.(string)
			if !ok {
				return nil, false
			}
			out[s] = v
		}
		return out, true
	}
	return nil, false
}

func number(g any) (*big.Float, bool) {
	switch n := g.(type) {
	case json.Number:
		f, _, err := big.ParseFloat(string(n), 10, 512, big.ToNearestEven)
		return f, err == nil
	case string:
		f, _, err := big.ParseFloat(n, 10, 512, big.ToNearestEven)
		return f, err == nil
	}
	rv := reflect.ValueOf(g)
	switch {
	case rv.CanInt():
		return new(big.Float).SetInt64(rv.Int()), true
	case rv.CanUint():
		return new(big.Float).SetUint64(rv.Uint()), true
	case rv.CanFloat():
		return big.NewFloat(rv.Float()), true
	}
	return nil, false
}

func attributeNames(p *tftypes.AttributePath) []string {
	var names []string
	for _, step := range p.Steps() {
		if a, ok := step.(tftypes.AttributeName); ok {
			names = append(names, string(a))
		}
	}
	return names
}
