package mastodon

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func gatewaySpec(web string, g *Gateway) *Spec {
	s := &Spec{Name: "social", Namespace: "mastodon", LocalDomain: "social.example", WebDomain: web, WebReplicas: 1, StreamReplicas: 1, Gateway: g}
	s.Defaults()
	return s
}

func ofKind(objs []Object, kind string) []Object {
	var out []Object
	for _, o := range objs {
		if o.Kind == kind {
			out = append(out, o)
		}
	}
	return out
}

// The routes as rendered: split domains, a listener named, the Gateway in
// another namespace.
func TestRenderGatewayRoutes(t *testing.T) {
	s := gatewaySpec("www.social.example", &Gateway{Name: "public", Namespace: "infra", SectionName: "https"})
	if errs := s.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	golden(t, "gateway-split-domains.yaml", renderYAML(t, ofKind(s.Render(fixedSecrets, ""), "HTTPRoute")))
}

// routing is a way in as a table: host -> path prefix -> "Service:port".
type routing map[string]map[string]string

// ingressRouting reads the rules of a rendered Ingress, resolving each
// backend's named port to the number of the Service rendered beside it.
func ingressRouting(t *testing.T, objs []Object) routing {
	t.Helper()
	out := routing{}
	ing := ofKind(objs, "Ingress")
	if len(ing) != 1 {
		t.Fatalf("%d Ingresses", len(ing))
	}
	rules, _, _ := unstructured.NestedSlice(ing[0].Body, "spec", "rules")
	for _, r := range rules {
		rm := r.(map[string]any)
		host := rm["host"].(string)
		out[host] = map[string]string{}
		paths, _, _ := unstructured.NestedSlice(rm, "http", "paths")
		for _, p := range paths {
			pm := p.(map[string]any)
			if pm["pathType"] != "Prefix" {
				t.Fatalf("path type %v", pm["pathType"])
			}
			svc, _, _ := unstructured.NestedString(pm, "backend", "service", "name")
			port, _, _ := unstructured.NestedString(pm, "backend", "service", "port", "name")
			out[host][pm["path"].(string)] = svc + ":" + servicePort(t, objs, svc, port)
		}
	}
	return out
}

// servicePort is the number of a rendered Service's port, by name.
func servicePort(t *testing.T, objs []Object, svc, port string) string {
	t.Helper()
	for _, o := range ofKind(objs, "Service") {
		if o.Name != svc {
			continue
		}
		ports, _, _ := unstructured.NestedSlice(o.Body, "spec", "ports")
		for _, p := range ports {
			pm := p.(map[string]any)
			if pm["name"] == port {
				return fmt.Sprint(pm["port"])
			}
		}
	}
	t.Fatalf("no Service %s with port %s", svc, port)
	return ""
}

// routeRouting reads the rules of the rendered HTTPRoutes, checking that
// each attaches to the Gateway g only.
func routeRouting(t *testing.T, objs []Object, g Gateway) routing {
	t.Helper()
	out := routing{}
	for _, r := range ofKind(objs, "HTTPRoute") {
		if r.APIVersion != "gateway.networking.k8s.io/v1" {
			t.Errorf("HTTPRoute %s: apiVersion %s", r.Name, r.APIVersion)
		}
		parents, _, _ := unstructured.NestedSlice(r.Body, "spec", "parentRefs")
		want := map[string]any{"group": "gateway.networking.k8s.io", "kind": "Gateway", "namespace": g.Namespace, "name": g.Name}
		if g.SectionName != "" {
			want["sectionName"] = g.SectionName
		}
		if len(parents) != 1 || !reflect.DeepEqual(parents[0], want) {
			t.Errorf("HTTPRoute %s: parentRefs %v, want [%v]", r.Name, parents, want)
		}
		hosts, _, _ := unstructured.NestedStringSlice(r.Body, "spec", "hostnames")
		rules, _, _ := unstructured.NestedSlice(r.Body, "spec", "rules")
		for _, host := range hosts {
			if out[host] == nil {
				out[host] = map[string]string{}
			}
			for _, rule := range rules {
				rm := rule.(map[string]any)
				matches, backends := rm["matches"].([]any), rm["backendRefs"].([]any)
				if len(backends) != 1 {
					t.Fatalf("HTTPRoute %s: backendRefs %v", r.Name, backends)
				}
				b := backends[0].(map[string]any)
				for _, m := range matches {
					p := m.(map[string]any)["path"].(map[string]any)
					if p["type"] != "PathPrefix" {
						t.Fatalf("HTTPRoute %s: path type %v", r.Name, p["type"])
					}
					out[host][p["value"].(string)] = b["name"].(string) + ":" + fmt.Sprint(b["port"])
				}
			}
		}
	}
	return out
}

