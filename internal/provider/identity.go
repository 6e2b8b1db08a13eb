package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/identityschema"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// Resource identity (Terraform 1.12+): the few string attributes that name
// one object, so an import block can give them instead of an ID string.

// identityAttr is one attribute of an identity.
type identityAttr struct {
	name, description string
	optional          bool // may be null (and left out of an import block)
}

func identitySchema(attrs ...identityAttr) identityschema.Schema {
	s := identityschema.Schema{Attributes: map[string]identityschema.Attribute{}}
	for _, a := range attrs {
		s.Attributes[a.name] = identityschema.StringAttribute{
			RequiredForImport: !a.optional, OptionalForImport: a.optional, Description: a.description,
		}
	}
	return s
}

// setIdentity writes the values of an identity, in the order of its
// attributes' names and values. It does nothing when Terraform does not
// support identity (id is nil).
func setIdentity(ctx context.Context, id *tfsdk.ResourceIdentity, namesAndValues ...any) diag.Diagnostics {
	var diags diag.Diagnostics
	if id == nil {
		return diags
	}
	for i := 0; i+1 < len(namesAndValues); i += 2 {
		diags.Append(id.SetAttribute(ctx, path.Root(namesAndValues[i].(string)), namesAndValues[i+1])...)
	}
	return diags
}

// identityValues reads the named attributes of an import block's identity;
// ok is false when the import gives an ID instead.
func identityValues(ctx context.Context, id *tfsdk.ResourceIdentity, diags *diag.Diagnostics, names ...string) (map[string]types.String, bool) {
	if id == nil || id.Raw.IsNull() || id.Raw.IsFullyNull() {
		return nil, false
	}
	out := map[string]types.String{}
	for _, n := range names {
		var v types.String
		diags.Append(id.GetAttribute(ctx, path.Root(n), &v)...)
		out[n] = v
	}
	return out, true
}
