package provider

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

// envSettingsOn switches on every setting of issue 25's items 5, 7 and 8.
const envSettingsOn = `  hcaptcha = { site_key = "site-1", secret_key = "hc-secret-1" }
  opentelemetry = {
    endpoint               = "http://otel.monitoring:4318"
    service_name_prefix    = "social"
    traces_sampler         = "parentbased_traceidratio"
    traces_sampler_ratio   = 0.25
  }
  streaming = { log_level = "debug" }
  settings = {
    rails_log_level                     = "warn"
    email_domain_allowlist              = ["social.example", "example.org"]
    email_domain_denylist               = ["spam.example"]
    ip_retention_seconds                = 2592000
    session_retention_seconds           = 7776000
    user_active_days                    = 14
    disallow_unauthenticated_api_access = true
    force_default_locale                = true
    allowed_private_addresses           = ["10.0.0.0/8", "fd00::/8"]
    http_proxy                          = "http://proxy.net:3128"
    http_hidden_proxy                   = "http://privoxy.tor:8118"
    allow_access_to_hidden_service      = true
  }
`

// envSettingsChanged changes values: the hCaptcha key given write-only, the
// levels, a list shorter, the sampler without a ratio, the proxies gone.
const envSettingsChanged = `  hcaptcha = {
    site_key              = "site-2"
    secret_key_wo         = "hc-secret-2"
    secret_key_wo_version = 1
  }
  opentelemetry = { endpoint = "http://otel.monitoring:4318", traces_sampler = "always_on" }
  streaming     = { log_level = "warn" }
  settings = {
    rails_log_level        = "error"
    email_domain_allowlist = ["social.example"]
    user_active_days       = 30
  }
`

// The environment of each configuration: "" is absent.
var (
	envSettingsOff = map[string]string{
		"HCAPTCHA_SITE_KEY": "", "OTEL_EXPORTER_OTLP_ENDPOINT": "", "OTEL_SERVICE_NAME_PREFIX": "", "OTEL_TRACES_SAMPLER": "",
		"OTEL_TRACES_SAMPLER_ARG": "", "RAILS_LOG_LEVEL": "", "LOG_LEVEL": "", "EMAIL_DOMAIN_ALLOWLIST": "", "EMAIL_DOMAIN_DENYLIST": "",
		"IP_RETENTION_PERIOD": "", "SESSION_RETENTION_PERIOD": "", "USER_ACTIVE_DAYS": "", "DISALLOW_UNAUTHENTICATED_API_ACCESS": "",
		"FORCE_DEFAULT_LOCALE": "", "ALLOWED_PRIVATE_ADDRESSES": "", "http_proxy": "", "http_hidden_proxy": "", "ALLOW_ACCESS_TO_HIDDEN_SERVICE": "",
	}
	envSettingsOnEnv = map[string]string{
		"HCAPTCHA_SITE_KEY": "site-1", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel.monitoring:4318", "OTEL_SERVICE_NAME_PREFIX": "social",
		"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.25", "RAILS_LOG_LEVEL": "warn", "LOG_LEVEL": "debug",
		"EMAIL_DOMAIN_ALLOWLIST": "social.example|example.org", "EMAIL_DOMAIN_DENYLIST": "spam.example", "IP_RETENTION_PERIOD": "2592000",
		"SESSION_RETENTION_PERIOD": "7776000", "USER_ACTIVE_DAYS": "14", "DISALLOW_UNAUTHENTICATED_API_ACCESS": "true", "FORCE_DEFAULT_LOCALE": "true",
		"ALLOWED_PRIVATE_ADDRESSES": "10.0.0.0/8,fd00::/8", "http_proxy": "http://proxy.net:3128", "http_hidden_proxy": "http://privoxy.tor:8118",
		"ALLOW_ACCESS_TO_HIDDEN_SERVICE": "true",
	}
	envSettingsChangedEnv = func() map[string]string {
		out := maps.Clone(envSettingsOff)
		maps.Copy(out, map[string]string{"HCAPTCHA_SITE_KEY": "site-2", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel.monitoring:4318",
			"OTEL_TRACES_SAMPLER": "always_on", "RAILS_LOG_LEVEL": "error", "LOG_LEVEL": "warn", "EMAIL_DOMAIN_ALLOWLIST": "social.example",
			"USER_ACTIVE_DAYS": "30"})
		return out
	}()
)

