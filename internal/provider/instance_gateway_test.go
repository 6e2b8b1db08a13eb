package provider

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/types"

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
