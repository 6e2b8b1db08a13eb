package kube

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// GatewayRoutes are HTTPRoutes of one namespace attached to one Gateway of
// the Gateway API, which someone else runs: the provider only reads it
// (get), never lists, watches or writes it.
type GatewayRoutes struct {
	// Namespace and Name of the Gateway; Section its listener ("" for all).
	Namespace, Name, Section string
	// RouteNamespace and Routes name the HTTPRoutes.
	RouteNamespace string
	Routes         []string
}

func (g GatewayRoutes) gateway() string { return "Gateway " + g.Namespace + "/" + g.Name }

// GatewayState is what one read of a Gateway and its routes found.
type GatewayState struct {
	// Missing: the Gateway does not exist (or the cluster does not serve
	// Gateways).
	Missing bool
	// IP and Hostname are the first addresses of each type the Gateway's
	// status.addresses holds ("" when none).
	IP, Hostname string
	// Pending are the routes that no controller has accepted yet for this
	// Gateway (no status for its current generation).
	Pending []string
	// Refused is set when a controller refused a route: Accepted or
	// ResolvedRefs False, with the reason and message.
	Refused error
}

// Addressed says whether the Gateway has an address and every route is
// accepted.
func (st GatewayState) Addressed() bool {
	return !st.Missing && (st.IP != "" || st.Hostname != "") && len(st.Pending) == 0 && st.Refused == nil
}

// ErrRouteRefused marks a route a Gateway's controller refused: waiting
// longer does not help.
var ErrRouteRefused = errors.New("route refused")

// GatewayAddress is the first IP address and host name a Gateway's
// status.addresses reports ("" when none); an address without a type is
// an IP address (the API's default).
func GatewayAddress(gw *unstructured.Unstructured) (ip, hostname string) {
	addrs, _, _ := unstructured.NestedSlice(gw.Object, "status", "addresses")
	for _, a := range addrs {
		m, _ := a.(map[string]any)
		typ, _ := m["type"].(string)
		v, _ := m["value"].(string)
		switch {
		case (typ == "" || typ == "IPAddress") && ip == "":
			ip = v
		case typ == "Hostname" && hostname == "":
			hostname = v
		}
	}
	return ip, hostname
}

// RouteStatus reads what the controllers of one Gateway (namespace/name,
// listener section, "" for any) say of an HTTPRoute: accepted (Accepted
// True for the route's current generation), or refused with the reason and
// message of the condition that is False (Accepted or ResolvedRefs); with
// neither, no controller has answered yet.
func RouteStatus(route *unstructured.Unstructured, namespace, name, section string) (accepted bool, refused string) {
	parents, _, _ := unstructured.NestedSlice(route.Object, "status", "parents")
	for _, p := range parents {
		pm, _ := p.(map[string]any)
		ref, _ := pm["parentRef"].(map[string]any)
		refNS, _ := ref["namespace"].(string)
		if refNS == "" {
			refNS = route.GetNamespace()
		}
		refSection, _ := ref["sectionName"].(string)
		if kind, _ := ref["kind"].(string); (kind != "" && kind != "Gateway") || ref["name"] != name || refNS != namespace || refSection != section {
			continue
		}
		conds, _ := pm["conditions"].([]any)
		for _, c := range conds {
			cm, _ := c.(map[string]any)
			if gen, ok := cm["observedGeneration"].(int64); ok && gen < route.GetGeneration() {
				continue // about an earlier spec
			}
			status, _ := cm["status"].(string)
			switch cm["type"] {
			case "Accepted":
				switch status {
				case "True":
					accepted = true
				case "False":
					refused = conditionText(pm, cm)
				}
			case "ResolvedRefs":
				if status == "False" && refused == "" {
					refused = conditionText(pm, cm)
				}
			}
		}
		if refused != "" {
			return false, refused
		}
	}
	return accepted, ""
}

func conditionText(parent, cond map[string]any) string {
	ctl, _ := parent["controllerName"].(string)
	return fmt.Sprintf("%v=%v (reason %v: %v), reported by %s", cond["type"], cond["status"], cond["reason"], cond["message"], ctl)
}

// GatewayStatus reads a Gateway and its routes once.
func (c *Client) GatewayStatus(ctx context.Context, g GatewayRoutes) (GatewayState, error) {
	var st GatewayState
	gw, err := c.Get(ctx, "Gateway", g.Namespace, g.Name)
	if err != nil {
		return st, err
	}
	if gw == nil {
		st.Missing = true
		return st, nil
	}
	st.IP, st.Hostname = GatewayAddress(gw)
	var refusals []string
	for _, name := range g.Routes {
		r, err := c.Get(ctx, "HTTPRoute", g.RouteNamespace, name)
		if err != nil {
			return st, err
		}
		if r == nil {
			st.Pending = append(st.Pending, name)
			continue
		}
		accepted, refused := RouteStatus(r, g.Namespace, g.Name, g.Section)
		switch {
		case refused != "":
			refusals = append(refusals, fmt.Sprintf("HTTPRoute %s/%s: %s", g.RouteNamespace, name, refused))
		case !accepted:
			st.Pending = append(st.Pending, name)
		}
	}
	if len(refusals) > 0 {
		st.Refused = fmt.Errorf("%w by %s: %s", ErrRouteRefused, g.gateway(), strings.Join(refusals, "; "))
	}
	return st, nil
}

// GatewayPoll is how often WaitGatewayAddress reads the Gateway again: it
// polls with get, the one permission a Gateway of someone else needs.
var GatewayPoll = 2 * time.Second

// WaitGatewayAddress waits until the Gateway reports an address and its
// controller accepted every route, and returns the address. A refused
// route ends the wait at once (an error wrapping ErrRouteRefused); at the
// deadline, the error says what was missing.
func (c *Client) WaitGatewayAddress(ctx context.Context, g GatewayRoutes) (ip, hostname string, err error) {
	t := time.NewTicker(GatewayPoll)
	defer t.Stop()
	for {
		st, err := c.GatewayStatus(ctx, g)
		switch {
		case err != nil && ctx.Err() == nil:
			return "", "", err
		case err == nil && st.Refused != nil:
			return "", "", st.Refused
		case err == nil && st.Addressed():
			return st.IP, st.Hostname, nil
		}
		select {
		case <-ctx.Done():
			return "", "", fmt.Errorf("%w: %s", ctx.Err(), st.waitingFor(g))
		case <-t.C:
		}
	}
}

// waitingFor says what a wait still lacked.
func (st GatewayState) waitingFor(g GatewayRoutes) string {
	var out []string
	switch {
	case st.Missing:
		out = append(out, g.gateway()+" does not exist")
	case st.IP == "" && st.Hostname == "":
		out = append(out, g.gateway()+" reports no address (status.addresses)")
	}
	if len(st.Pending) > 0 && !st.Missing {
		out = append(out, fmt.Sprintf("no controller of %s accepted HTTPRoute %s (status.parents)", g.gateway(), strings.Join(st.Pending, ", ")))
	}
	return strings.Join(out, "; ")
}
