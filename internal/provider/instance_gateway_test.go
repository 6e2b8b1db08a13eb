package provider

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	dynamicfake "k8s.io/client-go/dynamic/fake"

	"github.com/tootform/terraform-provider-mastodon/internal/kube"
	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

func withGateway(m *instanceModel, wait bool) *instanceModel {
	m.Gateway = &gatewayModel{Name: types.StringValue("public"), Namespace: types.StringValue("infra"), SectionName: types.StringNull(),
		WaitForLB: types.BoolValue(wait), LBTimeout: types.StringNull()}
	return m
}

// The Gateway is checked before anything changes: a cluster that serves
// no HTTPRoutes, or a Gateway that does not exist, fails the apply naming
// gateway, with nothing created. A route the controller refuses fails the
// apply (after the rollout: the instance runs); a Gateway that never
// reports an address is a warning, the address null.
func TestApplyGateway(t *testing.T) {
	refused := fmt.Errorf("%w by Gateway infra/public: HTTPRoute ns/social: Accepted=False (reason NotAllowedByListeners: no)", kube.ErrRouteRefused)
	for _, c := range []struct {
		name    string
		f       *fakeCluster
		wait    bool
		steps   []string
		failure string // in the error, "" for none
		warning string // in the warnings
	}{
		{name: "HTTPRoutes not served", f: &fakeCluster{unserved: true}, wait: true,
			steps: []string{"serves HTTPRoute"}, failure: "gateway: the cluster does not serve HTTPRoutes (gateway.networking.k8s.io/v1)"},
		{name: "no Gateway", f: &fakeCluster{noGateway: true}, wait: true,
			steps: []string{"serves HTTPRoute", "read the gateway"}, failure: "gateway: Gateway infra/public (gateway.name, gateway.namespace) does not exist"},
		{name: "addressed", f: &fakeCluster{}, wait: true,
			steps: []string{"serves HTTPRoute", "read the gateway", "create Namespace", "apply ConfigMap", "job db-prepare", "apply Deployment", "prune", "wait for the gateway"}},
		{name: "route refused", f: &fakeCluster{gatewayWait: refused}, wait: true,
			steps:   []string{"serves HTTPRoute", "read the gateway", "create Namespace", "apply ConfigMap", "job db-prepare", "apply Deployment", "prune", "wait for the gateway"},
			failure: "Accepted=False (reason NotAllowedByListeners: no)"},
		{name: "no address in time", f: &fakeCluster{gatewayWait: context.DeadlineExceeded}, wait: true,
			steps:   []string{"serves HTTPRoute", "read the gateway", "create Namespace", "apply ConfigMap", "job db-prepare", "apply Deployment", "prune", "wait for the gateway"},
			warning: "Gateway infra/public: no address and accepted routes within 10m0s"},
		{name: "not waiting", f: &fakeCluster{}, wait: false,
			steps: []string{"serves HTTPRoute", "read the gateway", "create Namespace", "apply ConfigMap", "job db-prepare", "apply Deployment", "prune", "read the gateway"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			plan := withGateway(model("v4.7.2", nil), c.wait)
			spec, d := plan.spec(ctx)
			if d.HasError() {
				t.Fatal(d)
			}
			a := newInstanceApply(c.f, spec, mastodon.Secrets{}, "", nil, plan, func(string) {})
			state, failed := a.run(ctx)
			if !slices.Equal(c.f.did, c.steps) {
				t.Errorf("did %q, want %q", c.f.did, c.steps)
			}
			switch {
			case c.failure == "" && failed != nil:
				t.Fatalf("failed: %s: %s", failed.title, failed.detail)
			case c.failure != "" && (failed == nil || !strings.Contains(failed.detail, c.failure)):
				t.Fatalf("failure %+v, want one saying %q", failed, c.failure)
			case c.failure != "" && len(c.steps) <= 2 && state != nil:
				t.Error("a create refused before anything changed records a state")
			}
			if c.warning != "" && !slices.ContainsFunc(a.warnings, func(w string) bool { return strings.Contains(w, c.warning) }) {
				t.Errorf("warnings %q, want one saying %q", a.warnings, c.warning)
			}
			if state != nil && (state.LoadBalancerIP.IsUnknown() || state.LoadBalancerHostname.IsUnknown()) {
				t.Error("unknown values left in state")
			}
		})
	}
	if !errors.Is(refused, kube.ErrRouteRefused) {
		t.Fatal("the refusal is not ErrRouteRefused")
	}
}

// A refresh reads the address from the Gateway (one get), nulls it when the
// Gateway is gone, and warns of that and of a route its controller refuses.
func TestReadGateway(t *testing.T) {
	ctx := context.Background()
	spec := testSpec()
	spec.Gateway = &mastodon.Gateway{Name: "public", Namespace: "infra"}
	gw := obj("Gateway", "public", nil)
	gw.SetNamespace("infra")
	_ = unstructured.SetNestedSlice(gw.Object, []any{map[string]any{"type": "Hostname", "value": "lb.example"},
		map[string]any{"type": "IPAddress", "value": "203.0.113.70"}}, "status", "addresses")
	route := obj("HTTPRoute", "social", nil)
	_ = unstructured.SetNestedSlice(route.Object, []any{map[string]any{"parentRef": map[string]any{"name": "public", "namespace": "infra"},
		"controllerName": "example.net/gw", "conditions": []any{map[string]any{"type": "Accepted", "status": "False", "reason": "NotAllowedByListeners", "message": "no"}}}},
		"status", "parents")
	read := func(c *kube.Client) *instanceRead {
		rd := &instanceRead{c: c, spec: spec, ns: "ns", name: "social", resp: &resource.ReadResponse{},
			live:  map[string]*unstructured.Unstructured{"HTTPRoute/ns/social": route},
			state: instanceModel{LoadBalancerIP: types.StringValue("198.51.100.1"), LoadBalancerHostname: types.StringNull()}}
		rd.readGateway(ctx)
		return rd
	}
	c := fakeClient()
	k, _ := kube.KindOf("Gateway")
	if err := c.Dynamic.(*dynamicfake.FakeDynamicClient).Tracker().Create(k.GVR, gw, "infra"); err != nil {
		t.Fatal(err)
	}
	rd := read(c)
	if rd.state.LoadBalancerIP.ValueString() != "203.0.113.70" || rd.state.LoadBalancerHostname.ValueString() != "lb.example" {
		t.Errorf("address %s %s", rd.state.LoadBalancerIP, rd.state.LoadBalancerHostname)
	}
	if w := rd.resp.Diagnostics.Warnings(); len(w) != 1 || !strings.Contains(w[0].Detail(), "refuses HTTPRoute social: Accepted=False (reason NotAllowedByListeners: no)") {
		t.Errorf("warnings %v", w)
	}
	rd = read(fakeClient())
	if !rd.state.LoadBalancerIP.IsNull() {
		t.Errorf("no Gateway: address %s", rd.state.LoadBalancerIP)
	}
	if w := rd.resp.Diagnostics.Warnings(); len(w) != 1 || !strings.Contains(w[0].Detail(), "Gateway infra/public (gateway.name, gateway.namespace) does not exist") {
		t.Errorf("no Gateway: warnings %v", w)
	}
}
