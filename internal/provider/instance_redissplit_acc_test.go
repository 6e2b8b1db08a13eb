package provider

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

// An embedded cache Redis and an external Sidekiq Redis added to an
// instance with an account, changed (the cache's size and Pod settings;
// Sidekiq's database, TLS and write-only password; then Sentinels, their
// password by reference) and removed: each step
// rolls the Mastodon Deployments (their environment changed) and nothing
// else; the main Redis's and PostgreSQL's StatefulSets and volumes, the
// generated secrets and the account stay as they were; the cache Redis
// never has a volume, and goes with its Service when removed.
func TestAccInstance_redisSplit(t *testing.T) {
	c := newTestCluster(t)
	ns := c.scalingNamespace(t, "acc-redissplit")
	ctx := context.Background()
	var first snapshot
	config := func(extra string) string { return lifecycleConfig(ns, mastodon.DefaultVersion, extra) }
	const (
		added = `  embedded_cache_redis = { max_memory = "128mb" }
  sidekiq_redis = {
    host                = "jobs.redis.internal"
    password_wo         = "first"
    password_wo_version = 1
  }`
		changed = `  embedded_cache_redis = {
    max_memory = "256mb"
    resources  = { memory_limit = "384Mi" }
    pod        = { labels = { tier = "cache" } }
  }
  sidekiq_redis = {
    host                = "jobs.redis.internal"
    user                = "mastodon"
    db                  = 2
    tls                 = true
    password_wo         = "sec/ond"
    password_wo_version = 2
  }`
		sentinel = `  embedded_cache_redis = {
    max_memory = "256mb"
    resources  = { memory_limit = "384Mi" }
    pod        = { labels = { tier = "cache" } }
  }
  sidekiq_redis = {
    user = "mastodon"
    db   = 2
    sentinel = {
      master              = "jobs"
      hosts               = ["sentinel-0.jobs:26380", "sentinel-1.jobs"]
      password_secret_ref = { name = "jobs-sentinel", key = "password" }
    }
    password_wo         = "sec/ond"
    password_wo_version = 2
  }`
	)
	if _, err := c.cs.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "jobs-sentinel"},
		StringData: map[string]string{"password": "watching"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// sentinelRef checks that web reads the Sentinels' password from the
	// referenced Secret, and that the instance's Secret does not hold it.
	sentinelRef := func(*terraform.State) error {
		web, err := c.cs.AppsV1().Deployments(ns).Get(ctx, "social-web", metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, e := range web.Spec.Template.Spec.Containers[0].Env {
			if e.Name == mastodon.EnvSidekiqSentinelPassword && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil &&
				e.ValueFrom.SecretKeyRef.Name == "jobs-sentinel" && e.ValueFrom.SecretKeyRef.Key == "password" {
				return nil
			}
		}
		return fmt.Errorf("web does not read %s from Secret jobs-sentinel: %v", mastodon.EnvSidekiqSentinelPassword, web.Spec.Template.Spec.Containers[0].Env)
	}

	// stateful records the StatefulSets and volumes that must not change:
	// UID and generation (not rolled, not edited), the claims' UIDs.
	var keep map[string]string
	stateful := func() (map[string]string, error) {
		out := map[string]string{}
		for _, name := range []string{"social-redis", "social-postgresql"} {
			sts, err := c.cs.AppsV1().StatefulSets(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return nil, err
			}
			out["StatefulSet/"+name] = fmt.Sprintf("%s gen=%d", sts.UID, sts.Generation)
		}
		pvcs, err := c.cs.CoreV1().PersistentVolumeClaims(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		for _, p := range pvcs.Items {
			out["PersistentVolumeClaim/"+p.Name] = string(p.UID)
		}
		return out, nil
	}
	untouched := func(*terraform.State) error {
		now, err := stateful()
		if err != nil {
			return err
		}
		if keep == nil {
			keep = now
			return nil
		}
		if !maps.Equal(now, keep) {
			return fmt.Errorf("the embedded services changed: %v, were %v", now, keep)
		}
		return nil
	}
	// rolled checks that every Mastodon Deployment rolled since the last
	// step (the roles' variables are in every Rails Pod's environment).
	var last map[string]string
	rolled := func(want bool) resource.TestCheckFunc {
		return func(*terraform.State) error {
			now, err := c.templates(ns)
			if err != nil {
				return err
			}
			defer func() { last = now }()
			if last == nil {
				return nil
			}
			for name, sum := range now {
				if (sum != last[name]) != want {
					return fmt.Errorf("Deployment %s: checksum %s -> %s, rolled should be %v", name, last[name], sum, want)
				}
			}
			return nil
		}
	}
	// environment checks the instance's ConfigMap and Secret: want maps a
	// variable to its value, "" for absent.
	environment := func(want map[string]string) resource.TestCheckFunc {
		return func(*terraform.State) error {
			cm, err := c.cs.CoreV1().ConfigMaps(ns).Get(ctx, "social-env", metav1.GetOptions{})
			if err != nil {
				return err
			}
			sec, err := c.cs.CoreV1().Secrets(ns).Get(ctx, "social-secrets", metav1.GetOptions{})
			if err != nil {
				return err
			}
			for k, v := range want {
				got, ok := cm.Data[k]
				if b, inSecret := sec.Data[k]; inSecret {
					got, ok = string(b), true
				}
				if got != v || (v == "" && ok) {
					return fmt.Errorf("%s = %q (present %v), want %q", k, got, ok, v)
				}
			}
			return nil
		}
	}
	// cache checks the cache Redis: absent, or its StatefulSet without a
	// claim template, with that maxmemory and Pod label, and no claim.
	cache := func(maxMemory, label string) resource.TestCheckFunc {
		return func(*terraform.State) error {
			sts, err := c.cs.AppsV1().StatefulSets(ns).Get(ctx, "social-redis-cache", metav1.GetOptions{})
			if maxMemory == "" {
				if !apierrors.IsNotFound(err) {
					return fmt.Errorf("the cache Redis is still there (%w)", err)
				}
				if _, err := c.cs.CoreV1().Services(ns).Get(ctx, "social-redis-cache", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
					return fmt.Errorf("the cache Redis's Service is still there (%w)", err)
				}
				return nil
			}
			if err != nil {
				return err
			}
			cmd := sts.Spec.Template.Spec.Containers[0].Command
			if i := slices.Index(cmd, "--maxmemory"); i < 0 || cmd[i+1] != maxMemory || len(sts.Spec.VolumeClaimTemplates) != 0 {
				return fmt.Errorf("cache Redis: command %v, claim templates %v", cmd, sts.Spec.VolumeClaimTemplates)
			}
			if sts.Spec.Template.Labels["tier"] != label {
				return fmt.Errorf("cache Redis Pod labels %v", sts.Spec.Template.Labels)
			}
			if sts.Status.ReadyReplicas != 1 {
				return fmt.Errorf("cache Redis not ready: %+v", sts.Status)
			}
			pvcs, err := c.cs.CoreV1().PersistentVolumeClaims(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				return err
			}
			for _, p := range pvcs.Items {
				if strings.Contains(p.Name, "redis-cache") {
					return fmt.Errorf("the cache Redis has a claim: %s", p.Name)
				}
			}
			return nil
		}
	}
	cachePassword := func(s *terraform.State) error {
		sec, err := c.cs.CoreV1().Secrets(ns).Get(ctx, "social-secrets", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if len(sec.Data[mastodon.EnvCacheRedisPassword]) != 32 {
			return fmt.Errorf("CACHE_REDIS_PASSWORD has %d characters", len(sec.Data[mastodon.EnvCacheRedisPassword]))
		}
		return nil
	}
	accountKept := resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
		plancheck.ExpectResourceAction("mastodon_instance.test", plancheck.ResourceActionUpdate),
		plancheck.ExpectResourceAction("mastodon_admin_user.owner", plancheck.ResourceActionNoop),
	}}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProviders,
		Steps: []resource.TestStep{
			{
				Config: config(""),
				Check: resource.ComposeAggregateTestCheckFunc(c.unchangedAccount(ns, &first), untouched, rolled(false), cache("", ""),
					environment(map[string]string{"CACHE_REDIS_HOST": "", "SIDEKIQ_REDIS_HOST": "", "REDIS_HOST": "social-redis"})),
			},
			{
				Config:           config(added),
				ConfigPlanChecks: accountKept,
				Check: resource.ComposeAggregateTestCheckFunc(c.unchangedAccount(ns, &first), untouched, rolled(true), cache("128mb", ""), cachePassword,
					environment(map[string]string{"CACHE_REDIS_HOST": "social-redis-cache", "CACHE_REDIS_PORT": "6379",
						"SIDEKIQ_REDIS_HOST": "jobs.redis.internal", "SIDEKIQ_REDIS_PORT": "6379", "SIDEKIQ_REDIS_PASSWORD": "first",
						"SIDEKIQ_REDIS_URL": "", "REDIS_HOST": "social-redis"})),
			},
			{
				Config:           config(changed),
				ConfigPlanChecks: accountKept,
				Check: resource.ComposeAggregateTestCheckFunc(c.unchangedAccount(ns, &first), untouched, rolled(true), cache("256mb", "cache"), cachePassword,
					environment(map[string]string{"CACHE_REDIS_HOST": "social-redis-cache",
						"SIDEKIQ_REDIS_URL": "rediss://mastodon:sec%2Fond@jobs.redis.internal:6379/2", "SIDEKIQ_REDIS_PASSWORD": "sec/ond",
						"SIDEKIQ_REDIS_HOST": "", "SIDEKIQ_REDIS_DB": "", "REDIS_HOST": "social-redis"})),
			},
			{
				Config:           config(sentinel),
				ConfigPlanChecks: accountKept,
				Check: resource.ComposeAggregateTestCheckFunc(c.unchangedAccount(ns, &first), untouched, rolled(true), cache("256mb", "cache"), sentinelRef,
					environment(map[string]string{"SIDEKIQ_REDIS_SENTINEL_MASTER": "jobs", "SIDEKIQ_REDIS_SENTINELS": "sentinel-0.jobs:26380,sentinel-1.jobs",
						"SIDEKIQ_REDIS_USER": "mastodon", "SIDEKIQ_REDIS_DB": "2", "SIDEKIQ_REDIS_PASSWORD": "sec/ond",
						"SIDEKIQ_REDIS_SENTINEL_PASSWORD": "", "SIDEKIQ_REDIS_URL": "", "SIDEKIQ_REDIS_HOST": ""})),
			},
			{
				Config:           config(""),
				ConfigPlanChecks: accountKept,
				Check: resource.ComposeAggregateTestCheckFunc(c.unchangedAccount(ns, &first), untouched, rolled(true), cache("", ""),
					environment(map[string]string{"CACHE_REDIS_HOST": "", "CACHE_REDIS_PASSWORD": "", "SIDEKIQ_REDIS_HOST": "",
						"SIDEKIQ_REDIS_URL": "", "SIDEKIQ_REDIS_PASSWORD": "", "SIDEKIQ_REDIS_SENTINELS": "", "SIDEKIQ_REDIS_SENTINEL_MASTER": "",
						"REDIS_HOST": "social-redis"})),
			},
		},
	})
}
