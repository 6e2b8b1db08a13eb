package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

// computedValues are the values of mastodon_instance that no configuration
// sets: the apply computes them (instanceResource.apply, instanceApply.run),
// and a plan holds what it will return where that is known, else unknown.
type computedValues struct {
	secrets                              types.Object
	loadBalancerIP, loadBalancerHostname types.String
	migratedVersion, searchIndex         types.String
	ready                                types.Bool
	drift                                types.List
}

// targets are the values' addresses, to read them from state.
func (v *computedValues) targets() map[string]any {
	return map[string]any{"secrets": &v.secrets, "load_balancer_ip": &v.loadBalancerIP, "load_balancer_hostname": &v.loadBalancerHostname,
		"migrated_version": &v.migratedVersion, "search_index": &v.searchIndex, "ready": &v.ready, "drift": &v.drift}
}

// setIn writes the values in a plan.
func (v *computedValues) setIn(ctx context.Context, plan *tfsdk.Plan) (diags diag.Diagnostics) {
	for _, a := range []struct {
		name  string
		value attr.Value
	}{{"ready", v.ready}, {"drift", v.drift}, {"migrated_version", v.migratedVersion}, {"search_index", v.searchIndex},
		{"secrets", v.secrets}, {"load_balancer_ip", v.loadBalancerIP}, {"load_balancer_hostname", v.loadBalancerHostname}} {
		diags.Append(plan.SetAttribute(ctx, path.Root(a.name), a.value)...)
	}
	return diags
}

// attrGetter reads an attribute of a plan or a state.
type attrGetter interface {
	GetAttribute(ctx context.Context, p path.Path, target any) diag.Diagnostics
}

// getAttrs reads top-level attributes into their targets.
func getAttrs(ctx context.Context, from attrGetter, targets map[string]any) (diags diag.Diagnostics) {
	for name, target := range targets {
		diags.Append(from.GetAttribute(ctx, path.Root(name), target)...)
	}
	return diags
}

// planComputed plans the computed values of an instance: it is the one
// place that does, for every path of ModifyPlan, a function of state (null
// on create) and the plan alone. It returns the plan with them, and whether
// that plan changes nothing: then the plan is returned as it came, and
// there is nothing to check (the usual plan of a fleet ends there).
func planComputed(ctx context.Context, state tfsdk.State, plan tfsdk.Plan) (tfsdk.Plan, bool, diag.Diagnostics) {
	var was computedValues
	var wasIngress, wasGateway types.Object
	var diags diag.Diagnostics
	creating := state.Raw.IsNull()
	if !creating {
		targets := was.targets()
		targets["ingress"], targets["gateway"] = &wasIngress, &wasGateway
		diags.Append(getAttrs(ctx, state, targets)...)
	}
	var version types.String
	var database, redis, ingress, gateway types.Object
	diags.Append(getAttrs(ctx, plan, map[string]any{"version": &version, "database": &database, "redis": &redis, "ingress": &ingress, "gateway": &gateway})...)
	v := computedValues{
		secrets: planSecrets(was.secrets, database, redis),
		// After an apply, every migration of the configured version has
		// run: a state that says otherwise (an upgrade that failed half
		// way) plans an update that resumes it.
		migratedVersion: version,
		searchIndex:     planSearchIndex(ctx, plan, was.searchIndex, creating, &diags),
		ready:           types.BoolValue(true),
		drift:           types.ListValueMust(types.StringType, []attr.Value{}),
	}
	v.loadBalancerIP, v.loadBalancerHostname = planLoadBalancer(ingress, gateway, wasIngress, wasGateway, creating, was)
	if creating {
		diags.Append(v.setIn(ctx, &plan)...)
		return plan, false, diags
	}
	// A Pod that is briefly unready is no reason for an update: unless
	// something else changes, ready stays as the refresh read it (drift,
	// an unfinished upgrade or a configuration change plan the update that
	// makes it true).
	v.ready = was.ready
	if !diags.HasError() && v.sameAs(&was) && plan.Raw.Equal(state.Raw) {
		return plan, true, nil
	}
	diags.Append(v.setIn(ctx, &plan)...)
	if !plan.Raw.Equal(state.Raw) {
		diags.Append(plan.SetAttribute(ctx, path.Root("ready"), types.BoolValue(true))...)
	}
	return plan, false, diags
}

