package provider

import (
	"context"
	"math/big"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// uncached takes the cached types out of attrs again (in place): what the
// schema would be without cacheNestedTypes. It returns how many it took.
func uncached(attrs map[string]schema.Attribute) int {
	n := 0
	rewriteObjectTypes(attrs, func(t basetypes.ObjectTypable, _ map[string]schema.Attribute) basetypes.ObjectTypable {
		if isCachedType(t) {
			n++
			return nil
		}
		return t
	})
	return n
}

// filled is a value of typ with every object, list and map holding
// something, down to the leaves, so that every nested type is used.
func filled(typ tftypes.Type) tftypes.Value {
	switch {
	case typ.Is(tftypes.String):
		return tftypes.NewValue(typ, "x")
	case typ.Is(tftypes.Number):
		return tftypes.NewValue(typ, big.NewFloat(1))
	case typ.Is(tftypes.Bool):
		return tftypes.NewValue(typ, true)
	case typ.Is(tftypes.List{}):
		return tftypes.NewValue(typ, []tftypes.Value{filled(typ.(tftypes.List).ElementType)})
	case typ.Is(tftypes.Set{}):
		return tftypes.NewValue(typ, []tftypes.Value{filled(typ.(tftypes.Set).ElementType)})
	case typ.Is(tftypes.Map{}):
		return tftypes.NewValue(typ, map[string]tftypes.Value{"k": filled(typ.(tftypes.Map).ElementType)})
	case typ.Is(tftypes.Object{}):
		vals := map[string]tftypes.Value{}
		for k, at := range typ.(tftypes.Object).AttributeTypes {
			vals[k] = filled(at)
		}
		return tftypes.NewValue(typ, vals)
	}
	panic("no filled value for " + typ.String())
}

// The cached types are the types the framework would build: the same
// Terraform type for every attribute, equal to the built one, and values
// decoded with them equal to values decoded without them and converted back
// to the same Terraform value, whether full, null or unknown.
func TestCachedTypesChangeNothing(t *testing.T) {
	ctx := context.Background()
	var resp resource.SchemaResponse
	(&instanceResource{}).Schema(ctx, resource.SchemaRequest{}, &resp)
	cached := resp.Schema
	var again resource.SchemaResponse // a second schema, built anew
	(&instanceResource{}).Schema(ctx, resource.SchemaRequest{}, &again)
	plain := again.Schema
	n := uncached(plain.Attributes)
	if n < 100 {
		t.Fatalf("only %d cached types: cacheNestedTypes no longer reaches the nested attributes", n)
	}
	still := 0 // the first schema shares nothing with the second
	rewriteObjectTypes(cached.Attributes, func(t basetypes.ObjectTypable, _ map[string]schema.Attribute) basetypes.ObjectTypable {
		if isCachedType(t) {
			still++
		}
		return t
	})
	if still != n {
		t.Fatalf("%d cached types left in the first schema, want %d: the two schemas share attributes", still, n)
	}
	for name, a := range cached.Attributes {
		ct, pt := a.GetType(), plain.Attributes[name].GetType()
		if !ct.TerraformType(ctx).Equal(pt.TerraformType(ctx)) {
			t.Errorf("%s: the cached Terraform type differs", name)
		}
		if !ct.Equal(pt) {
			t.Errorf("%s: the cached type and the built one are not equal", name)
		}
	}
	if !cached.Type().TerraformType(ctx).Equal(plain.Type().TerraformType(ctx)) {
		t.Fatal("the schema's Terraform type differs")
	}
	for name, a := range cached.Attributes {
		ct, pt := a.GetType(), plain.Attributes[name].GetType()
		tfType := pt.TerraformType(ctx)
		for what, v := range map[string]tftypes.Value{
			"full": filled(tfType), "null": tftypes.NewValue(tfType, nil), "unknown": tftypes.NewValue(tfType, tftypes.UnknownValue),
		} {
			cv, err := ct.ValueFromTerraform(ctx, v)
			if err != nil {
				t.Fatalf("%s, %s: %v", name, what, err)
			}
			pv, err := pt.ValueFromTerraform(ctx, v)
			if err != nil {
				t.Fatalf("%s, %s: %v", name, what, err)
			}
			if !ct.Equal(cv.Type(ctx)) || !cv.Equal(pv) {
				t.Errorf("%s, %s: the value decoded with the cached types differs", name, what)
			}
			back, err := cv.ToTerraformValue(ctx)
			if err != nil {
				t.Fatalf("%s, %s: %v", name, what, err)
			}
			if !back.Equal(v) {
				t.Errorf("%s, %s: the value does not survive a round trip through the cached types", name, what)
			}
		}
	}
	// A wrong value is refused as the built type refuses it.
	if _, err := newCachedObjectType(map[string]attr.Type{"a": basetypes.StringType{}}).ValueFromTerraform(ctx,
		tftypes.NewValue(tftypes.Object{AttributeTypes: map[string]tftypes.Type{"b": tftypes.String}}, map[string]tftypes.Value{"b": tftypes.NewValue(tftypes.String, "x")})); err == nil {
		t.Error("a value of another object type was accepted")
	}
}

func isCachedType(v any) bool {
	_, ok := v.(cachedObjectType)
	return ok
}
