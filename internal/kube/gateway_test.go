package kube

import (
	"context"
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
)

func gatewayObj(addresses ...map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
		"metadata": map[string]any{"name": "public", "namespace": "infra"}}}
	if len(addresses) > 0 {
		var l []any
		for _, a := range addresses {
			l = append(l, a)
		}
		u.Object["status"] = map[string]any{"addresses": l}
	}
	return u
}

// routeObj is an HTTPRoute at generation 2 with the given status.parents.
func routeObj(name string, parents ...map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
		"metadata": map[string]any{"name": name, "namespace": "mastodon", "generation": int64(2)}}}
	if len(parents) > 0 {
		var l []any
		for _, p := range parents {
			l = append(l, p)
		}
		u.Object["status"] = map[string]any{"parents": l}
	}
	return u
}

func parentStatus(ns, section string, gen int64, conds ...map[string]any) map[string]any {
	ref := map[string]any{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "public"}
	if ns != "" {
		ref["namespace"] = ns
	}
	if section != "" {
		ref["sectionName"] = section
	}
	var l []any
	for _, c := range conds {
		c = maps.Clone(c)
		c["observedGeneration"] = gen
		l = append(l, c)
	}
	return map[string]any{"parentRef": ref, "controllerName": "example.net/gateway", "conditions": l}
}

func cond(typ, status, reason, msg string) map[string]any {
	return map[string]any{"type": typ, "status": status, "reason": reason, "message": msg}
}

func TestGatewayAddress(t *testing.T) {
	for name, tc := range map[string]struct {
		gw       *unstructured.Unstructured
		ip, host string
	}{
		"none":          {gatewayObj(), "", ""},
		"ip":            {gatewayObj(map[string]any{"type": "IPAddress", "value": "203.0.113.5"}), "203.0.113.5", ""},
		"untyped is ip": {gatewayObj(map[string]any{"value": "203.0.113.6"}), "203.0.113.6", ""},
		"hostname then ips": {gatewayObj(map[string]any{"type": "Hostname", "value": "lb.example"},
			map[string]any{"type": "IPAddress", "value": "203.0.113.7"}, map[string]any{"type": "IPAddress", "value": "203.0.113.8"}), "203.0.113.7", "lb.example"},
		"named address only": {gatewayObj(map[string]any{"type": "NamedAddress", "value": "x"}), "", ""},
	} {
		ip, host := GatewayAddress(tc.gw)
		if ip != tc.ip || host != tc.host {
			t.Errorf("%s: %q %q, want %q %q", name, ip, host, tc.ip, tc.host)
		}
	}
}

// A route's status is read for our Gateway (and listener) only, and only
// for its current generation.
func TestRouteStatus(t *testing.T) {
	accepted := cond("Accepted", "True", "Accepted", "")
	for name, tc := range map[string]struct {
		route    *unstructured.Unstructured
		section  string
		accepted bool
		refused  string
	}{
		"no status":      {route: routeObj("social")},
		"accepted":       {route: routeObj("social", parentStatus("infra", "", 2, accepted)), accepted: true},
		"stale":          {route: routeObj("social", parentStatus("infra", "", 1, accepted))},
		"other ns":       {route: routeObj("social", parentStatus("elsewhere", "", 2, accepted))},
		"other listener": {route: routeObj("social", parentStatus("infra", "http", 2, accepted)), section: "https"},
		"our listener":   {route: routeObj("social", parentStatus("infra", "https", 2, accepted)), section: "https", accepted: true},
		"refused": {route: routeObj("social", parentStatus("infra", "", 2, cond("Accepted", "False", "NotAllowedByListeners", "namespace mastodon not allowed"))),
			refused: "Accepted=False (reason NotAllowedByListeners: namespace mastodon not allowed), reported by example.net/gateway"},
		"backend unresolved": {route: routeObj("social", parentStatus("infra", "", 2, accepted, cond("ResolvedRefs", "False", "BackendNotFound", "no social-web"))),
			refused: "ResolvedRefs=False (reason BackendNotFound: no social-web)"},
		"stale refusal": {route: routeObj("social", parentStatus("infra", "", 1, cond("Accepted", "False", "NotAllowedByListeners", "old")))},
	} {
		accepted, refused := RouteStatus(tc.route, "infra", "public", tc.section)
		if accepted != tc.accepted || !strings.Contains(refused, tc.refused) || (tc.refused == "") != (refused == "") {
			t.Errorf("%s: accepted %v refused %q, want %v %q", name, accepted, refused, tc.accepted, tc.refused)
		}
	}
	// A parent reference without a namespace is in the route's.
	if ok, _ := RouteStatus(routeObj("social", parentStatus("", "", 2, accepted)), "mastodon", "public", ""); !ok {
		t.Error("a parent in the route's namespace: not accepted")
	}
}

func TestGatewayStatusAndWait(t *testing.T) {
	defer func(d time.Duration) { GatewayPoll = d }(GatewayPoll)
	GatewayPoll = 10 * time.Millisecond
	g := GatewayRoutes{Namespace: "infra", Name: "public", RouteNamespace: "mastodon", Routes: []string{"social", "social-local-domain"}}
	accepted := parentStatus("infra", "", 2, cond("Accepted", "True", "Accepted", ""))
	addressed := gatewayObj(map[string]any{"type": "IPAddress", "value": "203.0.113.9"})
	// Each object is added under its kind's resource: the fake's guess from
	// the kind would be "gatewaies".
	client := func(objs ...*unstructured.Unstructured) *Client {
		dyn := fakeDynamic()
		for _, o := range objs {
			k, _ := KindOf(o.GetKind())
			if err := dyn.Tracker().Create(k.GVR, o, o.GetNamespace()); err != nil {
				t.Fatal(err)
			}
		}
		return &Client{Dynamic: dyn, REST: &rest.Config{}}
	}
	ctx := context.Background()

	st, err := client().GatewayStatus(ctx, g)
	if err != nil || !st.Missing {
		t.Fatalf("no Gateway: %+v %v", st, err)
	}
	st, err = client(addressed, routeObj("social", accepted)).GatewayStatus(ctx, g)
	if err != nil || st.Addressed() || strings.Join(st.Pending, ",") != "social-local-domain" {
		t.Fatalf("one route missing: %+v %v", st, err)
	}
	c := client(addressed, routeObj("social", accepted), routeObj("social-local-domain", accepted))
	ip, host, err := c.WaitGatewayAddress(ctx, g)
	if err != nil || ip != "203.0.113.9" || host != "" {
		t.Fatalf("addressed and accepted: %q %q %v", ip, host, err)
	}
	refused := parentStatus("infra", "", 2, cond("Accepted", "False", "NotAllowedByListeners", "not from mastodon"))
	_, _, err = client(addressed, routeObj("social", accepted), routeObj("social-local-domain", refused)).WaitGatewayAddress(ctx, g)
	if !errors.Is(err, ErrRouteRefused) || !strings.Contains(err.Error(), "HTTPRoute mastodon/social-local-domain: Accepted=False (reason NotAllowedByListeners: not from mastodon)") {
		t.Fatalf("refused: %v", err)
	}
	// Never addressed: the deadline says what was missing.
	tctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	_, _, err = client(gatewayObj(), routeObj("social"), routeObj("social-local-domain", accepted)).WaitGatewayAddress(tctx, g)
	if err == nil || errors.Is(err, ErrRouteRefused) || !strings.Contains(err.Error(), "Gateway infra/public reports no address") ||
		!strings.Contains(err.Error(), "accepted HTTPRoute social (status.parents)") {
		t.Fatalf("never addressed: %v", err)
	}
}
