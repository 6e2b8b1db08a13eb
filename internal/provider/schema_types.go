package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// The framework asks a nested attribute for its type (GetType, then
// TerraformType) many times in every request: for each value it decodes,
// each path it converts, each top-level attribute it plans. Without a
// CustomType, each call builds the whole subtree's type again, maps and all,
// which made the type's size a multiplier of the plan's cost (bench/results
// /issue24.md). cacheNestedTypes gives every nested attribute a type built
// once: the same type, so the protocol schema, the documentation and every
// value are unchanged (TestSchemaGolden, TestCachedTypesChangeNothing).

// cachedObjectType is an object type whose Terraform type is computed once.
// Everything else is basetypes.ObjectType's: its values are plain
// basetypes.ObjectValue (models keep types.Object), and they hold this type
// for their nested objects, so converting them back to Terraform values is
// cheap too. A basetypes.ObjectType built by hand with the same attributes is
// equal to it only from this side (basetypes compares concrete types), which
// is why the provider never builds the type of a nested attribute itself:
// it takes it from the schema.
type cachedObjectType struct {
	basetypes.ObjectType // AttrTypes: the children's (cached) types
	tf                   tftypes.Type
}

var _ basetypes.ObjectTypable = cachedObjectType{}

func newCachedObjectType(attrTypes map[string]attr.Type) cachedObjectType {
	o := basetypes.ObjectType{AttrTypes: attrTypes}
	return cachedObjectType{ObjectType: o, tf: o.TerraformType(context.Background())}
}

func (t cachedObjectType) TerraformType(context.Context) tftypes.Type { return t.tf }

// Equal: the same Terraform type, cached or built by the framework from the
// same attributes (a value's Type).
func (t cachedObjectType) Equal(o attr.Type) bool {
	switch o.(type) {
	case cachedObjectType, basetypes.ObjectType:
		return t.tf.Equal(o.TerraformType(context.Background()))
	}
	return false
}

// cacheNestedTypes sets a cachedObjectType on every nested attribute (and
// nested object) of attrs that has no CustomType, innermost first.
func cacheNestedTypes(attrs map[string]schema.Attribute) map[string]schema.Attribute {
	return rewriteObjectTypes(attrs, func(t basetypes.ObjectTypable, children map[string]schema.Attribute) basetypes.ObjectTypable {
		if t != nil {
			return t
		}
		return newCachedObjectType(attrTypesOf(children))
	})
}

// rewriteObjectTypes replaces, in place and innermost first, the
// CustomType of every nested attribute and nested object of attrs with
// what f returns for it and its attributes.
func rewriteObjectTypes(attrs map[string]schema.Attribute,
	f func(basetypes.ObjectTypable, map[string]schema.Attribute) basetypes.ObjectTypable) map[string]schema.Attribute {
	object := func(o schema.NestedAttributeObject) schema.NestedAttributeObject {
		o.Attributes = rewriteObjectTypes(o.Attributes, f)
		o.CustomType = f(o.CustomType, o.Attributes)
		return o
	}
	for name, a := range attrs {
		switch a := a.(type) {
		case schema.SingleNestedAttribute:
			a.Attributes = rewriteObjectTypes(a.Attributes, f)
			a.CustomType = f(a.CustomType, a.Attributes)
			attrs[name] = a
		case schema.ListNestedAttribute:
			a.NestedObject = object(a.NestedObject)
			attrs[name] = a
		case schema.MapNestedAttribute:
			a.NestedObject = object(a.NestedObject)
			attrs[name] = a
		case schema.SetNestedAttribute:
			a.NestedObject = object(a.NestedObject)
			attrs[name] = a
		}
	}
	return attrs
}

func attrTypesOf(attrs map[string]schema.Attribute) map[string]attr.Type {
	out := make(map[string]attr.Type, len(attrs))
	for k, a := range attrs {
		out[k] = a.GetType()
	}
	return out
}
