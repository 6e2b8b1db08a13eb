package mastodon

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
)

func domainsSpec(in *Ingress, g *Gateway) *Spec {
	s := &Spec{Name: "social", Namespace: "mastodon", LocalDomain: "social.example", WebDomain: "www.social.example", WebReplicas: 1, StreamReplicas: 1,
		Ingress: in, Gateway: g, Domains: Domains{Alternate: []string{"social.example.net", "mastodon.example.org"}, Streaming: "streaming.social.example",
			CDNHost: "https://assets.social.example"}}
	s.Defaults()
	return s
}

// What Mastodon reads of the three variables (Mastodon v4.6.5):
//   - config/initializers/1_hosts.rb: ALTERNATE_DOMAINS split on commas
//     (`split(/\s*,\s*/)`) into config.x.alternate_domains, each added to
//     config.hosts (Rails' host authorization); app/lib/webfinger_resource.rb
//     resolves acct:user@<alternate> as local.
//   - the same file: STREAMING_API_BASE_URL, default "wss://" + WEB_DOMAIN
//     in production; it is what the instance API (app/serializers/rest/
//     instance_serializer.rb, `streaming`) and the web app's initial state
//     tell clients, and config/initializers/content_security_policy.rb adds
//     it to connect-src: a URL with the wss scheme, no path (the clients
//     append /api/v1/streaming).
//   - config/environments/production.rb: `config.asset_host =
//     ENV['CDN_HOST']` when present, the origin of every asset URL
//     (app/helpers/routing_helper.rb) and of the CSP's script and style
//     sources (app/lib/content_security_policy.rb).
func TestDomainsContract(t *testing.T) {
	s := domainsSpec(&Ingress{TLSSecretName: "tls"}, nil)
	plain, secret := s.Environment(fixedSecrets)
	want := map[string]string{"ALTERNATE_DOMAINS": "social.example.net,mastodon.example.org",
		"STREAMING_API_BASE_URL": "wss://streaming.social.example", "CDN_HOST": "https://assets.social.example"}
	for k, v := range want {
		if plain[k] != v {
			t.Errorf("%s = %q, want %q", k, plain[k], v)
		}
		if _, ok := secret[k]; ok {
			t.Errorf("%s in the Secret", k)
		}
	}
	// Mastodon's own split of what is rendered gives the domains back.
	if got := strings.Split(plain["ALTERNATE_DOMAINS"], ","); !slices.Equal(got, s.Domains.Alternate) {
		t.Errorf("split: %v", got)
	}
	// Unset, the streaming URL is Mastodon's production default (the web
	// domain's), the others are not rendered.
	s.Domains = Domains{}
	plain, _ = s.Environment(fixedSecrets)
	for k := range want {
		if _, ok := plain[k]; ok && k != "STREAMING_API_BASE_URL" {
			t.Errorf("%s rendered without its attribute", k)
		}
	}
	if got := plain["STREAMING_API_BASE_URL"]; got != "wss://www.social.example" {
		t.Errorf("STREAMING_API_BASE_URL unset: %q", got)
	}
}

// The Ingress sends the alternate domains' well-known paths to web, like
// the local domain's, and all of the streaming domain to streaming; the
// HTTPRoutes route the same.
func TestDomainsRouting(t *testing.T) {
	s := domainsSpec(&Ingress{TLSSecretName: "tls"}, nil)
	if errs := s.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	objs := s.Render(fixedSecrets, "")
	golden(t, "domains-ingress.yaml", renderYAML(t, ofKind(objs, "Ingress")))
	ingress := ingressRouting(t, objs)
	wellKnown := map[string]string{}
	for _, p := range wellKnownPaths {
		wellKnown[p] = "social-web:3000"
	}
	want := routing{
		"www.social.example":       {"/": "social-web:3000", "/api/v1/streaming": "social-streaming:4000"},
		"social.example":           wellKnown,
		"social.example.net":       wellKnown,
		"mastodon.example.org":     wellKnown,
		"streaming.social.example": {"/": "social-streaming:4000"},
	}
	if !reflect.DeepEqual(ingress, want) {
		t.Errorf("the Ingress routes\n  %v\nwant\n  %v", ingress, want)
	}
	g := domainsSpec(nil, &Gateway{Name: "public"})
	gobjs := g.Render(fixedSecrets, "")
	if routes := routeRouting(t, gobjs, *g.Gateway); !reflect.DeepEqual(routes, want) {
		t.Errorf("the routes route\n  %v\nwant\n  %v", routes, want)
	}
	if got := g.RouteNames(); !slices.Equal(got, []string{"social", "social-local-domain", "social-streaming"}) {
		t.Errorf("route names %v", got)
	}
	var names []string
	for _, o := range ofKind(gobjs, "HTTPRoute") {
		names = append(names, o.Name)
	}
	if !slices.Equal(names, g.RouteNames()) {
		t.Errorf("rendered routes %v, named %v", names, g.RouteNames())
	}
	// Alternate domains alone, on one domain: the well-known route holds
	// them only.
	one := domainsSpec(nil, &Gateway{Name: "public"})
	one.WebDomain, one.Domains.Streaming = "", ""
	if got := one.RouteNames(); !slices.Equal(got, []string{"social", "social-local-domain"}) {
		t.Errorf("route names %v", got)
	}
}

