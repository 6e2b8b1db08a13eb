package provider

import (
	"context"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// withNulls is an object of type typ holding vals, null elsewhere.
func withNulls(typ tftypes.Object, vals map[string]tftypes.Value) tftypes.Value {
	all := map[string]tftypes.Value{}
	for name, t := range typ.AttributeTypes {
		all[name] = tftypes.NewValue(t, nil)
		if v, ok := vals[name]; ok {
			all[name] = v
		}
	}
	return tftypes.NewValue(typ, all)
}

// configureProvider runs the provider's Configure with the kubernetes
// block built from attrs (exec from execAttrs when given).
func configureProvider(t *testing.T, attrs, execAttrs map[string]tftypes.Value, deferral bool) *provider.ConfigureResponse {
	t.Helper()
	ctx := context.Background()
	p := New("test")()
	var sr provider.SchemaResponse
	p.Schema(ctx, provider.SchemaRequest{}, &sr)
	root := sr.Schema.Type().TerraformType(ctx).(tftypes.Object)
	kube := root.AttributeTypes["kubernetes"].(tftypes.Object)
	if execAttrs != nil {
		attrs["exec"] = withNulls(kube.AttributeTypes["exec"].(tftypes.Object), execAttrs)
	}
	cfg := withNulls(root, map[string]tftypes.Value{"kubernetes": withNulls(kube, attrs)})
	resp := &provider.ConfigureResponse{}
	p.Configure(ctx, provider.ConfigureRequest{
		Config:             tfsdk.Config{Raw: cfg, Schema: sr.Schema},
		ClientCapabilities: provider.ConfigureProviderClientCapabilities{DeferralAllowed: deferral},
	}, resp)
	return resp
}

// The EKS pattern: `args = ["eks", "get-token", "--cluster-name",
// aws_eks_cluster.x.name]` in the configuration that creates the cluster.
// One unknown element makes the connection unknown, as an unknown host
// does: deferred where Terraform allows it, planned without the cluster
// otherwise, never "Received unknown value".
func TestConfigureExecWithUnknownElement(t *testing.T) {
	str := func(s string) tftypes.Value { return tftypes.NewValue(tftypes.String, s) }
	args := tftypes.NewValue(tftypes.List{ElementType: tftypes.String}, []tftypes.Value{
		str("eks"), str("get-token"), str("--cluster-name"), tftypes.NewValue(tftypes.String, tftypes.UnknownValue),
	})
	env := tftypes.NewValue(tftypes.Map{ElementType: tftypes.String}, map[string]tftypes.Value{
		"AWS_PROFILE": tftypes.NewValue(tftypes.String, tftypes.UnknownValue),
	})
	for _, tc := range []struct {
		name string
		exec map[string]tftypes.Value
	}{
		{"unknown element in args", map[string]tftypes.Value{"args": args}},
		{"unknown value in env", map[string]tftypes.Value{"env": env}},
	} {
		for _, deferral := range []bool{true, false} {
			tc.exec["api_version"] = str("client.authentication.k8s.io/v1beta1")
			tc.exec["command"] = str("aws")
			resp := configureProvider(t, map[string]tftypes.Value{"host": str("https://127.0.0.1:6443")}, tc.exec, deferral)
			if resp.Diagnostics.HasError() {
				t.Fatalf("%s (deferral %v): %v", tc.name, deferral, resp.Diagnostics)
			}
			if deferral {
				if resp.Deferred == nil || resp.Deferred.Reason != provider.DeferredReasonProviderConfigUnknown {
					t.Errorf("%s: want the provider deferred, got %+v", tc.name, resp.Deferred)
				}
				continue
			}
			src, _ := resp.ResourceData.(*clientSource)
			if src == nil || src.Known() {
				t.Fatalf("%s: want a client source whose settings are not known yet, got %+v", tc.name, src)
			}
			if _, err := src.Client(); err == nil {
				t.Errorf("%s: a client was built from unknown settings", tc.name)
			}
		}
	}
}

// A fully known exec block is used as given.
func TestConfigureExecKnown(t *testing.T) {
	str := func(s string) tftypes.Value { return tftypes.NewValue(tftypes.String, s) }
	resp := configureProvider(t, map[string]tftypes.Value{"host": str("https://127.0.0.1:6443")}, map[string]tftypes.Value{
		"api_version": str("client.authentication.k8s.io/v1beta1"), "command": str("aws"),
		"args": tftypes.NewValue(tftypes.List{ElementType: tftypes.String}, []tftypes.Value{str("eks"), str("get-token")}),
	}, true)
	if resp.Diagnostics.HasError() || resp.Deferred != nil {
		t.Fatalf("diags %v, deferred %+v", resp.Diagnostics, resp.Deferred)
	}
	src := resp.ResourceData.(*clientSource)
	if !src.Known() || src.cfg.Exec == nil || len(src.cfg.Exec.Args) != 2 || src.cfg.Exec.Args[1] != "get-token" {
		t.Errorf("exec not taken as given: %+v", src.cfg.Exec)
	}
}

// A data source read without provider data (the provider was never
// configured) is a diagnostic, not a panic.
func TestInstancesDataSourceNotConfigured(t *testing.T) {
	ctx := context.Background()
	d := &instancesDataSource{}
	var sr datasource.SchemaResponse
	d.Schema(ctx, datasource.SchemaRequest{}, &sr)
	d.Configure(ctx, datasource.ConfigureRequest{}, &datasource.ConfigureResponse{})
	typ := sr.Schema.Type().TerraformType(ctx).(tftypes.Object)
	resp := &datasource.ReadResponse{State: tfsdk.State{Schema: sr.Schema, Raw: tftypes.NewValue(typ, nil)}}
	d.Read(ctx, datasource.ReadRequest{Config: tfsdk.Config{Schema: sr.Schema, Raw: withNulls(typ, nil)}}, resp)
	if !resp.Diagnostics.HasError() || resp.Diagnostics.Errors()[0].Summary() != "Provider not configured" {
		t.Fatalf("want the error \"Provider not configured\", got %v", resp.Diagnostics)
	}
}
