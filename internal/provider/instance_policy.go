package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

// policyModel is settings' part of registrations, retention, API access
// and outbound requests (mastodon.Policy).
type policyModel struct {
	EmailDomainAllowlist             types.List   `tfsdk:"email_domain_allowlist"`
	EmailDomainDenylist              types.List   `tfsdk:"email_domain_denylist"`
	IPRetentionSeconds               types.Int64  `tfsdk:"ip_retention_seconds"`
	SessionRetentionSeconds          types.Int64  `tfsdk:"session_retention_seconds"`
	UserActiveDays                   types.Int64  `tfsdk:"user_active_days"`
	DisallowUnauthenticatedAPIAccess types.Bool   `tfsdk:"disallow_unauthenticated_api_access"`
	ForceDefaultLocale               types.Bool   `tfsdk:"force_default_locale"`
	AllowedPrivateAddresses          types.List   `tfsdk:"allowed_private_addresses"`
	HTTPProxy                        types.String `tfsdk:"http_proxy"`
	HTTPHiddenProxy                  types.String `tfsdk:"http_hidden_proxy"`
	AllowAccessToHiddenService       types.Bool   `tfsdk:"allow_access_to_hidden_service"`
}

const notInExtra = " `settings.extra_env` may not set it."

func policyAttributes(block string, _ nested) map[string]schema.Attribute {
	if block != "settings" {
		return nil
	}
	list := func(check stringCheck, d string) schema.ListAttribute {
		return schema.ListAttribute{Optional: true, ElementType: types.StringType, Validators: []validator.List{eachString{check}}, Description: d + notInExtra}
	}
	return map[string]schema.Attribute{
		"email_domain_allowlist": list(checkEmailDomain, "`EMAIL_DOMAIN_ALLOWLIST`: sign-ups only with an email address of these domains "+
			"(or their subdomains), such as `[\"example.org\"]`. Mastodon then also stops switching registrations to approval when no moderator is active."),
		"email_domain_denylist": list(checkEmailDomain, "`EMAIL_DOMAIN_DENYLIST`: no sign-ups with an email address of these domains or their "+
			"subdomains (beside the blocks moderators make in Mastodon)."),
		"ip_retention_seconds": checkAtLeastOne.on(optInt("`IP_RETENTION_PERIOD`, in seconds (Mastodon's unit): how long the IP addresses of " +
			"sign-ups, sessions, logins and tokens are kept; default a year (31556952)." + notInExtra)),
		"session_retention_seconds": checkAtLeastOne.on(optInt("`SESSION_RETENTION_PERIOD`, in seconds: how long an unused browser session is kept " +
			"(its user is then signed out); default a year (31556952)." + notInExtra)),
		"user_active_days": checkAtLeastOne.on(optInt("`USER_ACTIVE_DAYS`: a user who signed in within so many days counts as active " +
			"(their home feed is kept up to date); default 7." + notInExtra)),
		"disallow_unauthenticated_api_access": optBool("`DISALLOW_UNAUTHENTICATED_API_ACCESS`: the public API (timelines, profiles, statuses) and " +
			"WebFinger's profile links answer only signed-in users and apps; `limited_federation_mode` implies it." + notInExtra),
		"force_default_locale": optBool("`FORCE_DEFAULT_LOCALE`: pages for visitors use `default_locale` instead of the browser's language " +
			"(a signed-in user's own choice still wins)." + notInExtra),
		"allowed_private_addresses": list(checkPrivateAddress, "`ALLOWED_PRIVATE_ADDRESSES`: private addresses or networks (CIDR) that "+
			"Mastodon's outgoing requests may reach, which it otherwise refuses, such as an in-cluster server it federates with (`[\"10.0.0.0/8\"]`)."),
		"http_proxy": checkProxyURL.on(optString("`http_proxy`: the http or https proxy of Mastodon's outgoing requests (federation, link previews, " +
			"media of other servers), such as `http://proxy.net:3128`. Other HTTP clients in the processes may read it too: set `no_proxy` in " +
			"`settings.extra_env` for the in-cluster services they reach." + notInExtra)),
		"http_hidden_proxy": checkProxyURL.on(optString("`http_hidden_proxy`: the proxy of requests to `.onion` hosts (Tor, through Privoxy " +
			"for one), with `allow_access_to_hidden_service`." + notInExtra)),
		"allow_access_to_hidden_service": optBool("`ALLOW_ACCESS_TO_HIDDEN_SERVICE`: federate with `.onion` servers (otherwise refused), through " +
			"`http_hidden_proxy` or `http_proxy`." + notInExtra),
	}
}

func policySpec(ctx context.Context, m *instanceModel, s *mastodon.Spec, diags *diag.Diagnostics) {
	st := m.Settings
	if st == nil {
		return
	}
	p := st.policyModel
	s.Policy = mastodon.Policy{
		IPRetentionSeconds: p.IPRetentionSeconds.ValueInt64(), SessionRetentionSeconds: p.SessionRetentionSeconds.ValueInt64(),
		UserActiveDays:                   p.UserActiveDays.ValueInt64(),
		DisallowUnauthenticatedAPIAccess: p.DisallowUnauthenticatedAPIAccess.ValueBool(), ForceDefaultLocale: p.ForceDefaultLocale.ValueBool(),
		HTTPProxy: p.HTTPProxy.ValueString(), HTTPHiddenProxy: p.HTTPHiddenProxy.ValueString(),
		AllowAccessToHiddenService: p.AllowAccessToHiddenService.ValueBool(),
	}
	for l, into := range map[*types.List]*[]string{&p.EmailDomainAllowlist: &s.Policy.EmailDomainAllowlist,
		&p.EmailDomainDenylist: &s.Policy.EmailDomainDenylist, &p.AllowedPrivateAddresses: &s.Policy.AllowedPrivateAddresses} {
		if known(*l) {
			diags.Append(l.ElementsAs(ctx, into, false)...)
		}
	}
}

// eachString runs a check on every known element of a list of strings.
type eachString struct{ check stringCheck }

func (c eachString) Description(ctx context.Context) string {
	return "each " + c.check.Description(ctx)
}
func (c eachString) MarkdownDescription(ctx context.Context) string { return c.Description(ctx) }

func (c eachString) ValidateList(_ context.Context, req validator.ListRequest, resp *validator.ListResponse) {
	if !known(req.ConfigValue) {
		return
	}
	for i, e := range req.ConfigValue.Elements() {
		if v, ok := e.(types.String); ok && known(v) {
			if err := c.check.check(v.ValueString()); err != nil {
				invalid(req.Path, fmt.Errorf("item %d: %w", i, err), &resp.Diagnostics)
			}
		}
	}
}

// The checks of the policy's attributes.
var (
	checkEmailDomain    = stringCheck{described: "a domain", check: mastodon.CheckEmailDomain}
	checkPrivateAddress = stringCheck{described: "an IP address or a CIDR network", check: mastodon.CheckPrivateAddress}
	checkProxyURL       = stringCheck{described: "an http or https URL with a host", check: mastodon.CheckProxyURL}
)
