package provider

import (
	"context"
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/tootform/terraform-provider-mastodon/internal/kube"
)

// lbAddress is what the Ingress controller of the planner's tests
// publishes.
const lbAddress = "203.0.113.7"

// addressedCluster is a fake cluster whose Ingress controller publishes
// lbAddress.
type addressedCluster struct{ *fakeCluster }

func (addressedCluster) WaitIngressAddress(context.Context, string, string) (string, string, error) {
	return lbAddress, "", nil
}
func (addressedCluster) GatewayStatus(context.Context, kube.GatewayRoutes) (kube.GatewayState, error) {
	return kube.GatewayState{IP: lbAddress}, nil
}
func (addressedCluster) WaitGatewayAddress(context.Context, kube.GatewayRoutes) (string, string, error) {
	return lbAddress, "", nil
}

// planStep is a transition: the configuration, what a refresh read before
// the plan (refresh), the top-level blocks unknown at plan time (they are
// known, as configured, at apply time), and the apply's fate.
type planStep struct {
	name      string
	config    func(m *instanceModel)
	refresh   func(m *instanceModel)
	unknown   []string
	failOn    string // a step of the apply that fails (fakeCluster.failOn)
	unchanged bool   // the plan changes nothing: no apply
	unsettled bool   // the next plan is not empty (a background index build)
	// refused is the summary of the error ModifyPlan gives (a create of a
	// version an older provider still made), planned and applied anyway.
	refused string
}

