package mastodon

// Contract tests of issue 25's settings (items 5, 7, 9), read at v4.6.5
// in glitch-soc's copy of Mastodon: each states what Mastodon does with a
// variable the instance renders, and names the file.

import (
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// refusedIn says whether Validate refuses name in settings.extra_env, with
// a message naming attr.
func refusedIn(s *Spec, name, attr string) bool {
	s.Settings.ExtraEnv = map[string]string{name: "x"}
	defer func() { s.Settings.ExtraEnv = nil }()
	for _, e := range s.Validate() {
		if e.Path == "settings.extra_env" && strings.Contains(e.Message, attr) {
			return true
		}
	}
	return false
}

// config/captcha.yml: hCaptcha's keys are HCAPTCHA_SITE_KEY and
// HCAPTCHA_SECRET_KEY. The site key is public (the sign-up page carries
// it); the secret key is in the instance's Secret, or read by reference.
// Both variables are the hcaptcha block's, with or without it.
func TestHCaptchaContract(t *testing.T) {
	s := defaultSpec()
	for name, attr := range map[string]string{EnvHCaptchaSiteKey: "hcaptcha.site_key", EnvHCaptchaSecretKey: "hcaptcha.secret_key"} {
		if !refusedIn(s, name, attr) {
			t.Errorf("%s in extra_env without the block: not refused naming %s", name, attr)
		}
	}
	s.HCaptcha = &HCaptcha{SiteKey: "site"}
	if p := errorPaths(s.Validate()); !slices.Equal(p, []string{"hcaptcha.secret_key"}) {
		t.Errorf("no secret key: errors at %v", p)
	}
	s.HCaptcha.SecretKey = "secret"
	plain, secret := s.Environment(fixedSecrets)
	if plain[EnvHCaptchaSiteKey] != "site" || secret[EnvHCaptchaSecretKey] != "secret" || plain[EnvHCaptchaSecretKey] != "" {
		t.Errorf("plain %q, secret %q", plain[EnvHCaptchaSiteKey], secret[EnvHCaptchaSecretKey])
	}
	s.HCaptcha.SecretKey, s.HCaptcha.SecretKeyRef = "", &SecretRef{Name: "captcha", Key: "secret"}
	if errs := s.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	if _, secret := s.Environment(fixedSecrets); secret[EnvHCaptchaSecretKey] != "" {
		t.Error("a secret key given by reference is in the instance's Secret")
	}
	web := find[corev1.Pod](t, []Object{NewObject(&corev1.Pod{TypeMeta: typeMeta("v1", "Pod"), ObjectMeta: s.meta("web", ComponentWeb),
		Spec: s.railsPod("web", nil, s.WebResources)})}, "Pod", "web")
	found := false
	for _, e := range web.Spec.Containers[0].Env {
		found = found || (e.Name == EnvHCaptchaSecretKey && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef.Name == "captcha")
	}
	if !found {
		t.Errorf("web does not read %s from the referenced Secret: %v", EnvHCaptchaSecretKey, web.Spec.Containers[0].Env)
	}
}

// config/initializers/opentelemetry.rb: the SDK is loaded only when a
// variable OTEL_*_ENDPOINT is set; the service is named
// OTEL_SERVICE_NAME_PREFIX (default mastodon) + OTEL_SERVICE_NAME_SEPARATOR
// (default /) + web or the program's name, by c.service_name, which wins
// over OTEL_SERVICE_NAME. The sampler is the SDK's
// (opentelemetry-sdk, Gemfile: ~> 1.4; lib/opentelemetry/sdk/trace/
// tracer_provider.rb, sampler_from_environment): six names, and
// OTEL_TRACES_SAMPLER_ARG, a Float, read only by the two ratio samplers;
// anything else falls back to the default sampler without a word. The
// streaming server has no OpenTelemetry (nothing in streaming/ reads OTEL_).
func TestOpenTelemetryContract(t *testing.T) {
	s := defaultSpec()
	for name, attr := range map[string]string{EnvOTelEndpoint: "opentelemetry.endpoint", EnvOTelSampler: "opentelemetry.traces_sampler",
		EnvOTelSamplerArg: "opentelemetry.traces_sampler_ratio", EnvOTelPrefix: "opentelemetry.service_name_prefix", EnvOTelSeparator: "opentelemetry.service_name_separator"} {
		if !refusedIn(s, name, attr) {
			t.Errorf("%s in extra_env: not refused naming %s", name, attr)
		}
	}
	if refusedIn(s, "OTEL_RUBY_INSTRUMENTATION_PG_ENABLED", "opentelemetry") {
		t.Error("the SDK's other variables are refused")
	}
	if plain, _ := s.Environment(fixedSecrets); plain[EnvOTelEndpoint] != "" {
		t.Error("an endpoint without the block: the SDK would load")
	}
	ratio := 0.25
	s.OpenTelemetry = &OpenTelemetry{Endpoint: "http://otel.monitoring:4318", ServiceNamePrefix: "social", ServiceNameSeparator: "-",
		TracesSampler: "parentbased_traceidratio", TracesSamplerRatio: &ratio}
	if errs := s.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	plain, _ := s.Environment(fixedSecrets)
	want := map[string]string{EnvOTelEndpoint: "http://otel.monitoring:4318", EnvOTelPrefix: "social", EnvOTelSeparator: "-",
		EnvOTelSampler: "parentbased_traceidratio", EnvOTelSamplerArg: "0.25"}
	for k, v := range want {
		if plain[k] != v {
			t.Errorf("%s = %q, want %q", k, plain[k], v)
		}
	}
	if !regexp.MustCompile(`^OTEL_.*_ENDPOINT$`).MatchString(EnvOTelEndpoint) {
		t.Error("the endpoint's variable does not switch the SDK on")
	}
	for _, sampler := range []string{"", "always_on", "parentbased_always_off"} {
		s.OpenTelemetry.TracesSampler = sampler
		if p := errorPaths(s.Validate()); !slices.Equal(p, []string{"opentelemetry.traces_sampler_ratio"}) {
			t.Errorf("a ratio with the sampler %q: errors at %v", sampler, p)
		}
	}
	for _, bad := range []string{"ratio", "jaeger_remote", "AlwaysOn"} {
		if CheckTracesSampler(bad) == nil {
			t.Errorf("sampler %q accepted", bad)
		}
	}
	for _, r := range []float64{-0.1, 1.5} {
		if CheckSamplerRatio(r) == nil {
			t.Errorf("ratio %g accepted", r)
		}
	}
	for _, bad := range []string{"otel:4318", "grpc://otel:4317", "http://"} {
		if CheckOTelEndpoint(bad) == nil {
			t.Errorf("endpoint %q accepted", bad)
		}
	}
}

// config/environments/production.rb (config.log_level = RAILS_LOG_LEVEL,
// default info) and config/initializers/sidekiq.rb
// (Logger.const_get(RAILS_LOG_LEVEL.upcase): a name that is no level of
// Ruby's Logger raises, so Sidekiq does not start); streaming/logging.js
// (initializeLogLevel: LOG_LEVEL if pino knows it, else info). Both are in
// the ConfigMap: Rails reads no LOG_LEVEL, streaming no RAILS_LOG_LEVEL.
func TestLogLevelsContract(t *testing.T) {
	s := defaultSpec()
	if !refusedIn(s, EnvRailsLogLevel, "settings.rails_log_level") || !refusedIn(s, EnvStreamingLogLevel, "streaming.log_level") {
		t.Error("a log level in extra_env is not refused")
	}
	s.LogLevels = LogLevels{Rails: "warn", Streaming: "trace"}
	plain, _ := s.Environment(fixedSecrets)
	if plain[EnvRailsLogLevel] != "warn" || plain[EnvStreamingLogLevel] != "trace" {
		t.Errorf("RAILS_LOG_LEVEL %q, LOG_LEVEL %q", plain[EnvRailsLogLevel], plain[EnvStreamingLogLevel])
	}
	if plain, _ := defaultSpec().Environment(fixedSecrets); plain[EnvRailsLogLevel]+plain[EnvStreamingLogLevel] != "" {
		t.Error("log levels rendered by default")
	}
	// Ruby's Logger::Severity constants; pino's default levels.
	for _, l := range []string{"debug", "info", "warn", "error", "fatal", "unknown"} {
		if CheckRailsLogLevel(l) != nil {
			t.Errorf("Rails level %q refused", l)
		}
	}
	for _, l := range []string{"trace", "debug", "info", "warn", "error", "fatal"} {
		if CheckStreamingLogLevel(l) != nil {
			t.Errorf("streaming level %q refused", l)
		}
	}
	for _, bad := range []string{"trace", "verbose", "warning"} {
		if CheckRailsLogLevel(bad) == nil {
			t.Errorf("Rails level %q accepted: Sidekiq would not start", bad)
		}
	}
	for _, bad := range []string{"unknown", "silent", "INFO"} {
		if CheckStreamingLogLevel(bad) == nil {
			t.Errorf("streaming level %q accepted: streaming would log at info", bad)
		}
	}
}

// rubySplit is config/initializers/allowed_private_addresses.rb's split.
var rubySplit = regexp.MustCompile(`(?:\s*,\s*|\s+)`)

// config/initializers/email_domains_lists.rb with
// app/validators/user_email_validator.rb: the lists are put into
// /@(.+\.)?(LIST)$/i with only their dots escaped, so "|" separates
// domains and a domain covers its subdomains. app/workers/scheduler/
// ip_cleanup_scheduler.rb: IP_RETENTION_PERIOD and SESSION_RETENTION_PERIOD
// are .to_i.seconds. app/models/concerns/user/activity.rb: USER_ACTIVE_DAYS
// .to_i.days. app/controllers/api/base_controller.rb,
// app/controllers/concerns/localized.rb and
// config/initializers/http_client_proxy.rb compare
// DISALLOW_UNAUTHENTICATED_API_ACCESS, FORCE_DEFAULT_LOCALE and
// ALLOW_ACCESS_TO_HIDDEN_SERVICE with "true", and read the lowercase
// http_proxy and http_hidden_proxy (raising at boot unless http or https
// with a host). config/initializers/allowed_private_addresses.rb splits
// ALLOWED_PRIVATE_ADDRESSES on commas and spaces and gives each to
// IPAddr.new (app/lib/request.rb then lets requests reach them).
func TestPolicyContract(t *testing.T) {
	s := defaultSpec()
	for name, attr := range policyVariables {
		if !refusedIn(s, name, attr) {
			t.Errorf("%s in extra_env: not refused naming %s", name, attr)
		}
	}
	if plain, _ := s.Environment(fixedSecrets); slices.ContainsFunc(slices.Collect(maps.Keys(policyVariables)), func(k string) bool { return plain[k] != "" }) {
		t.Error("a policy variable rendered by default")
	}
	s.Policy = Policy{EmailDomainAllowlist: []string{"example.org", "example.net"}, EmailDomainDenylist: []string{"spam.example"},
		IPRetentionSeconds: 2592000, SessionRetentionSeconds: 7776000, UserActiveDays: 14,
		DisallowUnauthenticatedAPIAccess: true, ForceDefaultLocale: true, AllowedPrivateAddresses: []string{"10.0.0.0/8", "fd00::/8", "192.168.1.5"},
		HTTPProxy: "http://proxy.net:3128", HTTPHiddenProxy: "http://privoxy.tor:8118", AllowAccessToHiddenService: true}
	if errs := s.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	plain, _ := s.Environment(fixedSecrets)
	want := map[string]string{"EMAIL_DOMAIN_ALLOWLIST": "example.org|example.net", "EMAIL_DOMAIN_DENYLIST": "spam.example",
		"IP_RETENTION_PERIOD": "2592000", "SESSION_RETENTION_PERIOD": "7776000", "USER_ACTIVE_DAYS": "14",
		"DISALLOW_UNAUTHENTICATED_API_ACCESS": "true", "FORCE_DEFAULT_LOCALE": "true", "ALLOW_ACCESS_TO_HIDDEN_SERVICE": "true",
		"ALLOWED_PRIVATE_ADDRESSES": "10.0.0.0/8,fd00::/8,192.168.1.5", "http_proxy": "http://proxy.net:3128", "http_hidden_proxy": "http://privoxy.tor:8118"}
	for k, v := range want {
		if plain[k] != v {
			t.Errorf("%s = %q, want %q", k, plain[k], v)
		}
	}
	// The allowlist as user_email_validator.rb reads it.
	allow := regexp.MustCompile(`(?i)@(.+\.)?(` + strings.ReplaceAll(plain["EMAIL_DOMAIN_ALLOWLIST"], ".", `\.`) + `)$`)
	for email, ok := range map[string]bool{"a@example.org": true, "a@mail.EXAMPLE.net": true, "a@example.org.evil": false, "a@notexample.org": false, "a@exampleXorg": false} {
		if allow.MatchString(email) != ok {
			t.Errorf("%s allowed: %v, want %v", email, !ok, ok)
		}
	}
	if got := rubySplit.Split(plain["ALLOWED_PRIVATE_ADDRESSES"], -1); !slices.Equal(got, s.Policy.AllowedPrivateAddresses) {
		t.Errorf("Mastodon reads the addresses as %q", got)
	}
	if !slices.Equal(AdoptedList(VarAddressList, "10.0.0.0/8, fd00::/8 192.168.1.5"), s.Policy.AllowedPrivateAddresses) ||
		!slices.Equal(AdoptedList(VarPipeList, plain["EMAIL_DOMAIN_ALLOWLIST"]), s.Policy.EmailDomainAllowlist) {
		t.Error("an adopted list is not read as Mastodon reads it")
	}
	if w := s.Warnings(); len(w) > 0 {
		t.Errorf("warnings %v", w)
	}
	s.Policy.HTTPProxy, s.Policy.HTTPHiddenProxy = "", ""
	if w := s.Warnings(); len(w) != 1 || w[0].Path != "settings.allow_access_to_hidden_service" {
		t.Errorf(".onion hosts without a proxy: warnings %v", w)
	}
	for _, bad := range []string{"*.example.org", "example.org|evil", "@example.org", "exa(mple).org", "", "-example.org"} {
		if CheckEmailDomain(bad) == nil {
			t.Errorf("email domain %q accepted", bad)
		}
	}
	for _, bad := range []string{"10.0.0.0/33", "10.0.0", "localhost", "10.0.0.0/8,10.1.0.0/16"} {
		if CheckPrivateAddress(bad) == nil {
			t.Errorf("address %q accepted", bad)
		}
	}
	for _, bad := range []string{"socks5://tor:9050", "proxy.net:3128", "http://", "http://:3128"} {
		if CheckProxyURL(bad) == nil {
			t.Errorf("proxy %q accepted: Mastodon would not boot", bad)
		}
	}
}

// config/initializers/paperclip.rb: media go to S3 when S3_ENABLED is
// "true", else to OpenStack Swift (SWIFT_ENABLED, SWIFT_*), else to Azure
// Blob (AZURE_ENABLED, AZURE_*), else to the filesystem;
// app/lib/content_security_policy.rb and app/helpers/application_helper.rb
// read SWIFT_OBJECT_URL and AZURE_ALIAS_HOST on their own. The instance
// deploys the filesystem (its volume) or S3 (media_bucket) only, so every
// one of these variables is refused in the free-form maps, naming
// media_bucket.
func TestOtherMediaStoresContract(t *testing.T) {
	s := defaultSpec()
	for _, k := range OtherMediaStores {
		if !refusedIn(s, k, "media_bucket") {
			t.Errorf("%s in extra_env: not refused naming media_bucket", k)
		}
	}
	s.Settings.ExtraSecretEnv = map[string]string{"AZURE_STORAGE_ACCESS_KEY": "x"}
	if p := errorPaths(s.Validate()); !slices.Equal(p, []string{"settings.extra_secret_env"}) {
		t.Errorf("Azure's key in extra_secret_env: errors at %v", p)
	}
}

// The switches an adoption drops when a chart writes them as "false":
// Mastodon compares each with "true", so "false" is the same as unset
// (read at v4.6.5). AUTHORIZED_FETCH is not one of them: set to anything
// it overrides the admin's setting (app/helpers/authorized_fetch_helper.rb,
// ENV.fetch('AUTHORIZED_FETCH') { Setting.authorized_fetch && 'true' }), so
// "false" locks secure mode off.
func TestUnsetWhenFalse(t *testing.T) {
	read := map[string]string{
		"S3_ENABLED":                          "config/initializers/paperclip.rb: ENV['S3_ENABLED'] == 'true'",
		"ES_ENABLED":                          "config/initializers/chewy.rb: ENV['ES_ENABLED'] == 'true'",
		"DISALLOW_UNAUTHENTICATED_API_ACCESS": "app/controllers/api/base_controller.rb: ENV['DISALLOW_UNAUTHENTICATED_API_ACCESS'] == 'true'",
		"FORCE_DEFAULT_LOCALE":                "app/controllers/concerns/localized.rb: unless ENV['FORCE_DEFAULT_LOCALE'] == 'true'",
		"ALLOW_ACCESS_TO_HIDDEN_SERVICE":      "config/initializers/http_client_proxy.rb: ENV['ALLOW_ACCESS_TO_HIDDEN_SERVICE'] == 'true'",
		"SMTP_TLS":                            "config/email.yml: ENV.fetch('SMTP_TLS', false) == 'true' ? true : nil",
		"SMTP_SSL":                            "config/email.yml: ENV.fetch('SMTP_SSL', false) == 'true' ? true : nil",
		"SINGLE_USER_MODE":                    "config/initializers/single_user_mode.rb: ENV['SINGLE_USER_MODE'] == 'true'",
		"LIMITED_FEDERATION_MODE":             "config/mastodon.yml: (ENV.fetch('LIMITED_FEDERATION_MODE', nil) || ...) == 'true'",
	}
	if got, want := slices.Sorted(maps.Keys(UnsetWhenFalse)), slices.Sorted(maps.Keys(read)); !slices.Equal(got, want) {
		t.Errorf("UnsetWhenFalse %v, want the switches read as unset when false %v", got, want)
	}
	if UnsetWhenFalse["AUTHORIZED_FETCH"] {
		t.Error("AUTHORIZED_FETCH=false overrides the admin's setting: it is not unset")
	}
	// Off, the instance renders none of them: "false" and unset agree.
	plain, _ := defaultSpec().Environment(fixedSecrets)
	for k := range UnsetWhenFalse {
		if v, ok := plain[k]; ok && v == "false" {
			t.Errorf("%s rendered as false", k)
		}
	}
}
