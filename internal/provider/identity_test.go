package provider

import (
	"context"
	"maps"
	"slices"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// Resource identity at the protocol level, as Terraform 1.12+ drives it:
// the identity schemas, an import block's identity turned into state, and a
// read that returns the identity. The terraform on PATH (1.11) cannot send
// identities, so these run in make unit.

var identityCases = []struct {
	resource string
	required []string
	optional []string
	identity map[string]tftypes.Value
	state    map[string]string // what the import writes to state
}{
	{
		resource: "mastodon_instance", required: []string{"name", "namespace"},
		identity: map[string]tftypes.Value{"namespace": str("mastodon"), "name": str("social")},
		state:    map[string]string{"id": "mastodon/social", "namespace": "mastodon", "name": "social"},
	},
	{
		resource: "mastodon_admin_user", required: []string{"instance", "namespace", "username"},
		identity: map[string]tftypes.Value{"namespace": str("mastodon"), "instance": str("social"), "username": str("alice")},
		state:    map[string]string{"instance": "mastodon/social", "username": "alice"},
	},
	{
		resource: "mastodon_media_bucket", required: []string{"bucket"}, optional: []string{"endpoint"},
		identity: map[string]tftypes.Value{"endpoint": str("https://storage.googleapis.com"), "bucket": str("media")},
		state:    map[string]string{"id": "media", "bucket": "media", "endpoint": "https://storage.googleapis.com"},
	},
	{
		resource: "mastodon_media_bucket", required: []string{"bucket"}, optional: []string{"endpoint"},
		identity: map[string]tftypes.Value{"endpoint": tftypes.NewValue(tftypes.String, nil), "bucket": str("media")},
		state:    map[string]string{"id": "media", "bucket": "media"},
	},
}

func str(s string) tftypes.Value { return tftypes.NewValue(tftypes.String, s) }

func protocolServer(t *testing.T) (tfprotov6.ProviderServer, *tfprotov6.GetProviderSchemaResponse, *tfprotov6.GetResourceIdentitySchemasResponse) {
	t.Helper()
	ctx := context.Background()
	srv, err := providerserver.NewProtocol6WithError(New("test")())()
	if err != nil {
		t.Fatal(err)
	}
	schemas, err := srv.GetProviderSchema(ctx, &tfprotov6.GetProviderSchemaRequest{})
	if err != nil || len(schemas.Diagnostics) > 0 {
		t.Fatalf("GetProviderSchema: %v %v", err, schemas.Diagnostics)
	}
	ids, err := srv.GetResourceIdentitySchemas(ctx, &tfprotov6.GetResourceIdentitySchemasRequest{})
	if err != nil || len(ids.Diagnostics) > 0 {
		t.Fatalf("GetResourceIdentitySchemas: %v %v", err, ids.Diagnostics)
	}
	return srv, schemas, ids
}

func TestIdentitySchemas(t *testing.T) {
	_, schemas, ids := protocolServer(t)
	if got, want := slices.Sorted(maps.Keys(ids.IdentitySchemas)), slices.Sorted(maps.Keys(schemas.ResourceSchemas)); !slices.Equal(got, want) {
		t.Errorf("identity schemas for %v, want one for every resource %v", got, want)
	}
	for _, tc := range identityCases {
		var required, optional []string
		for _, a := range ids.IdentitySchemas[tc.resource].IdentityAttributes {
			if !a.Type.Is(tftypes.String) {
				t.Errorf("%s identity %s is %s, want a string", tc.resource, a.Name, a.Type)
			}
			if a.RequiredForImport {
				required = append(required, a.Name)
			}
			if a.OptionalForImport {
				optional = append(optional, a.Name)
			}
		}
		slices.Sort(required)
		if !slices.Equal(required, tc.required) || !slices.Equal(optional, tc.optional) {
			t.Errorf("%s identity: required %v optional %v, want %v and %v", tc.resource, required, optional, tc.required, tc.optional)
		}
	}
}

// decode turns a DynamicValue into strings by attribute (nulls left out).
func decode(t *testing.T, v *tfprotov6.DynamicValue, typ tftypes.Type) map[string]string {
	t.Helper()
	raw, err := v.Unmarshal(typ)
	if err != nil {
		t.Fatal(err)
	}
	var attrs map[string]tftypes.Value
	if err := raw.As(&attrs); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for k, a := range attrs {
		var s string
		if a.Type().Is(tftypes.String) && a.IsKnown() && !a.IsNull() {
			_ = a.As(&s)
			out[k] = s
		}
	}
	return out
}

func identityValue(t *testing.T, typ tftypes.Type, attrs map[string]tftypes.Value) *tfprotov6.ResourceIdentityData {
	t.Helper()
	dv, err := tfprotov6.NewDynamicValue(typ, tftypes.NewValue(typ, attrs))
	if err != nil {
		t.Fatal(err)
	}
	return &tfprotov6.ResourceIdentityData{IdentityData: &dv}
}

func TestImportByIdentity(t *testing.T) {
	ctx := context.Background()
	srv, schemas, ids := protocolServer(t)
	for _, tc := range identityCases {
		idType := ids.IdentitySchemas[tc.resource].ValueType()
		stateType := schemas.ResourceSchemas[tc.resource].ValueType()
		resp, err := srv.ImportResourceState(ctx, &tfprotov6.ImportResourceStateRequest{
			TypeName: tc.resource, Identity: identityValue(t, idType, tc.identity),
		})
		if err != nil || len(resp.Diagnostics) > 0 {
			t.Fatalf("%s: import by identity: %v %v", tc.resource, err, resp.Diagnostics)
		}
		if len(resp.ImportedResources) != 1 {
			t.Fatalf("%s: %d imported resources", tc.resource, len(resp.ImportedResources))
		}
		if got := decode(t, resp.ImportedResources[0].State, stateType); !maps.Equal(got, tc.state) {
			t.Errorf("%s: imported state %v, want %v", tc.resource, got, tc.state)
		}
	}
	// A partial identity is refused, naming the expected form.
	idType := ids.IdentitySchemas["mastodon_instance"].ValueType()
	resp, err := srv.ImportResourceState(ctx, &tfprotov6.ImportResourceStateRequest{TypeName: "mastodon_instance",
		Identity: identityValue(t, idType, map[string]tftypes.Value{"namespace": str("mastodon"), "name": str("")})})
	if err != nil || len(resp.Diagnostics) != 1 || resp.Diagnostics[0].Summary != "Invalid import ID" {
		t.Errorf("instance identity without a name: got %v %v, want one Invalid import ID error", err, resp.Diagnostics)
	}
}

// A read returns the identity, also of state written before identities
// existed; the provider is configured with a cluster not known yet (the
// instance and the account keep their state) and the bucket has no key to
// check it with, so no server is contacted.
func TestReadReturnsIdentity(t *testing.T) {
	ctx := context.Background()
	srv, schemas, ids := protocolServer(t)
	provType := schemas.Provider.ValueType().(tftypes.Object)
	attrs := map[string]tftypes.Value{}
	for name, typ := range provType.AttributeTypes {
		attrs[name] = tftypes.NewValue(typ, nil)
	}
	attrs["kubernetes"] = tftypes.NewValue(provType.AttributeTypes["kubernetes"], tftypes.UnknownValue)
	cfg, err := tfprotov6.NewDynamicValue(provType, tftypes.NewValue(provType, attrs))
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(envS3SecretKey, "")
	if resp, err := srv.ConfigureProvider(ctx, &tfprotov6.ConfigureProviderRequest{Config: &cfg}); err != nil || len(resp.Diagnostics) > 0 {
		t.Fatalf("ConfigureProvider: %v %v", err, resp.Diagnostics)
	}
	for _, tc := range identityCases {
		stateType := schemas.ResourceSchemas[tc.resource].ValueType().(tftypes.Object)
		vals := map[string]tftypes.Value{}
		for name, typ := range stateType.AttributeTypes {
			vals[name] = tftypes.NewValue(typ, nil)
			if s, ok := tc.state[name]; ok {
				vals[name] = str(s)
			}
		}
		state, err := tfprotov6.NewDynamicValue(stateType, tftypes.NewValue(stateType, vals))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := srv.ReadResource(ctx, &tfprotov6.ReadResourceRequest{TypeName: tc.resource, CurrentState: &state})
		if err != nil || len(resp.Diagnostics) > 0 {
			t.Fatalf("%s: read: %v %v", tc.resource, err, resp.Diagnostics)
		}
		if resp.NewIdentity == nil {
			t.Fatalf("%s: read returned no identity", tc.resource)
		}
		want := map[string]string{}
		for k, v := range tc.identity {
			if !v.IsNull() {
				var s string
				_ = v.As(&s)
				want[k] = s
			}
		}
		if got := decode(t, resp.NewIdentity.IdentityData, ids.IdentitySchemas[tc.resource].ValueType()); !maps.Equal(got, want) {
			t.Errorf("%s: read identity %v, want %v", tc.resource, got, want)
		}
	}
}