// The planner (planComputed), over the transitions of the lifecycle matrix
// (TestAccInstance_lifecycleMatrix) and those of search, ingress and
// upgrades, plans what the apply returns: every value the plan knows equals
// the apply's, whether the apply is given the plan or the plan with every
// computed value unknown (what the apply computes by itself), which is
// Terraform's "Provider produced inconsistent result after apply" check.
// After each apply, the same configuration plans nothing, and a plan that
// changes nothing takes the fast path.
func TestPlanComputedMatchesTheApply(t *testing.T) {
	external := func(m *instanceModel) {
		m.Database = &databaseModel{Host: types.StringValue("db.internal"), User: types.StringValue("mastodon"), Password: types.StringValue("pw")}
		m.Redis = &redisModel{Host: types.StringValue("redis.internal"), Password: types.StringValue("pw")}
	}
	ingress := func(wait bool) func(m *instanceModel) {
		return func(m *instanceModel) {
			m.Ingress = &ingressModel{ClassName: types.StringValue("nginx"), Annotations: types.MapNull(types.StringType), WaitForLB: types.BoolValue(wait)}
		}
	}
	gateway := func(name string, wait bool) func(m *instanceModel) {
		return func(m *instanceModel) {
			m.Gateway = &gatewayModel{Name: types.StringValue(name), Namespace: types.StringNull(), SectionName: types.StringValue("https"),
				WaitForLB: types.BoolValue(wait), LBTimeout: types.StringNull()}
		}
	}
	search := func(wait bool, prefix string) func(m *instanceModel) {
		return func(m *instanceModel) {
			m.Opensearch = &opensearchModel{Host: types.StringValue("opensearch.search"), WaitForIndex: types.BoolValue(wait), Prefix: nullable(prefix)}
		}
	}
	version := func(v string) func(m *instanceModel) {
		return func(m *instanceModel) { m.Version = types.StringValue(v) }
	}
	replicas := func(m *instanceModel) { m.Web = &webModel{Replicas: types.Int64Value(2)} }
	with := func(fs ...func(m *instanceModel)) func(m *instanceModel) {
		return func(m *instanceModel) {
			for _, f := range fs {
				f(m)
			}
		}
	}
	embeddedDB := func(m *instanceModel) { m.Database = nil }
	embeddedRedis := func(m *instanceModel) { m.Redis = nil }
	unready := func(m *instanceModel) { m.Ready = types.BoolValue(false) }
	drift := func(m *instanceModel) {
		m.Drift = types.ListValueMust(types.StringType, []attr.Value{types.StringValue("Deployment social-web: 1 replicas, want 2")})
	}
	sequences := map[string][]planStep{
		"the lifecycle matrix, and then some": {
			{name: "create, embedded everything", config: version("v4.6.5")},
			{name: "no-op update", config: version("v4.6.5"), unchanged: true},
			{name: "a Pod briefly unready", config: version("v4.6.5"), refresh: unready, unchanged: true},
			{name: "web replicas 1 -> 2", config: with(version("v4.6.5"), replicas)},
			{name: "add an ingress", config: with(version("v4.6.5"), replicas, ingress(true))},
			{name: "the ingress toggled unknown, stays", config: with(version("v4.6.5"), replicas, ingress(true)), unknown: []string{"ingress"}},
			{name: "embedded -> external database and Redis", config: with(version("v4.6.5"), ingress(true), external)},
			{name: "drift present", config: with(version("v4.6.5"), ingress(true), external), refresh: drift},
			{name: "add opensearch", config: with(version("v4.6.5"), ingress(true), external, search(true, ""))},
			{name: "opensearch: a new prefix, built in the background", config: with(version("v4.6.5"), ingress(true), external, search(false, "x")),
				unsettled: true},
			{name: "remove opensearch", config: with(version("v4.6.5"), ingress(true), external)},
			{name: "the ingress toggled unknown, removed", config: with(version("v4.6.5"), external), unknown: []string{"ingress"}},
			{name: "external -> embedded Redis", config: with(version("v4.6.5"), external, embeddedRedis)},
			{name: "external -> embedded database", config: version("v4.6.5")},
			{name: "upgrade, failed half way", config: version("v4.7.2"), failOn: "job db-migrate-post"},
			{name: "upgrade resumed (migrated_version behind)", config: version("v4.7.2")},
			{name: "add an ingress without waiting for its address", config: with(version("v4.7.2"), ingress(false))},
			{name: "remove the ingress", config: version("v4.7.2")},
		},
		"external services from the start": {
			{name: "create, external database and Redis, ingress, search", config: with(version("v4.3.9"), external, ingress(true), search(true, "")),
				refused: "Version too old for a new instance"},
			{name: "external -> embedded database: a new password", config: with(version("v4.3.9"), external, embeddedDB, ingress(true), search(true, ""))},
			{name: "external -> embedded Redis: a new password", config: with(version("v4.3.9"), ingress(true), search(true, ""))},
			{name: "version upgrade across an index change", config: with(version("v4.4.0"), ingress(true), search(true, ""))},
			{name: "the ingress toggled unknown on an update", config: with(version("v4.4.0"), ingress(true), search(true, "")),
				unknown: []string{"ingress", "opensearch", "database"}},
		},
		"create with search, the index build fails": {
			{name: "create, index build fails (a warning)", config: with(version("v4.7.2"), search(true, "")), failOn: "job search-deploy",
				unsettled: true},
			{name: "the build again", config: with(version("v4.7.2"), search(true, ""))},
		},
		"unknown blocks": {
			{name: "create, the ingress unknown", config: with(version("v4.7.2"), ingress(true)), unknown: []string{"ingress", "opensearch"}},
			{name: "embedded -> external database and Redis", config: with(version("v4.7.2"), ingress(true), external)},
			{name: "the database toggled unknown, embedded again", config: with(version("v4.7.2"), ingress(true), external, embeddedDB),
				unknown: []string{"database"}},
		},
		"gateway and ingress, switched both ways": {
			{name: "create with a gateway", config: with(version("v4.7.2"), gateway("public", true))},
			{name: "no-op update", config: with(version("v4.7.2"), gateway("public", true)), unchanged: true},
			{name: "gateway -> ingress", config: with(version("v4.7.2"), ingress(true))},
			{name: "ingress -> gateway", config: with(version("v4.7.2"), gateway("public", true))},
			{name: "another Gateway", config: with(version("v4.7.2"), gateway("internal", true))},
			{name: "the gateway toggled unknown, stays", config: with(version("v4.7.2"), gateway("internal", true)), unknown: []string{"gateway"}},
			{name: "the gateway toggled unknown, removed", config: version("v4.7.2"), unknown: []string{"gateway"}},
			{name: "a gateway without waiting", config: with(version("v4.7.2"), gateway("public", false))},
			{name: "the gateway and the ingress toggled unknown, ingress", config: with(version("v4.7.2"), ingress(true)), unknown: []string{"gateway", "ingress"}},
			{name: "remove the ingress", config: version("v4.7.2")},
		},
		"external services, the database toggled unknown": {
			{name: "create, external database and Redis", config: with(version("v4.7.2"), external)},
			{name: "the database toggled unknown, becomes embedded: a new password", config: with(version("v4.7.2"), external, embeddedDB),
				unknown: []string{"database"}},
		},
	}
	for name, steps := range sequences {
		t.Run(name, func(t *testing.T) { runPlanSteps(t, steps) })
	}
}

