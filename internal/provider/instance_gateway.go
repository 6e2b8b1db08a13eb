package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/tootform/terraform-provider-mastodon/internal/kube"
	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

// gatewayModel is the Gateway the instance's HTTPRoutes attach to.
type gatewayModel struct {
	Name        types.String `tfsdk:"name"`
	Namespace   types.String `tfsdk:"namespace"`
	SectionName types.String `tfsdk:"section_name"`
	WaitForLB   types.Bool   `tfsdk:"wait_for_load_balancer"`
	LBTimeout   types.String `tfsdk:"load_balancer_timeout"`
}

var checkGatewayName = stringCheck{described: "a Gateway's or listener's name", check: mastodon.CheckGatewayName}

func gatewayAttributes(in nested) map[string]schema.Attribute {
	return map[string]schema.Attribute{"gateway": optionalBlock(in, "gateway",
		"Route the instance through a Gateway of the Kubernetes Gateway API instead of an Ingress (conflicts with `ingress`): "+
			"the instance renders an HTTPRoute (`gateway.networking.k8s.io/v1`) named after it, attached to the Gateway, with the Ingress's routing: "+
			"the web domain's `/` to web and `/api/v1/streaming` to streaming; when `web_domain` differs from `local_domain`, a second HTTPRoute "+
			"(`<name>-local-domain`) sends the local domain's `/.well-known/webfinger`, `host-meta` and `nodeinfo` to web. "+
			"The Gateway is someone else's: the provider only reads it (its `status.addresses` fill `load_balancer_ip` and `load_balancer_hostname`) and "+
			"never creates or changes it; its listener holds the certificate, which must cover the web domain (and the local domain on split domains). "+
			"An apply fails before changing anything when the cluster does not serve HTTPRoutes (the Gateway API's CRDs) or the Gateway does not exist, "+
			"and fails when the Gateway's controller refuses a route (`Accepted` or `ResolvedRefs` False in the route's `status.parents`), with its reason. "+
			"HTTPRoute has no field for the request body limit: Mastodon's uploads need 99 MB (`client_max_body_size 99m` in its own nginx "+
			"configuration), so raise the limit where the Gateway's implementation sets one, in its own policy resources. "+
			"Switching between `ingress` and `gateway` deletes the provider's old Ingress or HTTPRoutes (only those carrying the instance's owner labels) "+
			"and changes no Service, Deployment or Secret.",
		map[string]schema.Attribute{
			"name": checkGatewayName.on(schema.StringAttribute{Required: true, Description: "The Gateway's name."}),
			"namespace": checkNamespace.on(optString("The Gateway's namespace (default: the instance's). A Gateway in another namespace must allow routes " +
				"from the instance's (its listener's `allowedRoutes`).")),
			"section_name": checkGatewayName.on(optString("The Gateway's listener to attach to (`sectionName` of the parent reference); " +
				"default: every listener that allows the routes.")),
			"wait_for_load_balancer": optBool("Whether the apply that adds the routes (or moves them to another Gateway) waits until the Gateway reports " +
				"an address in `status.addresses` and its controller accepted the routes (default true), so that `load_balancer_ip` or " +
				"`load_balancer_hostname` is known when the apply ends and a DNS record fed from it in the same apply gets it. The wait is bounded by " +
				"`load_balancer_timeout`; when that runs out the apply succeeds with a warning naming what was missing, and the address stays null " +
				"until a later apply reads it. A route refused by the controller fails the apply at once."),
			"load_balancer_timeout": schema.StringAttribute{Optional: true,
				Validators: []validator.String{durationValidator{"a positive duration such as `5m` or `90s`"}},
				Description: "How long the apply that adds the routes waits for the Gateway's address and the routes' acceptance, as a Go duration such as `5m` (default `10m`). " +
					"Counted within the create or update timeout."},
		})}
}

func gatewaySpec(_ context.Context, m *instanceModel, s *mastodon.Spec, _ *diag.Diagnostics) {
	if g := m.Gateway; g != nil {
		s.Gateway = &mastodon.Gateway{Name: g.Name.ValueString(), Namespace: g.Namespace.ValueString(), SectionName: g.SectionName.ValueString()}
	}
}

// gatewayRoutes are the instance's routes and their Gateway, to read.
func gatewayRoutes(s *mastodon.Spec) kube.GatewayRoutes {
	return kube.GatewayRoutes{Namespace: s.Gateway.Namespace, Name: s.Gateway.Name, Section: s.Gateway.SectionName,
		RouteNamespace: s.Namespace, Routes: s.RouteNames()}
}

