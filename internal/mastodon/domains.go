package mastodon

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// Domains are the names an instance answers to besides LOCAL_DOMAIN and
// WEB_DOMAIN (config/initializers/1_hosts.rb):
//   - Alternate (ALTERNATE_DOMAINS): other domains Mastodon takes as its
//     own. Rails accepts requests for them (config.hosts), and WebFinger
//     resolves user@alternate (app/lib/webfinger_resource.rb); the Ingress
//     or the HTTPRoutes send their well-known paths to web, as for the
//     local domain on split domains.
//   - Streaming: the host of STREAMING_API_BASE_URL (wss://host), which
//     clients are told to open their streams at (the instance API, the
//     web app's initial state) and which the web app's Content Security
//     Policy allows (connect-src); routed to streaming. Unset, Mastodon
//     derives wss://WEB_DOMAIN, which the web domain's /api/v1/streaming
//     rule serves.
//   - CDNHost (CDN_HOST): where browsers fetch the assets (Rails'
//     asset_host, config/environments/production.rb), an origin someone
//     else serves: nothing is routed.
type Domains struct {
	Alternate []string `json:",omitempty"`
	Streaming string   `json:",omitempty"`
	CDNHost   string   `json:",omitempty"`
}

// domainsFeature renders ALTERNATE_DOMAINS, STREAMING_API_BASE_URL and
// CDN_HOST (Spec.Domains); the routing is the Ingress's and the Gateway's.
type domainsFeature struct{ noFeature }

func (domainsFeature) env(s *Spec, plain, _ map[string]string) {
	d := s.Domains
	if len(d.Alternate) > 0 {
		plain["ALTERNATE_DOMAINS"] = strings.Join(d.Alternate, ",")
	}
	if d.Streaming != "" {
		plain["STREAMING_API_BASE_URL"] = "wss://" + d.Streaming
	}
	if d.CDNHost != "" {
		plain["CDN_HOST"] = d.CDNHost
	}
}

// validate refuses a name given twice, or given for what it already is,
// and the variables in the free-form environment whether the attributes
// are set or not: there is one way to say each.
func (domainsFeature) validate(s *Spec, e *fieldErrors) {
	d := s.Domains
	for _, own := range [][2]string{{"alternate_domains", "ALTERNATE_DOMAINS"}, {"streaming_domain", "STREAMING_API_BASE_URL"}, {"cdn_host", "CDN_HOST"}} {
		s.refuseExtra(own[0], func(k string) bool { return k == own[1] }, e)
	}
	own := map[string]string{s.LocalDomain: "local_domain"}
	if s.WebDomain != "" {
		own[s.WebDomain] = "web_domain"
	}
	if d.Streaming != "" {
		if attr, ok := own[d.Streaming]; ok {
			e.add("streaming_domain", "%q is %s: streams are served there already (at /api/v1/streaming); give a host of its own, or leave it unset", d.Streaming, attr)
			e.related("local_domain", "web_domain")
		}
	}
	for i, a := range d.Alternate {
		at := "alternate_domains[" + itoa(i) + "]"
		switch attr, ok := own[a]; {
		case ok:
			e.add(at, "%q is %s already", a, attr)
			e.related("local_domain", "web_domain")
		case a == d.Streaming:
			e.add(at, "%q is streaming_domain, which is routed to streaming, not to web", a)
			e.related("streaming_domain")
		case slices.Index(d.Alternate, a) < i:
			e.add(at, "%q is listed twice", a)
		}
	}
}

// CheckCDNHost checks cdn_host: the origin (and optional path) browsers
// fetch the assets from, https.
func CheckCDNHost(v string) error {
	if v == "" {
		return nil
	}
	u, err := url.Parse(v)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("%q is not an https URL such as https://cdn.example.com (no query, no credentials): browsers load the assets from it on pages served over HTTPS", v)
	}
	return nil
}

// handleHosts are the hosts whose well-known paths (WebFinger, host-meta,
// nodeinfo) the routing sends to web besides the web domain: the local
// domain on split domains, and the alternate domains.
func (s *Spec) handleHosts() []string {
	var out []string
	if s.splitDomains() {
		out = append(out, s.LocalDomain)
	}
	return append(out, s.Domains.Alternate...)
}