// runPlanSteps plans and applies steps one after the other, each from the
// state the previous one left.
func runPlanSteps(t *testing.T, steps []planStep) {
	h := newPlanHarness(t)
	var prior *instanceModel
	for _, st := range steps {
		cfg := h.config(st.config)
		if prior != nil && st.refresh != nil {
			refreshed := *prior
			st.refresh(&refreshed)
			prior = &refreshed
		}
		planned, unchanged := h.plan(prior, cfg, st.unknown, st.refused)
		if unchanged != st.unchanged {
			t.Fatalf("%s: the plan changes nothing: %v, want %v", st.name, unchanged, st.unchanged)
		}
		if unchanged {
			if !planned.Raw.Equal(h.state(prior).Raw) {
				t.Fatalf("%s: an unchanged plan is not state", st.name)
			}
			continue
		}
		// At apply time, the configuration is known: Terraform plans again.
		final, _ := h.plan(prior, cfg, nil, st.refused)
		state, failed := h.apply(prior, h.model(final.Raw), st.failOn)
		if (failed != nil) != (st.failOn != "") {
			t.Fatalf("%s: the apply failed: %v", st.name, failed)
		}
		if failed == nil || failed.warning {
			// What the apply computes by itself: given the plan with every
			// computed value unknown.
			own, _ := h.apply(prior, h.unplanned(final.Raw), st.failOn)
			for _, c := range []struct {
				what          string
				plan, applied tftypes.Value
			}{{"the plan", planned.Raw, h.state(state).Raw}, {"the plan at apply time", final.Raw, h.state(state).Raw},
				{"the plan (apply alone)", planned.Raw, h.state(own).Raw}} {
				for _, e := range inconsistencies(c.plan, c.applied) {
					t.Errorf("%s: %s: %s", st.name, c.what, e)
				}
			}
		}
		if state != nil {
			prior = state
		}
		if failed != nil && !failed.warning {
			continue
		}
		if _, settled := h.plan(prior, cfg, nil, ""); settled == st.unsettled {
			t.Errorf("%s: after the apply, the same configuration plans nothing: %v, want %v", st.name, settled, !st.unsettled)
		}
	}
}

// inconsistencies are the values known in plan that applied does not hold.
func inconsistencies(plan, applied tftypes.Value) []string {
	var out []string
	err := tftypes.Walk(plan, func(p *tftypes.AttributePath, v tftypes.Value) (bool, error) {
		if !v.IsKnown() {
			return false, nil
		}
		// Down to the attributes, to name them.
		if !v.IsFullyKnown() || (v.Type().Is(tftypes.Object{}) && !v.IsNull()) {
			return true, nil
		}
		got, _, err := tftypes.WalkAttributePath(applied, p)
		if err != nil {
			out = append(out, fmt.Sprintf("%s: planned %s, not in the applied state (%v)", p, v, err))
		} else if !v.Equal(got.(tftypes.Value)) {
			out = append(out, fmt.Sprintf("%s: planned %s, applied %s", p, v, got))
		}
		return false, nil
	})
	if err != nil {
		out = append(out, err.Error())
	}
	return out
}

// planHarness builds plans and states of mastodon_instance for the planner,
// and applies them with a fake cluster.
type planHarness struct {
	t      *testing.T
	schema schema.Schema
}

func newPlanHarness(t *testing.T) *planHarness {
	var sr resource.SchemaResponse
	(&instanceResource{}).Schema(context.Background(), resource.SchemaRequest{}, &sr)
	if sr.Diagnostics.HasError() {
		t.Fatal(sr.Diagnostics)
	}
	return &planHarness{t: t, schema: sr.Schema}
}

// config is a configuration: every attribute null (typed), then set.
func (h *planHarness) config(set func(m *instanceModel)) *instanceModel {
	typ := h.schema.Type().TerraformType(context.Background()).(tftypes.Object)
	nulls := map[string]tftypes.Value{}
	for k, at := range typ.AttributeTypes {
		nulls[k] = tftypes.NewValue(at, nil)
	}
	m := h.model(tftypes.NewValue(typ, nulls))
	m.Name, m.Namespace, m.LocalDomain = types.StringValue("social"), types.StringValue("ns"), types.StringValue("social.example.org")
	m.CreateNamespace, m.DeletionProtection = types.BoolValue(true), types.BoolValue(false)
	set(m)
	return m
}

