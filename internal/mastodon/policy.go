package mastodon

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// Policy are the options of registrations, retention, API access and
// outbound requests that Mastodon reads from its environment (the
// provider's settings block). A zero field renders nothing: Mastodon's
// default.
type Policy struct {
	// EmailDomainAllowlist and EmailDomainDenylist are
	// EMAIL_DOMAIN_ALLOWLIST and _DENYLIST (config/initializers/
	// email_domains_lists.rb): Mastodon puts the value into a regular
	// expression as alternatives, so the domains are joined with "|"
	// (app/validators/user_email_validator.rb); a domain matches its
	// subdomains too.
	EmailDomainAllowlist, EmailDomainDenylist []string
	// IPRetentionSeconds and SessionRetentionSeconds are
	// IP_RETENTION_PERIOD and SESSION_RETENTION_PERIOD, in seconds
	// (app/workers/scheduler/ip_cleanup_scheduler.rb; default a year).
	IPRetentionSeconds, SessionRetentionSeconds int64
	// UserActiveDays is USER_ACTIVE_DAYS (app/models/concerns/
	// user/activity.rb; default 7).
	UserActiveDays int64
	// DisallowUnauthenticatedAPIAccess is DISALLOW_UNAUTHENTICATED_API_ACCESS
	// (app/controllers/api/base_controller.rb).
	DisallowUnauthenticatedAPIAccess bool
	// ForceDefaultLocale is FORCE_DEFAULT_LOCALE (app/controllers/
	// concerns/localized.rb): the browser's language is not asked.
	ForceDefaultLocale bool
	// AllowedPrivateAddresses is ALLOWED_PRIVATE_ADDRESSES
	// (config/initializers/allowed_private_addresses.rb: split on commas
	// and spaces, each given to IPAddr.new), addresses and networks
	// outgoing requests may reach (app/lib/request.rb refuses private
	// ones).
	AllowedPrivateAddresses []string
	// HTTPProxy and HTTPHiddenProxy are http_proxy and http_hidden_proxy
	// (config/initializers/http_client_proxy.rb, lowercase): the proxy of
	// outgoing requests, and of those to .onion hosts, which Mastodon
	// makes only with ALLOW_ACCESS_TO_HIDDEN_SERVICE.
	HTTPProxy, HTTPHiddenProxy string
	AllowAccessToHiddenService bool
}

// policyVariables are the variables of Policy, with the attributes that
// render them.
var policyVariables = map[string]string{
	"EMAIL_DOMAIN_ALLOWLIST":              "settings.email_domain_allowlist",
	"EMAIL_DOMAIN_DENYLIST":               "settings.email_domain_denylist",
	"IP_RETENTION_PERIOD":                 "settings.ip_retention_seconds",
	"SESSION_RETENTION_PERIOD":            "settings.session_retention_seconds",
	"USER_ACTIVE_DAYS":                    "settings.user_active_days",
	"DISALLOW_UNAUTHENTICATED_API_ACCESS": "settings.disallow_unauthenticated_api_access",
	"FORCE_DEFAULT_LOCALE":                "settings.force_default_locale",
	"ALLOWED_PRIVATE_ADDRESSES":           "settings.allowed_private_addresses",
	"http_proxy":                          "settings.http_proxy",
	"http_hidden_proxy":                   "settings.http_hidden_proxy",
	"ALLOW_ACCESS_TO_HIDDEN_SERVICE":      "settings.allow_access_to_hidden_service",
}

// policyFeature renders Spec.Policy.
type policyFeature struct{ noFeature }

func (policyFeature) env(s *Spec, plain, _ map[string]string) {
	p := s.Policy
	number := func(n int64) string {
		if n == 0 {
			return ""
		}
		return strconv.FormatInt(n, 10)
	}
	flag := func(b bool) string {
		if b {
			return "true" // Mastodon compares with "true"
		}
		return ""
	}
	setNonEmpty(plain, map[string]string{
		"EMAIL_DOMAIN_ALLOWLIST":              strings.Join(p.EmailDomainAllowlist, "|"),
		"EMAIL_DOMAIN_DENYLIST":               strings.Join(p.EmailDomainDenylist, "|"),
		"IP_RETENTION_PERIOD":                 number(p.IPRetentionSeconds),
		"SESSION_RETENTION_PERIOD":            number(p.SessionRetentionSeconds),
		"USER_ACTIVE_DAYS":                    number(p.UserActiveDays),
		"DISALLOW_UNAUTHENTICATED_API_ACCESS": flag(p.DisallowUnauthenticatedAPIAccess),
		"FORCE_DEFAULT_LOCALE":                flag(p.ForceDefaultLocale),
		"ALLOWED_PRIVATE_ADDRESSES":           strings.Join(p.AllowedPrivateAddresses, ","),
		"http_proxy":                          p.HTTPProxy,
		"http_hidden_proxy":                   p.HTTPHiddenProxy,
		"ALLOW_ACCESS_TO_HIDDEN_SERVICE":      flag(p.AllowAccessToHiddenService),
	})
}

func (policyFeature) validate(s *Spec, e *fieldErrors) {
	s.refuseExtraNames(policyVariables, e)
}

// warnings: .onion hosts reached without a proxy fail (no resolver
// knows them).
func (policyFeature) warnings(s *Spec) []FieldError {
	p := s.Policy
	if p.AllowAccessToHiddenService && p.HTTPHiddenProxy == "" && p.HTTPProxy == "" {
		return []FieldError{{Path: "settings.allow_access_to_hidden_service", Message: "without settings.http_hidden_proxy (or settings.http_proxy) " +
			"Mastodon reaches .onion hosts directly, which fails: give it a Tor proxy such as Privoxy",
			Related: []string{"settings.http_hidden_proxy", "settings.http_proxy"}}}
	}
	return nil
}

// emailDomainRe is a domain as the email domain lists take it: Mastodon
// escapes only its dots, so anything else a regular expression reads
// would change the rule.
var emailDomainRe = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$`)

// CheckEmailDomain checks a domain of settings.email_domain_allowlist or
// _denylist.
func CheckEmailDomain(v string) error {
	if !emailDomainRe.MatchString(v) {
		return fmt.Errorf("%q is not a domain such as example.org (Mastodon matches it and its subdomains; no wildcards, '@' or '|')", v)
	}
	return nil
}

// CheckPrivateAddress checks an entry of settings.allowed_private_addresses:
// an IP address or a network in CIDR notation, as Ruby's IPAddr.new reads
// them.
func CheckPrivateAddress(v string) error {
	if net.ParseIP(v) == nil {
		if _, _, err := net.ParseCIDR(v); err != nil {
			return fmt.Errorf("%q is not an IP address or a network such as 10.0.0.0/8 or fd00::/8", v)
		}
	}
	return nil
}

// CheckProxyURL checks settings.http_proxy and http_hidden_proxy: Mastodon
// refuses to boot unless the URL is http or https with a host.
func CheckProxyURL(v string) error {
	if u, err := url.Parse(v); v != "" && (err != nil || u.Hostname() == "" || (u.Scheme != "http" && u.Scheme != "https")) {
		return fmt.Errorf("%q must be an http or https URL with a host, such as http://privoxy.tor:8118 (Mastodon refuses to boot on anything else)", v)
	}
	return nil
}
