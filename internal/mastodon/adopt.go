package mastodon

import (
	"fmt"
	"strconv"
	"strings"
)

// Adoption: what the objects of an instance that one of Mastodon's
// official Helm charts installed mean in this provider's terms. Both
// charts (mastodon/helm-charts, chart "mastodon" 1.x, and the legacy
// mastodon/chart, chart "mastodon" 6.x, which bundles Bitnami's PostgreSQL
// and Redis) run the same processes with the same variables: web
// (`bundle exec puma -C config/puma.rb`), streaming (`node
// ./streaming/index.js`) and Sidekiq Deployments (`bundle exec sidekiq -c
// N -q queue,weight ...`), labelled app.kubernetes.io/name=mastodon,
// app.kubernetes.io/instance=<release> and app.kubernetes.io/component
// web, streaming or sidekiq-<worker>; their environment comes from the
// release's env ConfigMap (envFrom) and from Secrets (secretKeyRef). So an
// adoption reads the environment the web container gets, and maps each
// variable to the attribute that renders it (AdoptedVariables).

// AdoptableCharts describes the charts an adoption reads.
const AdoptableCharts = `chart "mastodon" 1.x (mastodon/helm-charts) or 6.x (the legacy mastodon/chart)`

// Chart layouts.
const (
	ChartHelmCharts = "mastodon/helm-charts"
	ChartLegacy     = "mastodon/chart"
)

// AdoptableChart says which chart a release was installed from, by the
// name and version its record holds; an error names the charts known.
func AdoptableChart(name, version string) (string, error) {
	major, _, _ := strings.Cut(strings.TrimPrefix(version, "v"), ".")
	switch {
	case name == "mastodon" && major == "1":
		return ChartHelmCharts, nil
	case name == "mastodon" && major == "6":
		return ChartLegacy, nil
	}
	return "", fmt.Errorf("the release was installed from chart %q %s, whose layout this provider does not know: it adopts %s", name, version, AdoptableCharts)
}

// Labels the charts put on their objects.
const (
	ChartLabelName      = "app.kubernetes.io/name"
	ChartLabelInstance  = "app.kubernetes.io/instance"
	ChartLabelComponent = "app.kubernetes.io/component"
	ChartLabelManagedBy = "app.kubernetes.io/managed-by"
	// ChartName is the chart's own app.kubernetes.io/name; the legacy
	// chart's bundled services carry their own (postgresql, redis).
	ChartName = "mastodon"
)

// ChartComponent is what a chart's workload runs, by its labels: "web",
// "streaming" or "sidekiq" (with its worker's name), "" for anything else.
func ChartComponent(labels map[string]string) (component, worker string) {
	if labels[ChartLabelName] != ChartName {
		return "", ""
	}
	c := labels[ChartLabelComponent]
	if w, ok := strings.CutPrefix(c, "sidekiq-"); ok {
		return "sidekiq", w
	}
	if c == "web" || c == "streaming" {
		return c, ""
	}
	return "", ""
}

// Kinds of values an adopted variable holds.
const (
	VarString = iota
	VarInt
	VarBool
	// VarNotTrue is a boolean attribute that is true unless the variable
	// is "true", whether the variable is set or not.
	VarNotTrue
	// VarList is a list attribute of a comma-separated variable, split as
	// Mastodon splits ALTERNATE_DOMAINS (config/initializers/1_hosts.rb).
	VarList
	// VarFloat is a number with a fraction.
	VarFloat
	// VarPipeList is a list written with "|" between its items (the email
	// domain lists).
	VarPipeList
	// VarAddressList is a list written with commas or spaces between its
	// items (ALLOWED_PRIVATE_ADDRESSES).
	VarAddressList
)