func (h *planHarness) model(raw tftypes.Value) *instanceModel {
	var m instanceModel
	if d := (&tfsdk.State{Schema: h.schema, Raw: raw}).Get(context.Background(), &m); d.HasError() {
		h.t.Fatal(d)
	}
	return &m
}

// state is m as Terraform holds it (null for nil).
func (h *planHarness) state(m *instanceModel) tfsdk.State {
	st := tfsdk.State{Schema: h.schema, Raw: tftypes.NewValue(h.schema.Type().TerraformType(context.Background()), nil)}
	if m != nil {
		if d := st.Set(context.Background(), m); d.HasError() {
			h.t.Fatal(d)
		}
	}
	return st
}

// computed are the instance's computed attributes, and whether Terraform
// keeps state's value for an unknown one (UseStateForUnknown).
var computed = map[string]bool{"id": true, "url": true, "vapid_public_key": true, "secrets": false, "ready": false,
	"migrated_version": false, "drift": false, "search_index": false, "load_balancer_ip": false, "load_balancer_hostname": false}

// plan is what ModifyPlan plans when Terraform proposes the
// configuration with state's computed values when it is state's, else
// with them unknown (but those kept from state); the unknown blocks
// unknown. ModifyPlan's only error is refused, if any; unchanged is a plan
// equal to state.
func (h *planHarness) plan(prior, cfg *instanceModel, unknown []string, refused string) (_ tfsdk.Plan, unchanged bool) {
	ctx := context.Background()
	state, p := h.proposed(prior, cfg, unknown)
	resp := h.modifyPlan(state, p, cfg)
	errs := resp.Diagnostics.Errors()
	if refused != "" && (len(errs) != 1 || errs[0].Summary() != refused) {
		h.t.Fatalf("ModifyPlan: %v, want the error %q", errs, refused)
	}
	if refused == "" {
		h.check(resp.Diagnostics)
	}
	// Terraform sees no change in a plan equal to state, which the
	// planner's fast path (unchanged) is to plan.
	unchanged = prior != nil && resp.Plan.Raw.Equal(state.Raw)
	if _, fast, _ := planComputed(ctx, state, p); fast != unchanged {
		h.t.Fatalf("the planner's fast path: %v, a plan equal to state: %v", fast, unchanged)
	}
	return resp.Plan, unchanged
}

// proposed is the state of prior and the plan Terraform proposes for cfg:
// the configuration with state's computed values when it is state's, else
// with them unknown (but those kept from state); the unknown blocks
// unknown.
func (h *planHarness) proposed(prior, cfg *instanceModel, unknown []string) (tfsdk.State, tfsdk.Plan) {
	ctx := context.Background()
	state := h.state(prior)
	p := tfsdk.Plan{Schema: h.schema, Raw: h.state(cfg).Raw}
	for name, keep := range computed {
		var v attr.Value
		if prior != nil {
			h.check(state.GetAttribute(ctx, path.Root(name), &v))
		}
		if prior == nil || !keep {
			t, _ := h.schema.TypeAtPath(ctx, path.Root(name))
			v = unknownOf(t)
		}
		h.check(p.SetAttribute(ctx, path.Root(name), v))
	}
	if prior != nil && len(unknown) == 0 {
		same := tfsdk.Plan{Schema: h.schema, Raw: p.Raw}
		for name := range computed {
			var v attr.Value
			h.check(state.GetAttribute(ctx, path.Root(name), &v))
			h.check(same.SetAttribute(ctx, path.Root(name), v))
		}
		if same.Raw.Equal(state.Raw) {
			p = same
		}
	}
	for _, name := range unknown {
		t, _ := h.schema.TypeAtPath(ctx, path.Root(name))
		h.check(p.SetAttribute(ctx, path.Root(name), unknownOf(t)))
	}
	return state, p
}