// gatewayCheckStep refuses, before anything changes, a gateway on a
// cluster that does not serve HTTPRoutes, or whose Gateway does not exist:
// routes attached to nothing would leave the instance unreachable, and
// the address a DNS record waits for would never come.
func (a *instanceApply) gatewayCheckStep() *applyStep {
	s := a.spec
	if s.Gateway == nil {
		return nil
	}
	g := gatewayRoutes(s)
	return &applyStep{"the Gateway " + g.Namespace + "/" + g.Name, untouched, func(ctx context.Context) error {
		served, err := a.c.Serves(ctx, "HTTPRoute")
		if err != nil {
			return err
		}
		if !served {
			return fmt.Errorf("gateway: the cluster does not serve HTTPRoutes (%s): install the Gateway API's CRDs (standard channel), "+
				"or route the instance through an Ingress (ingress) instead", mastodon.GatewayAPIVersion)
		}
		st, err := a.c.GatewayStatus(ctx, g)
		if err != nil {
			return err
		}
		if st.Missing {
			return fmt.Errorf("gateway: Gateway %s/%s (gateway.name, gateway.namespace) does not exist. The provider never creates a Gateway: "+
				"create it first (or make this instance depend on what creates it), or fix the name", g.Namespace, g.Name)
		}
		return nil
	}, "Cannot route the instance through the Gateway"}
}

// learnGatewayAddress fills the address the plan left unknown from the
// Gateway's status, as learnLoadBalancer does from an Ingress's: unless
// wait_for_load_balancer is false, the apply waits until the Gateway has
// an address and its controller accepted the routes, at most
// load_balancer_timeout, and warns when the time runs out. A refused route
// is an error.
func (a *instanceApply) learnGatewayAddress(ctx context.Context) error {
	g := gatewayRoutes(a.spec)
	wait, timeout := loadBalancerWait(a.plan.Gateway.WaitForLB, a.plan.Gateway.LBTimeout)
	if !wait {
		st, err := a.c.GatewayStatus(ctx, g)
		if err == nil && st.Refused != nil {
			return st.Refused
		}
		if err == nil {
			a.plan.LoadBalancerIP, a.plan.LoadBalancerHostname = nullable(st.IP), nullable(st.Hostname)
		}
		return nil
	}
	a.log(fmt.Sprintf("waiting for the address of Gateway %s/%s and the acceptance of HTTPRoute %s (at most %s)",
		g.Namespace, g.Name, strings.Join(g.Routes, ", "), timeout))
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ip, host, err := a.c.WaitGatewayAddress(wctx, g)
	switch {
	case err == nil:
		a.plan.LoadBalancerIP, a.plan.LoadBalancerHostname = nullable(ip), nullable(host)
		return nil
	case errors.Is(err, kube.ErrRouteRefused):
		return err
	}
	a.warnings = append(a.warnings, fmt.Sprintf("Gateway %s/%s: no address and accepted routes within %s (%v), so load_balancer_ip and "+
		"load_balancer_hostname are null after this apply, and a DNS record fed from them in this apply got nothing. "+
		"The instance itself is ready. Check that a controller runs the Gateway's class and that the listener allows routes from namespace %s "+
		"(kubectl describe gateway and kubectl describe httproute show their conditions); once the Gateway reports an address, "+
		"`terraform apply` reads it and updates what depends on it. Set gateway.wait_for_load_balancer = false to skip the wait.",
		g.Namespace, g.Name, timeout, err, a.spec.Namespace))
	return nil
}

// frontOf is what decides the load balancer's address in a plan's or
// state's configuration: "" for no way in, "ingress", or the Gateway
// ("gateway <namespace>/<name>"); unknown while that is not known.
func frontOf(ingress, gateway types.Object) (front string, unknown bool) {
	switch {
	case ingress.IsUnknown() || gateway.IsUnknown():
		return "", true
	case !ingress.IsNull():
		return "ingress", false
	case gateway.IsNull():
		return "", false
	}
	attrs := gateway.Attributes()
	name, ns := attrs["name"], attrs["namespace"]
	if name == nil || ns == nil || name.IsUnknown() || ns.IsUnknown() {
		return "", true
	}
	return "gateway " + ns.(types.String).ValueString() + "/" + name.(types.String).ValueString(), false
}
