package provider

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"reflect"
	"sort"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/resource"
)

var updateSchema = flag.Bool("update-schema", false, "rewrite the schema golden files in testdata")

// TestSchemaGolden pins the whole schema of the resources built from the
// instance's features and credentials (mastodon_media_bucket shares the
// bucket's attributes): every attribute, flag, description, default,
// validator and plan modifier. A change shows here first; docs follow.
func TestSchemaGolden(t *testing.T) {
	ctx := context.Background()
	for name, r := range map[string]resource.Resource{"instance": &instanceResource{}, "media_bucket": &mediaBucketResource{}} {
		var resp resource.SchemaResponse
		r.Schema(ctx, resource.SchemaRequest{}, &resp)
		got, err := json.MarshalIndent(schemaDump(ctx, reflect.ValueOf(resp.Schema)), "", " ")
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, '\n')
		golden := "testdata/" + name + "_schema.json"
		if *updateSchema {
			if err := os.WriteFile(golden, got, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("the schema differs from %s (go test -run TestSchemaGolden -update-schema rewrites it; check the diff)", golden)
		}
	}
}

// describer is a validator, plan modifier or default.
type describer interface {
	Description(context.Context) string
}

// schemaDump turns a schema value into JSON-shaped data: structs by field
// (zero fields and cached types left out), maps by sorted key, and what describes itself
// (validators, plan modifiers, defaults) as its type and description.
func schemaDump(ctx context.Context, v reflect.Value) any {
	if !v.IsValid() {
		return nil
	}
	if v.Kind() == reflect.Interface || v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil
		}
		if d, ok := v.Interface().(describer); ok && v.Kind() == reflect.Interface {
			return fmt.Sprintf("%T: %s", d, d.Description(ctx))
		}
		return schemaDump(ctx, v.Elem())
	}
	switch v.Kind() {
	case reflect.Struct:
		out := map[string]any{"@type": v.Type().String()}
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if !f.IsExported() || v.Field(i).IsZero() {
				continue
			}
			if isCachedType(v.Field(i).Interface()) {
				continue // the same type as without it (TestCachedTypesChangeNothing)
			}
			out[f.Name] = schemaDump(ctx, v.Field(i))
		}
		return out
	case reflect.Map:
		keys := v.MapKeys()
		sort.Slice(keys, func(a, b int) bool { return keys[a].String() < keys[b].String() })
		out := map[string]any{}
		for _, k := range keys {
			out[k.String()] = schemaDump(ctx, v.MapIndex(k))
		}
		return out
	case reflect.Slice:
		out := make([]any, v.Len())
		for i := range out {
			out[i] = schemaDump(ctx, v.Index(i))
		}
		return out
	default:
		return v.Interface()
	}
}