// AdoptedList splits the value of a list variable (VarList, VarPipeList,
// VarAddressList) into its items as Mastodon reads them, without empty
// ones.
func AdoptedList(kind int, v string) []string {
	sep := func(r rune) bool { return r == '|' }
	switch kind {
	case VarList:
		sep = func(r rune) bool { return r == ',' }
	case VarAddressList:
		sep = func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' }
	}
	var out []string
	for _, item := range strings.FieldsFunc(v, sep) {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// AdoptedVariable is a variable of Mastodon's environment and the
// attribute that renders it.
type AdoptedVariable struct {
	Env, Path string
	Kind      int
}

// AdoptedVariables map the variables a chart sets to attributes. The
// credentials (DB_PASS, REDIS_PASSWORD, SMTP_PASSWORD, ...) and the
// generated secrets are not here: they go to the instance's Secret (see
// SecretsFromEnv). What no attribute renders is kept as it is, in
// settings.extra_env (or extra_secret_env when the chart took it from a
// Secret).
var AdoptedVariables = []AdoptedVariable{
	{"LOCAL_DOMAIN", "local_domain", VarString},
	{"WEB_DOMAIN", "web_domain", VarString},
	{"WEB_CONCURRENCY", "web.concurrency", VarInt},
	{"MAX_THREADS", "web.max_threads", VarInt},
	{"DB_HOST", "database.host", VarString},
	{"DB_PORT", "database.port", VarInt},
	{"DB_NAME", "database.name", VarString},
	{"DB_USER", "database.user", VarString},
	{"DB_SSLMODE", "database.sslmode", VarString},
	{"DB_POOL", "database.pool", VarInt},
	{"REPLICA_DB_HOST", "database.replica.host", VarString},
	{"REPLICA_DB_PORT", "database.replica.port", VarInt},
	{"REPLICA_DB_NAME", "database.replica.name", VarString},
	{"REPLICA_DB_USER", "database.replica.user", VarString},
	{"REDIS_HOST", "redis.host", VarString},
	{"REDIS_PORT", "redis.port", VarInt},
	{"REDIS_USER", "redis.user", VarString},
	{"REDIS_DB", "redis.db", VarInt},
	{"CACHE_REDIS_HOST", "cache_redis.host", VarString},
	{"CACHE_REDIS_PORT", "cache_redis.port", VarInt},
	{"CACHE_REDIS_USER", "cache_redis.user", VarString},
	{"CACHE_REDIS_DB", "cache_redis.db", VarInt},
	{"SIDEKIQ_REDIS_HOST", "sidekiq_redis.host", VarString},
	{"SIDEKIQ_REDIS_PORT", "sidekiq_redis.port", VarInt},
	{"SIDEKIQ_REDIS_USER", "sidekiq_redis.user", VarString},
	{"SIDEKIQ_REDIS_DB", "sidekiq_redis.db", VarInt},
	{"SMTP_SERVER", "smtp.server", VarString},
	{"SMTP_PORT", "smtp.port", VarInt},
	{"SMTP_LOGIN", "smtp.login", VarString},
	{"SMTP_FROM_ADDRESS", "smtp.from_address", VarString},
	{"SMTP_AUTH_METHOD", "smtp.auth_method", VarString},
	{"SMTP_OPENSSL_VERIFY_MODE", "smtp.openssl_verify_mode", VarString},
	{"SMTP_ENABLE_STARTTLS", "smtp.enable_starttls", VarString},
	{"SMTP_DOMAIN", "smtp.domain", VarString},
	{"SMTP_DELIVERY_METHOD", "smtp.delivery_method", VarString},
	{"SMTP_TLS", "smtp.tls", VarBool},
	{"SMTP_SSL", "smtp.ssl", VarBool},
	{"S3_BUCKET", "media_bucket.bucket", VarString},
	{"S3_ENDPOINT", "media_bucket.endpoint", VarString},
	{"S3_REGION", "media_bucket.region", VarString},
	{"AWS_ACCESS_KEY_ID", "media_bucket.access_key_id", VarString},
	{"S3_ALIAS_HOST", "media_bucket.alias_host", VarString},
	{"S3_PERMISSION", "media_bucket.permission", VarString},
	// With S3_ENDPOINT set Mastodon addresses a bucket path-style unless
	// S3_OVERRIDE_PATH_STYLE is "true" (config/initializers/paperclip.rb):
	// path_style is its negation, set whenever S3 is.
	{"S3_OVERRIDE_PATH_STYLE", "media_bucket.path_style", VarNotTrue},
	{"DEEPL_PLAN", "translation.deepl.plan", VarString},
	{"LIBRE_TRANSLATE_ENDPOINT", "translation.libre_translate.endpoint", VarString},
	{"SINGLE_USER_MODE", "settings.single_user_mode", VarBool},
	{"AUTHORIZED_FETCH", "settings.authorized_fetch", VarBool},
	{"LIMITED_FEDERATION_MODE", "settings.limited_federation_mode", VarBool},
	{"DEFAULT_LOCALE", "settings.default_locale", VarString},
	{"TRUSTED_PROXY_IP", "settings.trusted_proxy_ip", VarString},
	{"TZ", "settings.time_zone", VarString},
	{"ALTERNATE_DOMAINS", "alternate_domains", VarList},
	{"CDN_HOST", "cdn_host", VarString},
	{EnvHCaptchaSiteKey, "hcaptcha.site_key", VarString},
	{EnvOTelEndpoint, "opentelemetry.endpoint", VarString},
	{EnvOTelPrefix, "opentelemetry.service_name_prefix", VarString},
	{EnvOTelSeparator, "opentelemetry.service_name_separator", VarString},
	{EnvOTelSampler, "opentelemetry.traces_sampler", VarString},
	{EnvOTelSamplerArg, "opentelemetry.traces_sampler_ratio", VarFloat},
	{EnvRailsLogLevel, "settings.rails_log_level", VarString},
	{EnvStreamingLogLevel, "streaming.log_level", VarString},
	{"EMAIL_DOMAIN_ALLOWLIST", "settings.email_domain_allowlist", VarPipeList},
	{"EMAIL_DOMAIN_DENYLIST", "settings.email_domain_denylist", VarPipeList},
	{"IP_RETENTION_PERIOD", "settings.ip_retention_seconds", VarInt},
	{"SESSION_RETENTION_PERIOD", "settings.session_retention_seconds", VarInt},
	{"USER_ACTIVE_DAYS", "settings.user_active_days", VarInt},
	{"DISALLOW_UNAUTHENTICATED_API_ACCESS", "settings.disallow_unauthenticated_api_access", VarBool},
	{"FORCE_DEFAULT_LOCALE", "settings.force_default_locale", VarBool},
	{"ALLOWED_PRIVATE_ADDRESSES", "settings.allowed_private_addresses", VarAddressList},
	{"http_proxy", "settings.http_proxy", VarString},
	{"http_hidden_proxy", "settings.http_hidden_proxy", VarString},
	{"ALLOW_ACCESS_TO_HIDDEN_SERVICE", "settings.allow_access_to_hidden_service", VarBool},
}

// ProcessVariables are set by how a chart runs its processes (the port
// Puma listens on, the Rails and Node environments, how many streaming
// workers): the instance's own processes set their own, so they are not
// carried over.
var ProcessVariables = map[string]bool{
	"PORT": true, "BIND": true, "RAILS_ENV": true, "NODE_ENV": true, "RAILS_SERVE_STATIC_FILES": true,
	"STREAMING_CLUSTER_NUM": true, "STREAMING_API_BASE_URL": true, "PREPARED_STATEMENTS": true,
	"MASTODON_PROMETHEUS_EXPORTER_ENABLED": true, "PROMETHEUS_EXPORTER_HOST": true, "PROMETHEUS_EXPORTER_PORT": true,
	"MIN_THREADS": true, "PERSISTENT_TIMEOUT": true,
}

// S3DefaultPermission is the canned ACL Mastodon gives uploads when
// S3_PERMISSION is unset (`ENV.fetch('S3_PERMISSION') { 'public-read' }`
// in config/initializers/paperclip.rb): a chart that does not set it
// relies on it, while the instance writes S3_PERMISSION always.
const S3DefaultPermission = "public-read"

// LooksSecret says whether a variable's name says it holds a secret
// (REPLICA_DB_PASS, OIDC_CLIENT_SECRET, LDAP_PASSWORD, SAML_PRIVATE_KEY,
// a token): the legacy chart keeps some of them in its ConfigMap, and an
// adoption keeps them in the instance's Secret (extra_secret_env), never
// in clear settings.
func LooksSecret(name string) bool {
	for _, part := range []string{"PASS", "SECRET", "PRIVATE", "TOKEN", "CREDENTIAL"} {
		if strings.Contains(name, part) {
			return true
		}
	}
	return strings.HasSuffix(name, "_KEY") && !strings.HasSuffix(name, "_PUBLIC_KEY") && !strings.HasSuffix(name, "_SITE_KEY")
}

// UnsetWhenFalse are switches a chart writes as "false" that Mastodon
// reads as off when unset (it compares with "true"; TestUnsetWhenFalse
// names where). Not AUTHORIZED_FETCH: set to anything, it overrides the
// admin's setting (app/helpers/authorized_fetch_helper.rb), so "false" is
// not unset.
var UnsetWhenFalse = map[string]bool{"S3_ENABLED": true, "ES_ENABLED": true,
	"DISALLOW_UNAUTHENTICATED_API_ACCESS": true, "FORCE_DEFAULT_LOCALE": true, "ALLOW_ACCESS_TO_HIDDEN_SERVICE": true,
	"SMTP_TLS": true, "SMTP_SSL": true, "SINGLE_USER_MODE": true, "LIMITED_FEDERATION_MODE": true}

// SidekiqCommand reads a Sidekiq process's command as the charts write it
// (bundle exec sidekiq -c N -q queue[,weight] ...): its queues, as the
// sidekiq block takes them, and its concurrency (0 when not given).
func SidekiqCommand(cmd []string) (queues []string, concurrency int32, err error) {
	for i := 0; i < len(cmd); i++ {
		flag := cmd[i]
		value := ""
		if i+1 < len(cmd) {
			value = cmd[i+1]
		}
		switch flag {
		case "-q", "--queue":
			queues = append(queues, value)
			i++
		case "-c", "--concurrency":
			n, err := strconv.Atoi(value)
			if err != nil {
				return nil, 0, fmt.Errorf("the concurrency %q is not a number", value)
			}
			concurrency = int32(n)
			i++
		}
	}
	if len(queues) == 0 {
		return nil, 0, fmt.Errorf("%q names no queue (-q)", strings.Join(cmd, " "))
	}
	return queues, concurrency, nil
}

// ImageTag splits an image reference into its repository and tag.
func ImageTag(image string) (repository, tag string) {
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		return image[:i], image[i+1:]
	}
	return image, ""
}