// The settings of issue 25 (hCaptcha, OpenTelemetry, the log levels, the
// registrations, retention and outbound requests' settings) and the
// accounts cull and refresh tasks, with an admin user present: switched
// on, their variables reach the ConfigMap (the hCaptcha secret the Secret
// only) and every Deployment rolls; the two tasks' CronJobs come with the
// web Pod's spec. A change of the tasks alone rolls nothing; a change of
// the values rolls every Deployment, the write-only secret key reaching
// the Secret; switched off, every variable and CronJob goes. Throughout,
// the generated secrets, the admin's password and objects, the volumes
// and someone else's ConfigMap stay, and the admin user is never planned.
func TestAccInstance_envSettings(t *testing.T) {
	c := newTestCluster(t)
	ns := c.namespace(t, "acc-envset")
	ctx := context.Background()
	if _, err := c.cs.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "someone-elses"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	spec := mastodon.Spec{Name: "social", Namespace: ns}
	defaults := []string{"social-mt-cards", "social-mt-media", "social-mt-orphans"}
	tasks := func(cull, refresh string) string {
		return fmt.Sprintf("  maintenance = {\n    accounts_cull    = %s\n    accounts_refresh = %s\n  }\n", cull, refresh)
	}
	var (
		first         snapshot
		adminPassword string
		checksums     map[string]string
	)
	// check compares the cluster with env (the ConfigMap's variables, ""
	// for absent) and secret (HCAPTCHA_SECRET_KEY in the Secret), and
	// whether every Deployment rolled since the last check.
	check := func(env map[string]string, secret string, rolled bool) resource.TestCheckFunc {
		return func(s *terraform.State) error {
			cm, err := c.cs.CoreV1().ConfigMaps(ns).Get(ctx, spec.ConfigMapName(), metav1.GetOptions{})
			if err != nil {
				return err
			}
			for k, want := range env {
				if got, ok := cm.Data[k]; got != want || ok != (want != "") {
					return fmt.Errorf("ConfigMap %s: %s = %q (set %v), want %q", cm.Name, k, got, ok, want)
				}
			}
			if _, ok := cm.Data[mastodon.EnvHCaptchaSecretKey]; ok {
				return fmt.Errorf("the ConfigMap holds %s", mastodon.EnvHCaptchaSecretKey)
			}
			sec, err := c.cs.CoreV1().Secrets(ns).Get(ctx, spec.SecretName(), metav1.GetOptions{})
			if err != nil {
				return err
			}
			if got, ok := sec.Data[mastodon.EnvHCaptchaSecretKey]; string(got) != secret || ok != (secret != "") {
				return fmt.Errorf("the Secret's %s: %q (set %v), want %q", mastodon.EnvHCaptchaSecretKey, got, ok, secret)
			}
			deps, err := c.cs.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/instance=social"})
			if err != nil || len(deps.Items) < 3 {
				return fmt.Errorf("the instance's Deployments: %d (%w)", len(deps.Items), err)
			}
			now := map[string]string{}
			for _, d := range deps.Items {
				now[d.Name] = d.Spec.Template.Annotations[mastodon.AnnotationChecksum]
				if was, ok := checksums[d.Name]; checksums != nil && (!ok || (was != now[d.Name]) != rolled) {
					return fmt.Errorf("Deployment %s: checksum %s, was %s: rolled %v, want %v", d.Name, now[d.Name], was, was != now[d.Name], rolled)
				}
			}
			checksums = now
			snap, err := c.snapshot(ns, s)
			if err != nil {
				return err
			}
			password := s.RootModule().Resources["mastodon_admin_user.owner"].Primary.Attributes["password"]
			if first.secrets == nil {
				first, adminPassword = snap, password
			} else if !reflect.DeepEqual(snap, first) || password != adminPassword {
				return fmt.Errorf("changed by the settings (or the admin's password, %v):\nbefore %+v\nnow    %+v", password != adminPassword, first, snap)
			}
			return nil
		}
	}
	cronSchedule := func(name, want string) resource.TestCheckFunc {
		return func(*terraform.State) error {
			cj, err := c.cs.BatchV1().CronJobs(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			if cj.Spec.Schedule != want {
				return fmt.Errorf("CronJob %s runs at %q, want %q", name, cj.Spec.Schedule, want)
			}
			return nil
		}
	}
	adminNoop := resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
		plancheck.ExpectResourceAction("mastodon_instance.test", plancheck.ResourceActionUpdate),
		plancheck.ExpectResourceAction("mastodon_admin_user.owner", plancheck.ResourceActionNoop),
	}}
	on := envSettingsOn + tasks("{ enabled = true }", "{ enabled = true }")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{
				Config: lifecycleConfig(ns, mastodon.DefaultVersion, ""),
				Check:  resource.ComposeAggregateTestCheckFunc(check(envSettingsOff, "", false), c.checkCronJobs(ns, defaults...)),
			},
			{
				Config:           lifecycleConfig(ns, mastodon.DefaultVersion, on),
				ConfigPlanChecks: adminNoop,
				Check: resource.ComposeAggregateTestCheckFunc(check(envSettingsOnEnv, "hc-secret-1", true),
					c.checkCronJobs(ns, append([]string{"social-mt-cull", "social-mt-refresh"}, defaults...)...),
					cronSchedule("social-mt-cull", "17 6 * * 0"), cronSchedule("social-mt-refresh", "17 7 1 * *")),
			},
			{ResourceName: "mastodon_instance.test", ImportState: true, ImportStateId: ns + "/social", ImportStateVerify: true},
			{
				// The tasks alone: CronJobs change, no Pod rolls.
				Config:           lifecycleConfig(ns, mastodon.DefaultVersion, envSettingsOn+tasks(`{ enabled = true, schedule = "0 5 * * 1" }`, "{ enabled = false }")),
				ConfigPlanChecks: adminNoop,
				Check: resource.ComposeAggregateTestCheckFunc(check(envSettingsOnEnv, "hc-secret-1", false),
					c.checkCronJobs(ns, append([]string{"social-mt-cull"}, defaults...)...), cronSchedule("social-mt-cull", "0 5 * * 1")),
			},
			{
				Config:           lifecycleConfig(ns, mastodon.DefaultVersion, envSettingsChanged),
				ConfigPlanChecks: adminNoop,
				Check:            resource.ComposeAggregateTestCheckFunc(check(envSettingsChangedEnv, "hc-secret-2", true), c.checkCronJobs(ns, defaults...)),
			},
			{
				Config:           lifecycleConfig(ns, mastodon.DefaultVersion, ""),
				ConfigPlanChecks: adminNoop,
				Check:            resource.ComposeAggregateTestCheckFunc(check(envSettingsOff, "", true), c.checkCronJobs(ns, defaults...)),
			},
		},
	})
}
