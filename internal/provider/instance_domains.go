package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

var checkCDNHost = stringCheck{described: "an https URL", check: mastodon.CheckCDNHost}

// domainsAttributes are the names the instance answers to besides
// local_domain and web_domain (mastodon.Domains).
func domainsAttributes(nested) map[string]schema.Attribute {
	return map[string]schema.Attribute{
		"alternate_domains": schema.ListAttribute{Optional: true, ElementType: types.StringType,
			Validators: []validator.List{listvalidator.ValueStringsAre(checkDomain)},
			Description: "`ALTERNATE_DOMAINS`: other domains Mastodon takes as its own, so that `user@alternate` resolves to the same account " +
				"(WebFinger) and Rails accepts requests for them. The Ingress (or, with `gateway`, the `<name>-local-domain` HTTPRoute) sends their " +
				"`/.well-known/webfinger`, `host-meta` and `nodeinfo` to web, as it does the local domain's on split domains; their TLS is the " +
				"Ingress's certificate (listed in its TLS section when it is yours and covers them, or cert-manager's, which is issued for every host; " +
				"else the plan warns). A domain given twice, or that is `local_domain`, `web_domain` or `streaming_domain`, is refused at plan."},
		"streaming_domain": checkDomain.on(optString("A host of its own for streaming: `STREAMING_API_BASE_URL` becomes `wss://<streaming_domain>`, " +
			"which Mastodon tells clients (the instance API, the web app) to open their streams at and allows in its Content Security Policy. " +
			"The Ingress (or, with `gateway`, a `<name>-streaming` HTTPRoute) routes all of it to streaming, and its TLS section lists it as for " +
			"`alternate_domains`. Unset, streams are served at the web domain's `/api/v1/streaming` (which stays routed either way). " +
			"`local_domain` or `web_domain` here is refused at plan.")),
		"cdn_host": checkCDNHost.on(optString("`CDN_HOST`: the https origin (with an optional path) browsers load Mastodon's assets (scripts, styles, " +
			"emoji) from instead of the web domain, such as `https://assets.example.com`; a CDN someone else runs in front of the web domain. " +
			"Nothing is routed for it. Media have their own (`media_bucket.alias_host`).")),
	}
}

func domainsSpec(_ context.Context, m *instanceModel, s *mastodon.Spec, _ *diag.Diagnostics) {
	s.Domains = mastodon.Domains{Alternate: knownListStrings(m.AlternateDomains), Streaming: m.StreamingDomain.ValueString(), CDNHost: m.CDNHost.ValueString()}
}