// The certificate: cert-manager's is issued for every host listed; an
// existing Secret's is not known to cover them, which the plan warns of,
// naming each.
func TestDomainsCertificate(t *testing.T) {
	s := domainsSpec(&Ingress{Annotations: map[string]string{"cert-manager.io/cluster-issuer": "letsencrypt"}}, nil)
	ing := rendered[networkingv1.Ingress](t, s.Render(fixedSecrets, ""), "Ingress", "social")
	if got := ing.Spec.TLS[0].Hosts; !slices.Equal(got, []string{"www.social.example", "social.example", "social.example.net", "mastodon.example.org", "streaming.social.example"}) {
		t.Errorf("cert-manager's hosts %v", got)
	}
	if w := s.Warnings(); len(w) != 0 {
		t.Errorf("warnings with cert-manager: %v", w)
	}
	s = domainsSpec(&Ingress{TLSSecretName: "tls"}, nil)
	var msgs []string
	for _, w := range s.Warnings() {
		msgs = append(msgs, w.Message)
	}
	all := strings.Join(msgs, "\n")
	for _, h := range []string{"local_domain social.example", "alternate domain social.example.net", "alternate domain mastodon.example.org", "streaming_domain streaming.social.example"} {
		if !strings.Contains(all, "cover "+h+":") {
			t.Errorf("no warning for %s in\n%s", h, all)
		}
	}
}

// Refused at plan: a name given for what it already is, or twice; an
// asset origin that is no https URL; the variables in the free-form
// environment, whether the attributes are set or not.
func TestDomainsRefusals(t *testing.T) {
	for _, c := range []struct {
		name, path string
		change     func(s *Spec)
	}{
		{"streaming on the web domain", "streaming_domain", func(s *Spec) { s.Domains.Streaming = "www.social.example" }},
		{"an alternate that is the local domain", "alternate_domains[1]", func(s *Spec) { s.Domains.Alternate[1] = "social.example" }},
		{"an alternate that is the streaming domain", "alternate_domains[0]", func(s *Spec) { s.Domains.Alternate[0] = "streaming.social.example" }},
		{"an alternate twice", "alternate_domains[1]", func(s *Spec) { s.Domains.Alternate[1] = s.Domains.Alternate[0] }},
		{"ALTERNATE_DOMAINS in extra_env", "settings.extra_env", func(s *Spec) {
			s.Domains = Domains{}
			s.Settings.ExtraEnv = map[string]string{"ALTERNATE_DOMAINS": "a.example"}
		}},
		{"STREAMING_API_BASE_URL in extra_env", "settings.extra_env", func(s *Spec) {
			s.Settings.ExtraEnv = map[string]string{"STREAMING_API_BASE_URL": "wss://s.example"}
		}},
		{"CDN_HOST in extra_secret_env", "settings.extra_secret_env", func(s *Spec) {
			s.Settings.ExtraSecretEnv = map[string]string{"CDN_HOST": "https://cdn.example"}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := domainsSpec(&Ingress{TLSSecretName: "tls"}, nil)
			c.change(s)
			if p := errorPaths(s.Validate()); !slices.Contains(p, c.path) {
				t.Errorf("want an error at %s, got %v", c.path, s.Validate())
			}
		})
	}
	for _, v := range []string{"http://cdn.example", "cdn.example", "https://cdn.example/?v=1", "https://u:p@cdn.example"} {
		if CheckCDNHost(v) == nil {
			t.Errorf("cdn_host %q accepted", v)
		}
	}
	for _, v := range []string{"", "https://cdn.example", "https://cdn.example/mastodon"} {
		if err := CheckCDNHost(v); err != nil {
			t.Errorf("cdn_host %q: %v", v, err)
		}
	}
}
