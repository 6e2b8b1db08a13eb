package provider

import (
	"context"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

// present marks a block given with none of its attributes: `translation = {}`.
var present = struct{}{}

// crossRules are the rules between attributes (Spec.Validate and the
// features' validate, then Spec.Warnings), each with a configuration that breaks it, the
// error (its attribute and a part of its message) and every attribute it
// reads. The rules of maintenance (an unknown task, a retention on a task
// that takes none) have no case: the schema cannot express them.
var crossRules = []struct {
	config      map[string]any
	path, about string
	reads       []string
}{
	{map[string]any{"version": "v4.2.0"}, "version", "older than v4.3.0", []string{"version", "image.repository"}},
	{map[string]any{"sidekiq[0].name": "a", "sidekiq[1].name": "a"}, "sidekiq[1].name", "used by two processes",
		[]string{"sidekiq[0].name", "sidekiq[1].name"}},
	{map[string]any{"sidekiq[0].name": "a", "sidekiq[0].queues": []string{"scheduler"}, "sidekiq[1].name": "b", "sidekiq[1].queues": []string{"scheduler"}},
		"sidekiq[1].queues", "already served by process", []string{"sidekiq[0].name", "sidekiq[0].queues", "sidekiq[1].queues"}},
	{map[string]any{"sidekiq[0].name": "a", "sidekiq[0].queues": []string{"scheduler"}, "sidekiq[0].autoscaling.max_replicas": 3,
		"sidekiq[0].autoscaling.target_cpu_utilization": 70, "sidekiq[0].resources.cpu_request": "100m"},
		"sidekiq[0].autoscaling", "it cannot autoscale", []string{"sidekiq[0].name", "sidekiq[0].queues", "sidekiq[0].autoscaling"}},
	{map[string]any{"sidekiq[0].name": "a", "sidekiq[0].queues": []string{"scheduler"}, "sidekiq[0].external_scaling": true},
		"sidekiq[0].external_scaling", "cannot be scaled by another controller",
		[]string{"sidekiq[0].name", "sidekiq[0].queues", "sidekiq[0].external_scaling", "sidekiq[0].autoscaling"}},
	{map[string]any{"sidekiq[0].name": "a", "sidekiq[0].queues": []string{"scheduler"}, "sidekiq[0].replicas": 2},
		"sidekiq[0].replicas", "at most 1 replica",
		[]string{"sidekiq[0].name", "sidekiq[0].queues", "sidekiq[0].replicas", "sidekiq[0].autoscaling", "sidekiq[0].external_scaling"}},
	{map[string]any{"sidekiq[0].name": "a", "sidekiq[0].queues": []string{"default"}}, "sidekiq", "no process serves the",
		[]string{"sidekiq", "sidekiq[0].queues", "version"}},
	{map[string]any{"sidekiq[0].name": "a", "sidekiq[0].queues": slices.DeleteFunc(slices.Clone(mastodon.QueuesOf(mastodon.DefaultVersion)), func(q string) bool { return q == "scheduler" }), "sidekiq[0].replicas": 0,
		"sidekiq[1].name": "b", "sidekiq[1].queues": []string{"scheduler"}},
		"sidekiq", "has 0 replicas", []string{"sidekiq", "sidekiq[0].queues", "sidekiq[0].replicas", "sidekiq[1].replicas", "version"}},
	{map[string]any{"database.user": "m"}, "database.host", "must be set (or database.cloud_sql)", []string{"database", "database.host", "database.cloud_sql"}},
	{map[string]any{"database.host": "db", "database.ca_certificate_pem": "junk"}, "database.ca_certificate_pem", "holds no PEM certificate",
		[]string{"database.ca_certificate_pem", "database.cloud_sql"}},
	{map[string]any{"database.cloud_sql.instance_connection_name": "p:r:i", "database.cloud_sql.workload_identity_service_account": "gsa", "database.ca_certificate_pem": "junk"},
		"database.ca_certificate_pem", "conflicts with database.cloud_sql", []string{"database.ca_certificate_pem", "database.cloud_sql"}},
	{map[string]any{"database.cloud_sql.instance_connection_name": "p:r:i", "database.cloud_sql.workload_identity_service_account": "gsa", "database.cloud_sql.credentials_json": "{}"},
		"database.cloud_sql.credentials_json", "authenticate one way",
		[]string{"database.cloud_sql.credentials_json", "database.cloud_sql.credentials_json_wo", "database.cloud_sql.credentials_json_secret_ref",
			"database.cloud_sql.workload_identity_service_account"}},
	{map[string]any{"database.cloud_sql.instance_connection_name": "p:r:i", "database.cloud_sql.workload_identity_service_account": "gsa",
		"database.cloud_sql.credentials_json_secret_ref.name": "key", "database.cloud_sql.credentials_json_secret_ref.key": "key.json"},
		"database.cloud_sql.credentials_json", "authenticate one way",
		[]string{"database.cloud_sql.credentials_json", "database.cloud_sql.credentials_json_wo", "database.cloud_sql.credentials_json_secret_ref",
			"database.cloud_sql.workload_identity_service_account"}},
	{map[string]any{"database.cloud_sql.instance_connection_name": "p:r:i"}, "database.cloud_sql.workload_identity_service_account", "needs a way to authenticate",
		[]string{"database.cloud_sql", "database.cloud_sql.credentials_json", "database.cloud_sql.credentials_json_wo",
			"database.cloud_sql.credentials_json_secret_ref", "database.cloud_sql.workload_identity_service_account"}},
	{map[string]any{"database.cloud_sql.instance_connection_name": "p:r:i", "database.cloud_sql.credentials_json": "e30="},
		"database.cloud_sql.credentials_json", "is not a service-account key in JSON",
		[]string{"database.cloud_sql.credentials_json", "database.cloud_sql.credentials_json_wo"}},
	{map[string]any{"database.host": "db", "database.sslmode": "verify-full"}, "database.sslmode", "none is given",
		[]string{"database.sslmode", "database.cloud_sql", "database.ca_certificate_pem"}},
	{map[string]any{"database.host": "db", "database.pool": 2, "web.max_threads": 5}, "database.pool", "is below web.max_threads",
		[]string{"database.pool", "web.max_threads"}},
	{map[string]any{"database.host": "db", "database.max_connections": -1}, "database.max_connections", "must not be negative", []string{"database.max_connections"}},
	{map[string]any{"backup": present, "database.host": "db"}, "backup", "backs up the embedded PostgreSQL only",
		[]string{"backup", "database", "database.cloud_sql"}},
	{map[string]any{"redis.password": "x"}, "redis.host", "must be set", []string{"redis.host", "redis.sentinel"}},
	{map[string]any{"sidekiq_redis.password": "x"}, "sidekiq_redis.host", "must be set", []string{"sidekiq_redis.host", "sidekiq_redis.sentinel"}},
	{map[string]any{"cache_redis.host": "c", "embedded_cache_redis": present}, "embedded_cache_redis", "conflicts with cache_redis",
		[]string{"embedded_cache_redis", "cache_redis"}},
	{map[string]any{"cache_redis.host": "c", "cache_redis.tls": true, "cache_redis.password_secret_ref.name": "r", "cache_redis.password_secret_ref.key": "k"},
		"cache_redis.password_secret_ref", "cannot be used with cache_redis.tls", []string{"cache_redis.password_secret_ref", "cache_redis.tls"}},
	{map[string]any{"redis.host": "r", "redis.sentinel.master": "m", "redis.sentinel.hosts": []string{"s"}}, "redis.sentinel", "conflicts with redis.host",
		[]string{"redis.sentinel", "redis.host"}},
	{map[string]any{"sidekiq_redis.tls": true, "sidekiq_redis.sentinel.master": "m", "sidekiq_redis.sentinel.hosts": []string{"s"}}, "sidekiq_redis.sentinel",
		"conflicts with sidekiq_redis.tls", []string{"sidekiq_redis.sentinel", "sidekiq_redis.tls"}},
	{map[string]any{"cache_redis.sentinel.master": "m", "cache_redis.sentinel.hosts": []string{}}, "cache_redis.sentinel.hosts", "must name at least one Sentinel",
		[]string{"cache_redis.sentinel.hosts"}},
	{map[string]any{"sidekiq_redis.host": "s", "settings.extra_env": map[string]string{"SIDEKIQ_REDIS_SENTINELS": "s:26379"}}, "settings.extra_env", "is set by sidekiq_redis",
		[]string{"settings.extra_env", "sidekiq_redis"}},
	// What the instance renders because of a block waits for the block.
	{map[string]any{"database.host": "db", "settings.extra_secret_env": map[string]string{"DB_PASS": "x"}}, "settings.extra_secret_env", "is set by database",
		[]string{"settings.extra_secret_env", "database"}},
	// What an adoption maps is refused whatever else is set.
	{map[string]any{"settings.extra_env": map[string]string{"SIDEKIQ_REDIS_DB": "3"}}, "settings.extra_env", "is set by sidekiq_redis.db",
		[]string{"settings.extra_env"}},
	{map[string]any{"settings.extra_env": map[string]string{"A": "1"}, "settings.extra_secret_env": map[string]string{"A": "2"}},
		"settings.extra_env", "is also in settings.extra_secret_env", []string{"settings.extra_env", "settings.extra_secret_env"}},
	{map[string]any{"settings.extra_env": map[string]string{"A": "1"}, "settings.extra_secret_env": map[string]string{"A": "2"},
		"settings.extra_secret_env_wo": map[string]string{"A": "3"}, "settings.extra_secret_env_wo_version": 1},
		"settings.extra_secret_env_wo", "is also in settings.extra_env or settings.extra_secret_env",
		[]string{"settings.extra_secret_env_wo", "settings.extra_env", "settings.extra_secret_env"}},
	{map[string]any{"web.autoscaling.min_replicas": 0, "web.autoscaling.max_replicas": 2, "web.autoscaling.target_cpu_utilization": 70, "web.resources.cpu_request": "1"},
		"web.autoscaling.min_replicas", "must be at least 1", []string{"web.autoscaling.min_replicas"}},
	{map[string]any{"web.autoscaling.min_replicas": 3, "web.autoscaling.max_replicas": 2, "web.autoscaling.target_cpu_utilization": 70, "web.resources.cpu_request": "1"},
		"web.autoscaling.max_replicas", "must be at least min_replicas", []string{"web.autoscaling.min_replicas", "web.autoscaling.max_replicas"}},
	{map[string]any{"web.autoscaling.max_replicas": 2}, "web.autoscaling", "has nothing to measure",
		[]string{"web.autoscaling", "web.autoscaling.target_cpu_utilization", "web.autoscaling.target_memory_utilization"}},
	{map[string]any{"web.autoscaling.max_replicas": 2, "web.autoscaling.target_cpu_utilization": -1, "web.autoscaling.target_memory_utilization": 70, "web.resources.memory_request": "1Gi"},
		"web.autoscaling.target_cpu_utilization", "must be a positive percentage", []string{"web.autoscaling.target_cpu_utilization"}},
	{map[string]any{"opensearch.host": "os", "settings.extra_env": map[string]string{"ES_HOST": "x"}}, "settings.extra_env", "is set by opensearch",
		[]string{"settings.extra_env", "opensearch"}},
	{map[string]any{"opensearch.port": 9200}, "opensearch.host", "must be set", []string{"opensearch.host"}},
	{map[string]any{"opensearch.host": "os", "opensearch.password": "p"}, "opensearch.user", "must be set with opensearch.password",
		[]string{"opensearch.user", "opensearch.password", "opensearch.password_wo", "opensearch.password_secret_ref"}},
	{map[string]any{"opensearch.host": "os", "opensearch.password_secret_ref.name": "os", "opensearch.password_secret_ref.key": "password"},
		"opensearch.user", "must be set with opensearch.password",
		[]string{"opensearch.user", "opensearch.password", "opensearch.password_wo", "opensearch.password_secret_ref"}},
	{map[string]any{"opensearch.host": "os", "opensearch.ca_certificate_pem": "ca", "opensearch.scheme": "http"}, "opensearch.ca_certificate_pem", "needs opensearch.scheme",
		[]string{"opensearch.ca_certificate_pem", "opensearch.scheme"}},
	{map[string]any{"smtp.from_address": "a@b.example"}, "smtp.server", "must be set", []string{"smtp.server"}},
	{map[string]any{"smtp.server": "mail", "smtp.tls": true, "smtp.ssl": true}, "smtp.tls", "conflicts with smtp.ssl", []string{"smtp.tls", "smtp.ssl"}},
	{map[string]any{"smtp.server": "mail", "smtp.tls": true, "smtp.enable_starttls": "always"}, "smtp.enable_starttls", "must be never",
		[]string{"smtp.enable_starttls", "smtp.tls", "smtp.ssl"}},
	{map[string]any{"translation": present}, "translation", "needs translation.deepl or translation.libre_translate",
		[]string{"translation", "translation.deepl", "translation.libre_translate"}},
	{map[string]any{"translation.deepl.api_key": "k", "translation.libre_translate.endpoint": "https://lt.example"}, "translation.deepl", "conflicts with translation.libre_translate",
		[]string{"translation.deepl", "translation.libre_translate"}},
	{map[string]any{"translation.deepl.plan": "free"}, "translation.deepl.api_key", "must be set",
		[]string{"translation.deepl.api_key", "translation.deepl.api_key_wo", "translation.deepl.api_key_secret_ref"}},
	{map[string]any{"translation.deepl.api_key": "k", "settings.extra_env": map[string]string{"DEEPL_API_URL": "https://deepl.example"}}, "settings.extra_env", "is set by translation",
		[]string{"settings.extra_env", "translation"}},
	{map[string]any{"media_bucket.endpoint": "https://s3.example", "media_bucket.access_key_id": "k", "media_bucket.secret_access_key": "s"},
		"media_bucket.bucket", "must be set", []string{"media_bucket.bucket"}},
	{map[string]any{"media_bucket.bucket": "b", "media_bucket.endpoint": "s3.example", "media_bucket.access_key_id": "k", "media_bucket.secret_access_key": "s"},
		"media_bucket.endpoint", "must be a URL", []string{"media_bucket.endpoint"}},
	{map[string]any{"media_bucket.bucket": "b", "media_bucket.endpoint": "https://s3.example", "media_bucket.secret_access_key": "s"},
		"media_bucket.access_key_id", "must be set with secret_access_key",
		[]string{"media_bucket.access_key_id", "media_bucket.secret_access_key", "media_bucket.secret_access_key_wo"}},
	{map[string]any{"media_bucket.bucket": "b", "media_bucket.endpoint": "https://s3.example", "media_bucket.secret_access_key_wo": "s", "media_bucket.secret_access_key_wo_version": 1},
		"media_bucket.access_key_id", "must be set with secret_access_key",
		[]string{"media_bucket.access_key_id", "media_bucket.secret_access_key_wo"}},
	{map[string]any{"media_bucket.bucket": "b", "media_bucket.endpoint": "https://s3.example", "media_bucket.access_key_id": "k"},
		"media_bucket.secret_access_key", "must be set with access_key_id",
		[]string{"media_bucket.access_key_id", "media_bucket.secret_access_key", "media_bucket.secret_access_key_wo", "media_bucket.secret_access_key_secret_ref"}},
	{map[string]any{"media_bucket.bucket": "b", "media_bucket.endpoint": "https://storage.googleapis.com"},
		"media_bucket.access_key_id", "takes only HMAC keys",
		[]string{"media_bucket.access_key_id", "media_bucket.secret_access_key", "media_bucket.secret_access_key_wo", "media_bucket.secret_access_key_secret_ref", "media_bucket.endpoint"}},
	// A credential's three forms (validateWriteOnly): one at most. A
	// reference whose name alone is unknown is not judged either.
	{map[string]any{"smtp.server": "mail", "smtp.password": "p", "smtp.password_secret_ref.name": "mail", "smtp.password_secret_ref.key": "password"},
		"smtp.password_secret_ref", "conflicts with smtp.password:",
		[]string{"smtp.password", "smtp.password_secret_ref", "smtp.password_secret_ref.name", "smtp", "smtp.password_secret_ref.key"}},
	{map[string]any{"database.host": "db", "database.password_wo": "p", "database.password_wo_version": 1,
		"database.password_secret_ref.name": "db", "database.password_secret_ref.key": "password"},
		"database.password_secret_ref", "conflicts with database.password_wo:",
		[]string{"database.password_wo", "database.password_wo_version", "database.password_secret_ref", "database.password_secret_ref.name", "database"}},
	{map[string]any{"restore.key": "dump", "restore.bucket.bucket": "b", "restore.bucket.endpoint": "https://s3.example", "restore.bucket.access_key_id": "k",
		"restore.bucket.secret_access_key": "s", "restore.bucket.secret_access_key_secret_ref.name": "b", "restore.bucket.secret_access_key_secret_ref.key": "k"},
		"restore.bucket.secret_access_key_secret_ref", "conflicts with restore.bucket.secret_access_key:",
		[]string{"restore.bucket.secret_access_key", "restore.bucket.secret_access_key_secret_ref", "restore.bucket"}},
	{map[string]any{"settings.extra_secret_env": map[string]string{"A": "1"}, "settings.extra_secret_env_refs": map[string]map[string]string{"A": {"name": "s", "key": "k"}}},
		"settings.extra_secret_env_refs", "is also in settings.extra_env, settings.extra_secret_env or settings.extra_secret_env_wo",
		[]string{"settings.extra_secret_env_refs", "settings.extra_env", "settings.extra_secret_env", "settings.extra_secret_env_wo"}},
	{map[string]any{"opensearch.host": "os", "settings.extra_secret_env_refs": map[string]map[string]string{"ES_PASS": {"name": "s", "key": "k"}}},
		"settings.extra_secret_env_refs", "is set by opensearch", []string{"settings.extra_secret_env_refs", "opensearch"}},
	{map[string]any{"metrics.enabled": true, "version": "v4.3.0"}, "metrics", "has no Prometheus exporter", []string{"metrics", "metrics.enabled", "version"}},
	{map[string]any{"metrics.enabled": true, "metrics.service_monitor": false, "metrics.service_monitor_labels": map[string]string{"team": "social"}},
		"metrics.service_monitor_labels", "which metrics.service_monitor = false leaves out",
		[]string{"metrics.enabled", "metrics.service_monitor", "metrics.service_monitor_labels"}},
	{map[string]any{"ingress.tls_secret_name": "tls", "ingress.certificate_pem": "cert"}, "ingress.tls_secret_name", "give an existing Secret or a certificate",
		[]string{"ingress.tls_secret_name", "ingress.certificate_pem", "ingress.private_key_pem", "ingress.private_key_pem_wo"}},
	{map[string]any{"ingress.certificate_pem": "cert"}, "ingress.certificate_pem", "must be given together",
		[]string{"ingress.tls_secret_name", "ingress.certificate_pem", "ingress.private_key_pem", "ingress.private_key_pem_wo"}},
	{map[string]any{"ingress.certificate_pem": "cert", "ingress.private_key_pem": "key"}, "ingress.certificate_pem", "do not parse as a matching PEM",
		[]string{"ingress.tls_secret_name", "ingress.certificate_pem", "ingress.private_key_pem", "ingress.private_key_pem_wo"}},
	{map[string]any{"own_secrets.values_wo": map[string]string{mastodon.EnvDBPassword: "pw"}, "own_secrets.values_wo_version": 1, "database.host": "db"},
		"own_secrets.values_wo", "is the password of the embedded service", []string{"own_secrets.values_wo", "database"}},
	{map[string]any{"own_secrets.secret_name": "old", "own_secrets.secret_keys": map[string]string{mastodon.EnvRedisPassword: "redis-password"}, "redis.host": "redis"},
		"own_secrets.secret_keys", "is the password of the embedded service", []string{"own_secrets.secret_keys", "redis"}},
	{map[string]any{"web.pod.node_selector": map[string]string{"pool": "web"}, "sidekiq[0].name": "all", "sidekiq[0].queues": mastodon.QueuesOf(mastodon.DefaultVersion),
		"sidekiq[0].pod.node_selector": map[string]string{"pool": "workers"}}, "web.pod.node_selector", "runs on one node, which cannot have both",
		[]string{"web.pod.node_selector", "sidekiq[0].pod.node_selector", "pod.node_selector", "media.access_mode", "media_bucket"}},
	{map[string]any{"web.replicas": 2, "web.pod.topology_spread[0].topology_key": "kubernetes.io/hostname", "web.pod.topology_spread[0].when_unsatisfiable": "DoNotSchedule"},
		"web.pod.topology_spread", "spreads across nodes with DoNotSchedule",
		[]string{"web.replicas", "web.pod.topology_spread", "web.pod.topology_spread[0].topology_key", "web.pod.topology_spread[0].when_unsatisfiable", "media.access_mode", "media_bucket"}},
	{map[string]any{"web.replicas": 2, "web.pod.affinity.pod_anti_affinity[0].topology_key": "kubernetes.io/hostname",
		"web.pod.affinity.pod_anti_affinity[0].match_labels": map[string]string{"app.kubernetes.io/component": "web"}},
		"web.pod.affinity.pod_anti_affinity", "requires Pods apart on nodes",
		[]string{"web.replicas", "web.pod.affinity.pod_anti_affinity[0].topology_key", "web.pod.affinity.pod_anti_affinity[0].match_labels",
			"web.pod.affinity.pod_anti_affinity[0].weight", "media.access_mode", "media_bucket"}},
	{map[string]any{"pod.tolerations[0].key": "dedicated", "pod.tolerations[0].operator": "Exists", "pod.tolerations[0].value": "x"},
		"pod.tolerations[0].value", "must be empty with operator Exists", []string{"pod.tolerations[0].operator", "pod.tolerations[0].value"}},
	{map[string]any{"service_account.name": "existing", "service_account.annotations": map[string]string{"eks.amazonaws.com/role-arn": "arn"}},
		"service_account.annotations", "names an existing one", []string{"service_account.name", "service_account.annotations"}},
	{map[string]any{"ingress": present, "gateway.name": "public"}, "gateway", "conflicts with ingress", []string{"gateway", "ingress"}},
	// Warnings name what they read too.
	{map[string]any{"media_bucket.bucket": "b", "media_bucket.endpoint": "https://minio.example"},
		"media_bucket.access_key_id", "the first upload fails",
		[]string{"media_bucket.access_key_id", "media_bucket.secret_access_key", "media_bucket.secret_access_key_wo", "media_bucket.endpoint", "service_account"}},
	{map[string]any{"web.autoscaling.max_replicas": 2, "web.autoscaling.target_memory_utilization": 70, "web.resources.memory_request": "1Gi", "media_bucket.bucket": "b"},
		"web.autoscaling.target_memory_utilization", "seldom returns memory",
		[]string{"web.autoscaling.target_memory_utilization", "web.autoscaling.target_cpu_utilization"}},
	{map[string]any{"web.autoscaling.max_replicas": 2, "web.autoscaling.target_cpu_utilization": 70, "web.resources.cpu_request": "1"},
		"web.autoscaling", "the media volume is ReadWriteOnce", []string{"web.autoscaling", "media.access_mode", "media_bucket"}},
	{map[string]any{"maintenance.preview_cards.enabled": true, "maintenance.preview_cards.retention_days": 7}, "maintenance.preview_cards.retention_days",
		"fetches a preview card again", []string{"maintenance.enabled", "maintenance.preview_cards.enabled", "maintenance.preview_cards.retention_days"}},
	{map[string]any{"streaming_domain": "www.social.example", "web_domain": "www.social.example"}, "streaming_domain", "is web_domain",
		[]string{"streaming_domain", "web_domain"}},
	{map[string]any{"alternate_domains": []string{"social.example.net", "social.example.net"}}, "alternate_domains[1]", "listed twice",
		[]string{"alternate_domains"}},
	{map[string]any{"ingress.tls_secret_name": "tls", "web_domain": "www.social.example"}, "ingress", "not known to cover local_domain",
		[]string{"ingress", "ingress.tls_secret_name", "local_domain", "web_domain"}},
	{map[string]any{"database.host": "db", "database.max_connections": 20}, "database", "at full scale",
		[]string{"database.max_connections", "database.pool", "web", "streaming", "sidekiq", "backup", "maintenance", "opensearch"}},
}

// Every rule between attributes reports its error when everything is
// known, and none while any one attribute it reads is unknown: what it
// reads is named, not guessed.
func TestCrossRulesSkipUnknown(t *testing.T) {
	for _, rule := range crossRules {
		if !crossReported(t, rule.config, "", rule.path, rule.about) {
			t.Errorf("%s (%s): not reported with everything known", rule.path, rule.about)
		}
		for _, u := range rule.reads {
			if crossReported(t, rule.config, u, rule.path, rule.about) {
				t.Errorf("%s (%s): reported while %s is unknown", rule.path, rule.about, u)
			}
		}
	}
}

// An error beside an unknown value that its rule does not read is
// reported: the unknown server cannot make smtp.tls and smtp.ssl agree.
func TestCrossRuleBesideUnknown(t *testing.T) {
	config := map[string]any{"smtp.server": "mail", "smtp.tls": true, "smtp.ssl": true}
	if !crossReported(t, config, "smtp.server", "smtp.tls", "conflicts with smtp.ssl") {
		t.Error("smtp.tls conflicting with smtp.ssl, smtp.server unknown: not reported")
	}
	config = map[string]any{"database.host": "db", "database.pool": 2, "web.max_threads": 5}
	if !crossReported(t, config, "database.port", "database.pool", "is below web.max_threads") {
		t.Error("database.pool below web.max_threads, database.port unknown: not reported")
	}
}

// crossReported says whether ValidateConfig reports the problem of path
// (an error or a warning whose message holds about) on the instance
// configured by config, with the attribute at unknown (if any) unknown.
func crossReported(t *testing.T, config map[string]any, unknown, path, about string) bool {
	t.Helper()
	ctx := context.Background()
	r := &instanceResource{}
	var sr resource.SchemaResponse
	r.Schema(ctx, resource.SchemaRequest{}, &sr)
	vals := map[string]any{"name": "social", "namespace": "mastodon", "local_domain": "social.example"}
	for k, v := range config {
		vals[k] = v
	}
	found := unknown == ""
	raw := crossValue(t, sr.Schema.Type().TerraformType(ctx), "", vals, unknown, &found)
	if !found {
		t.Fatalf("%s: no such attribute", unknown)
	}
	resp := &resource.ValidateConfigResponse{}
	r.ValidateConfig(ctx, resource.ValidateConfigRequest{Config: tfsdk.Config{Schema: sr.Schema, Raw: raw}}, resp)
	for _, d := range resp.Diagnostics {
		if strings.HasPrefix(d.Detail(), path+": ") && strings.Contains(d.Detail(), about) {
			return true
		}
	}
	return false
}

// crossValue is the value of type typ at path at: unknown when at is
// unknown; a block present when vals gives it or anything inside it (or
// unknown lies inside it), else null; a leaf as vals gives it, else null.
func crossValue(t *testing.T, typ tftypes.Type, at string, vals map[string]any, unknown string, found *bool) tftypes.Value {
	if unknown != "" && at == unknown {
		*found = true
		return tftypes.NewValue(typ, tftypes.UnknownValue)
	}
	inside := func(p string) bool { return at == "" || strings.HasPrefix(p, at+".") || strings.HasPrefix(p, at+"[") }
	given := inside(unknown)
	for p := range vals {
		given = given || p == at || inside(p)
	}
	if !given {
		return tftypes.NewValue(typ, nil)
	}
	switch tt := typ.(type) {
	case tftypes.Object:
		attrs := map[string]tftypes.Value{}
		for name, at2 := range tt.AttributeTypes {
			p := name
			if at != "" {
				p = at + "." + name
			}
			attrs[name] = crossValue(t, at2, p, vals, unknown, found)
		}
		return tftypes.NewValue(tt, attrs)
	case tftypes.List:
		if _, ok := tt.ElementType.(tftypes.Object); ok {
			var elems []tftypes.Value
			for i := 0; ; i++ {
				p := at + "[" + strconv.Itoa(i) + "]"
				e := crossValue(t, tt.ElementType, p, vals, unknown, found)
				if e.IsNull() {
					return tftypes.NewValue(tt, elems)
				}
				elems = append(elems, e)
			}
		}
	}
	return crossLeaf(t, typ, at, vals[at])
}

// crossLeaf is a string, bool, number, list of strings or map of strings.
func crossLeaf(t *testing.T, typ tftypes.Type, at string, v any) tftypes.Value {
	switch v := v.(type) {
	case string, bool:
		return tftypes.NewValue(typ, v)
	case int:
		return tftypes.NewValue(typ, big.NewFloat(float64(v)))
	case []string:
		var elems []tftypes.Value
		for _, s := range v {
			elems = append(elems, tftypes.NewValue(tftypes.String, s))
		}
		return tftypes.NewValue(typ, elems)
	case map[string]string:
		elems := map[string]tftypes.Value{}
		for k, s := range v {
			elems[k] = tftypes.NewValue(tftypes.String, s)
		}
		return tftypes.NewValue(typ, elems)
	case map[string]map[string]string: // a map of objects of strings
		elem := typ.(tftypes.Map).ElementType
		elems := map[string]tftypes.Value{}
		for k, o := range v {
			attrs := map[string]tftypes.Value{}
			for a := range elem.(tftypes.Object).AttributeTypes {
				attrs[a] = tftypes.NewValue(tftypes.String, nil)
				if s, ok := o[a]; ok {
					attrs[a] = tftypes.NewValue(tftypes.String, s)
				}
			}
			elems[k] = tftypes.NewValue(elem, attrs)
		}
		return tftypes.NewValue(typ, elems)
	}
	t.Fatalf("%s: cannot give %T", at, v)
	return tftypes.Value{}
}
