package mastodon

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Gateway routes the instance's domains through a Gateway of the Gateway
// API (gateway.networking.k8s.io/v1) that someone else runs: the instance
// renders HTTPRoutes attached to it and only reads the Gateway. It is the
// alternative to Ingress: a Spec has one of them, or neither.
type Gateway struct {
	// Name and Namespace of the Gateway (Namespace defaults to the
	// instance's).
	Name, Namespace string
	// SectionName is the Gateway's listener the routes attach to ("" for
	// every listener that allows them).
	SectionName string
}

// Service ports the routes send to: web's and streaming's Services
// (Spec.service). An HTTPRoute's backend names a port by number only.
const (
	WebServicePort       = 3000
	StreamingServicePort = 4000
)

// GatewayAPIVersion is the version of the Gateway API the routes are
// rendered in and the Gateway is read in.
const GatewayAPIVersion = "gateway.networking.k8s.io/v1"

// LocalDomainRouteName is the HTTPRoute of the well-known paths of the
// local domain on split domains (WEB_DOMAIN != LOCAL_DOMAIN) and of the
// alternate domains (handleHosts).
func (s *Spec) LocalDomainRouteName() string { return s.Name + "-local-domain" }

// StreamingRouteName is the HTTPRoute of the streaming domain.
func (s *Spec) StreamingRouteName() string { return s.Name + "-streaming" }

// RouteNames are the HTTPRoutes the instance renders with a gateway: the
// web domain's, then the handle domains', then the streaming domain's.
func (s *Spec) RouteNames() []string {
	if s.Gateway == nil {
		return nil
	}
	names := []string{s.Name}
	if len(s.handleHosts()) > 0 {
		names = append(names, s.LocalDomainRouteName())
	}
	if s.Domains.Streaming != "" {
		names = append(names, s.StreamingRouteName())
	}
	return names
}

// gatewayFeature renders the HTTPRoutes (Spec.Gateway).
type gatewayFeature struct{ noFeature }

func (gatewayFeature) defaults(s *Spec) {
	if s.Gateway != nil {
		setDefault(&s.Gateway.Namespace, s.Namespace)
	}
}

// validate refuses a gateway beside an ingress: two ways in, routed by two
// controllers, each with its own address.
func (gatewayFeature) validate(s *Spec, e *fieldErrors) {
	if s.Gateway != nil && s.Ingress != nil {
		e.add("gateway", "conflicts with ingress: route the instance through an Ingress (ingress) or a Gateway's HTTPRoutes (gateway), not both")
		e.related("ingress")
	}
}

func (gatewayFeature) objects(s *Spec, at stage) []Object {
	if s.Gateway == nil || at != afterWorkloads {
		return nil
	}
	var out []Object
	for _, r := range s.renderRoutes() {
		out = append(out, NewObject(r))
	}
	return out
}

// httpRoute is the Gateway API's HTTPRoute, the part we set.
type httpRoute struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		ParentRefs []parentReference `json:"parentRefs"`
		Hostnames  []string          `json:"hostnames"`
		Rules      []httpRouteRule   `json:"rules"`
	} `json:"spec"`
}

type parentReference struct {
	Group       string `json:"group"`
	Kind        string `json:"kind"`
	Namespace   string `json:"namespace"`
	Name        string `json:"name"`
	SectionName string `json:"sectionName,omitempty"`
}

type httpRouteRule struct {
	Matches     []httpRouteMatch `json:"matches"`
	BackendRefs []backendRef     `json:"backendRefs"`
}

type httpRouteMatch struct {
	Path struct {
		Type  string `json:"type"`
		Value string `json:"value"`
	} `json:"path"`
}

type backendRef struct {
	Name string `json:"name"`
	Port int32  `json:"port"`
}

// renderRoutes are the routes of the Ingress's rules (renderIngress): the
// web domain's `/` to web and `/api/v1/streaming` to streaming (the longest
// matching prefix wins, as in an Ingress); on split domains, a second route
// for the local domain's well-known paths, to web. A route's hostnames hold
// for all its rules, so the local domain's paths need a route of their
// own, and so do the alternate domains' (the same paths, in the same
// route) and the streaming domain's (everything to streaming). No request
// body limit is set: HTTPRoute has no field for it.
func (s *Spec) renderRoutes() []*httpRoute {
	g := s.Gateway
	rule := func(path, service string, port int32) httpRouteRule {
		m := httpRouteMatch{}
		m.Path.Type, m.Path.Value = "PathPrefix", path
		return httpRouteRule{Matches: []httpRouteMatch{m}, BackendRefs: []backendRef{{Name: service, Port: port}}}
	}
	route := func(name string, hosts []string, rules []httpRouteRule) *httpRoute {
		r := &httpRoute{TypeMeta: typeMeta(GatewayAPIVersion, "HTTPRoute"), ObjectMeta: s.meta(name, ComponentIngress)}
		r.Spec.ParentRefs = []parentReference{{Group: "gateway.networking.k8s.io", Kind: "Gateway",
			Namespace: g.Namespace, Name: g.Name, SectionName: g.SectionName}}
		r.Spec.Hostnames = hosts
		r.Spec.Rules = rules
		return r
	}
	out := []*httpRoute{route(s.Name, []string{s.Domain()}, []httpRouteRule{
		rule("/api/v1/streaming", s.StreamingName(), StreamingServicePort),
		rule("/", s.WebName(), WebServicePort),
	})}
	if hosts := s.handleHosts(); len(hosts) > 0 {
		var rules []httpRouteRule
		for _, p := range wellKnownPaths {
			rules = append(rules, rule(p, s.WebName(), WebServicePort))
		}
		out = append(out, route(s.LocalDomainRouteName(), hosts, rules))
	}
	if h := s.Domains.Streaming; h != "" {
		out = append(out, route(s.StreamingRouteName(), []string{h}, []httpRouteRule{rule("/", s.StreamingName(), StreamingServicePort)}))
	}
	return out
}

// CheckGatewayName checks the name of a Gateway, or of its listener
// (section_name): both are DNS subdomains.
func CheckGatewayName(v string) error {
	if v != "" && len(validation.IsDNS1123Subdomain(v)) > 0 {
		return fmt.Errorf("%q is not a valid name: lowercase letters, digits, '-' and '.', at most 253 characters", v)
	}
	return nil
}