// sameAs says whether the planned values are state's, without writing them
// in the plan: when the configuration is state's too, the plan changes
// nothing (the last refresh found no drift, every migration of the version
// ran, state holds every generated secret the instance uses and the index
// it configures is built), and every check would compare state with itself.
func (v *computedValues) sameAs(was *computedValues) bool {
	return v.secrets.Equal(was.secrets) && v.loadBalancerIP.Equal(was.loadBalancerIP) &&
		v.loadBalancerHostname.Equal(was.loadBalancerHostname) && v.migratedVersion.Equal(was.migratedVersion) &&
		v.searchIndex.Equal(was.searchIndex) && v.ready.Equal(was.ready) && v.drift.Equal(was.drift)
}

// planSecrets: generated secrets never change. An update plans those of
// state (was), and only a password of an embedded service that is new is
// generated (unknown); a create generates them all.
func planSecrets(was, database, redis types.Object) types.Object {
	if was.IsNull() || was.IsUnknown() {
		return types.ObjectUnknown(secretsAttrTypes())
	}
	attrs := was.Attributes()
	needs := func(external types.Object, password string) bool {
		return external.IsUnknown() || (external.IsNull() && attrs[password].IsNull())
	}
	if needs(database, "embedded_database_password") || needs(redis, "embedded_redis_password") {
		return types.ObjectUnknown(secretsAttrTypes())
	}
	return was
}

// planLoadBalancer plans the load balancer's address: none without an
// Ingress or a Gateway; learnt by the apply that adds one, or moves the
// routes to another Gateway; else what the last refresh read.
func planLoadBalancer(ingress, gateway, wasIngress, wasGateway types.Object, creating bool, was computedValues) (types.String, types.String) {
	front, unknown := frontOf(ingress, gateway)
	wasFront, _ := frontOf(wasIngress, wasGateway)
	switch {
	case unknown:
		// One that may end up removed, or another (a toggle).
		return types.StringUnknown(), types.StringUnknown()
	case front == "":
		return types.StringNull(), types.StringNull()
	case creating || front != wasFront:
		return types.StringUnknown(), types.StringUnknown()
	}
	return was.loadBalancerIP, was.loadBalancerHostname
}

// planSearchIndex is the planned search_index: what the apply builds, or
// unknown when it may end before the build does (wait_for_index = false,
// or a create, whose failed build is a warning, not an error), or when
// what it builds is not known yet.
func planSearchIndex(ctx context.Context, plan tfsdk.Plan, state types.String, creating bool, diags *diag.Diagnostics) types.String {
	var block types.Object
	var version types.String
	diags.Append(plan.GetAttribute(ctx, path.Root("opensearch"), &block)...)
	diags.Append(plan.GetAttribute(ctx, path.Root("version"), &version)...)
	switch {
	case block.IsNull():
		return types.StringNull()
	case block.IsUnknown() || version.IsUnknown():
		return types.StringUnknown()
	}
	// wait_for_index decides whether the apply may end before the build.
	for _, a := range []string{"host", "port", "scheme", "preset", "prefix", "wait_for_index"} {
		if v, ok := block.Attributes()[a]; ok && v.IsUnknown() {
			return types.StringUnknown()
		}
	}
	var m opensearchModel
	diags.Append(plan.GetAttribute(ctx, path.Root("opensearch"), &m)...)
	s := &mastodon.Spec{Version: version.ValueString(), Search: m.search()}
	s.Defaults()
	want := s.SearchIndex()
	if want == state.ValueString() || (m.waits() && !creating) {
		return types.StringValue(want)
	}
	return types.StringUnknown()
}