// modifyPlan runs ModifyPlan, as Terraform calls it (without clients, it
// skips the checks that ask the cluster), on the proposed plan p.
func (h *planHarness) modifyPlan(state tfsdk.State, p tfsdk.Plan, cfg *instanceModel) resource.ModifyPlanResponse {
	req := resource.ModifyPlanRequest{Config: tfsdk.Config{Schema: h.schema, Raw: h.state(cfg).Raw}, State: state, Plan: p}
	resp := resource.ModifyPlanResponse{Plan: p}
	(&instanceResource{}).ModifyPlan(context.Background(), req, &resp)
	return resp
}

func unknownOf(t attr.Type) attr.Value {
	ctx := context.Background()
	v, err := t.ValueFromTerraform(ctx, tftypes.NewValue(t.TerraformType(ctx), tftypes.UnknownValue))
	if err != nil {
		panic(err)
	}
	return v
}

func (h *planHarness) check(d interface{ HasError() bool }) {
	if d.HasError() {
		h.t.Helper()
		h.t.Fatal(d)
	}
}

// unplanned is a plan with every computed value unknown.
func (h *planHarness) unplanned(raw tftypes.Value) *instanceModel {
	ctx := context.Background()
	p := tfsdk.Plan{Schema: h.schema, Raw: raw}
	for name := range computed {
		t, _ := h.schema.TypeAtPath(ctx, path.Root(name))
		h.check(p.SetAttribute(ctx, path.Root(name), unknownOf(t)))
	}
	return h.model(p.Raw)
}

// apply is what instanceResource.apply records, with a fake cluster that
// holds no Secret of the instance: the values it fills in the plan before
// instanceApply.run (fillComputed), then run's.
func (h *planHarness) apply(prior, plan *instanceModel, failOn string) (*instanceModel, *applyError) {
	ctx := context.Background()
	spec, d := plan.spec(ctx)
	h.check(d)
	c := addressedCluster{&fakeCluster{failOn: failOn}}
	secrets, _ := fillComputed(ctx, c, plan, prior, plan, spec, &d)
	h.check(d)
	a := newInstanceApply(c, spec, secrets, "", prior, plan, func(string) {})
	return a.run(ctx)
}

// The address is the Gateway's: kept while the routes stay on one Gateway
// (another listener of it has its address), learnt again by the apply that
// moves them to another Gateway or between an Ingress and a Gateway, null
// without either.
func TestPlanLoadBalancerFollowsTheWayIn(t *testing.T) {
	h := newPlanHarness(t)
	ctx := context.Background()
	gw := func(name, ns, section string) func(m *instanceModel) {
		return func(m *instanceModel) {
			m.Version = types.StringValue("v4.7.2")
			m.Gateway = &gatewayModel{Name: types.StringValue(name), Namespace: nullable(ns), SectionName: nullable(section),
				WaitForLB: types.BoolNull(), LBTimeout: types.StringNull()}
		}
	}
	ing := func(m *instanceModel) {
		m.Version = types.StringValue("v4.7.2")
		m.Ingress = &ingressModel{Annotations: types.MapNull(types.StringType)}
	}
	none := func(m *instanceModel) { m.Version = types.StringValue("v4.7.2") }
	const was = "198.51.100.1"
	for _, tc := range []struct {
		name     string
		from, to func(m *instanceModel)
		want     string // "?" for unknown, "" for null
	}{
		{"same Gateway", gw("public", "", ""), gw("public", "", ""), was},
		{"another listener of it", gw("public", "", "http"), gw("public", "", "https"), was},
		{"another Gateway", gw("public", "", ""), gw("internal", "", ""), "?"},
		{"a Gateway of another namespace", gw("public", "", ""), gw("public", "infra", ""), "?"},
		{"gateway -> ingress", gw("public", "", ""), ing, "?"},
		{"ingress -> gateway", ing, gw("public", "", ""), "?"},
		{"ingress stays", ing, ing, was},
		{"gateway removed", gw("public", "", ""), none, ""},
	} {
		prior := h.config(tc.from)
		prior.LoadBalancerIP = types.StringValue(was)
		state, p := h.proposed(prior, h.config(tc.to), nil)
		plan, _, d := planComputed(ctx, state, p)
		h.check(d)
		var ip types.String
		h.check(plan.GetAttribute(ctx, path.Root("load_balancer_ip"), &ip))
		got := ip.ValueString()
		if ip.IsUnknown() {
			got = "?"
		}
		if got != tc.want {
			t.Errorf("%s: load_balancer_ip planned %q, want %q", tc.name, got, tc.want)
		}
	}
}