// The HTTPRoutes route exactly as the Ingress of the same instance does:
// the same hosts, path prefixes, Services and ports (the Ingress names
// ports, a route numbers them: both resolve to the Service's port).
func TestGatewayRoutesAsTheIngress(t *testing.T) {
	for _, web := range []string{"", "www.social.example"} {
		for _, g := range []Gateway{{Name: "public"}, {Name: "public", Namespace: "infra", SectionName: "https"}} {
			s := gatewaySpec(web, &g)
			routes := routeRouting(t, s.Render(fixedSecrets, ""), *s.Gateway)
			s.Gateway, s.Ingress = nil, &Ingress{TLSSecretName: "tls"}
			ingress := ingressRouting(t, s.Render(fixedSecrets, ""))
			if !reflect.DeepEqual(routes, ingress) {
				t.Errorf("web_domain %q, gateway %+v: the routes route\n  %v\nthe Ingress\n  %v", web, g, routes, ingress)
			}
			want := 1
			if web != "" {
				want = 2 // the local domain's well-known paths
			}
			if len(ingress) != want {
				t.Errorf("web_domain %q: %d hosts routed", web, len(ingress))
			}
		}
	}
}

// Without a namespace, the Gateway is in the instance's.
func TestGatewayNamespaceDefault(t *testing.T) {
	s := gatewaySpec("", &Gateway{Name: "public"})
	if s.Gateway.Namespace != "mastodon" {
		t.Errorf("namespace %q", s.Gateway.Namespace)
	}
	if got := s.RouteNames(); !slices.Equal(got, []string{"social"}) {
		t.Errorf("routes %v", got)
	}
	if got := gatewaySpec("www.social.example", &Gateway{Name: "public"}).RouteNames(); !slices.Equal(got, []string{"social", "social-local-domain"}) {
		t.Errorf("routes on split domains %v", got)
	}
}

// A switch between ingress and gateway changes the way in only: every
// other object (Services, Deployments and their Pod templates, Secrets,
// the ConfigMap) is the same, so no Pod rolls. The routes carry the
// instance's owner labels, which is what lets a prune delete them.
func TestGatewaySwitchChangesOnlyTheWayIn(t *testing.T) {
	for _, web := range []string{"", "www.social.example"} {
		s := gatewaySpec(web, &Gateway{Name: "public"})
		withRoutes := map[string]Object{}
		for _, o := range s.Render(fixedSecrets, "") {
			withRoutes[o.Key()] = o
		}
		s.Gateway, s.Ingress = nil, &Ingress{TLSSecretName: "tls"}
		withIngress := map[string]Object{}
		for _, o := range s.Render(fixedSecrets, "") {
			withIngress[o.Key()] = o
		}
		for _, k := range slices.Sorted(maps.Keys(withRoutes)) {
			o := withRoutes[k]
			if o.Kind == "HTTPRoute" {
				if _, ok := withIngress[k]; ok {
					t.Errorf("%s rendered with the Ingress", k)
				}
				if !OwnedByInstance(o.Unstructured().GetLabels()) {
					t.Errorf("%s does not carry the instance's owner labels: %v", k, o.Unstructured().GetLabels())
				}
				continue
			}
			if !reflect.DeepEqual(o.Body, withIngress[k].Body) {
				t.Errorf("web_domain %q: %s differs between gateway and ingress", web, k)
			}
		}
		for k := range withIngress {
			if _, ok := withRoutes[k]; !ok && !strings.HasPrefix(k, "Ingress/") {
				t.Errorf("web_domain %q: %s rendered with the Ingress only", web, k)
			}
		}
	}
}

func TestGatewayConflictsWithIngress(t *testing.T) {
	s := gatewaySpec("", &Gateway{Name: "public"})
	s.Ingress = &Ingress{TLSSecretName: "tls"}
	var found bool
	for _, e := range s.Validate() {
		if e.Path == "gateway" && strings.Contains(e.Message, "conflicts with ingress") && slices.Contains(e.Related, "ingress") {
			found = true
		}
	}
	if !found {
		t.Errorf("gateway beside ingress: %v", s.Validate())
	}
	s.Ingress = nil
	if errs := s.Validate(); len(errs) > 0 {
		t.Errorf("gateway alone: %v", errs)
	}
}

func TestCheckGatewayName(t *testing.T) {
	for v, ok := range map[string]bool{"": true, "public": true, "public-gw.example": true, "Public": false, "public_gw": false, "-x": false,
		strings.Repeat("a", 254): false} {
		if err := CheckGatewayName(v); (err == nil) != ok {
			t.Errorf("%q: %v", v, err)
		}
	}
}
