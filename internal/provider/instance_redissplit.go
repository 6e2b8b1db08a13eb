package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/tootform/terraform-provider-mastodon/internal/mastodon"
)

// embeddedCacheRedisModel is the in-cluster Redis of the cache.
type embeddedCacheRedisModel struct {
	MaxMemory types.String    `tfsdk:"max_memory"`
	Resources *resourcesModel `tfsdk:"resources"`
	Pod       *podModel       `tfsdk:"pod"`
}

var (
	cacheRedisPassword = credential{block: "cache_redis", name: "password", what: "Password",
		doc: "Password (`CACHE_REDIS_PASSWORD`, in the instance's Secret only; Mastodon does not fall back to the main Redis's).",
		key: mastodon.EnvCacheRedisPassword, set: func(s *mastodon.Spec, v string) { s.CacheRedis.Password = v },
		setRef: func(s *mastodon.Spec, r *mastodon.SecretRef) { s.CacheRedis.PasswordRef = r }}
	sidekiqRedisPassword = credential{block: "sidekiq_redis", name: "password", what: "Password",
		doc: "Password (`SIDEKIQ_REDIS_PASSWORD`, in the instance's Secret only; Mastodon does not fall back to the main Redis's).",
		key: mastodon.EnvSidekiqRedisPassword, set: func(s *mastodon.Spec, v string) { s.SidekiqRedis.Password = v },
		setRef: func(s *mastodon.Spec, r *mastodon.SecretRef) { s.SidekiqRedis.PasswordRef = r }}
	cacheSentinelPassword   = sentinelPassword("cache_redis", mastodon.EnvCacheSentinelPassword, func(s *mastodon.Spec) *mastodon.Redis { return s.CacheRedis })
	sidekiqSentinelPassword = sentinelPassword("sidekiq_redis", mastodon.EnvSidekiqSentinelPassword, func(s *mastodon.Spec) *mastodon.Redis { return s.SidekiqRedis })
)

var checkRedisMemory = stringCheck{described: "a Redis memory size such as 256mb", check: mastodon.CheckRedisMemory}

func redisSplitAttributes(in nested) map[string]schema.Attribute {
	return map[string]schema.Attribute{
		"cache_redis": optionalBlock(in, "cache_redis",
			"An external Redis for Rails' cache alone (`CACHE_REDIS_*`), as Mastodon's scaling guide advises: a Redis that may evict keys (`maxmemory-policy allkeys-lru`) "+
				"and keep nothing on disk. Without it and `embedded_cache_redis`, the cache shares the main Redis. Conflicts with `embedded_cache_redis`. "+
				"Changing it rolls every Mastodon Pod; the cache starts empty.",
			externalRedisAttributes(in, "cache_redis", "CACHE_REDIS_")),
		"embedded_cache_redis": optionalBlock(in, "embedded_cache_redis",
			"An in-cluster Redis for Rails' cache alone (`CACHE_REDIS_*`): a StatefulSet without a volume, with no snapshots and no append-only file, "+
				"evicting the least recently used keys at `max_memory`. Its password is derived from `SECRET_KEY_BASE` (a rotation of it changes both). "+
				"The embedded main Redis keeps Sidekiq's data on its volume as before. Conflicts with `cache_redis`.",
			map[string]schema.Attribute{
				"max_memory": checkRedisMemory.on(optString("Redis's `maxmemory`, in Redis's units, default `256mb`. Keep it below `resources.memory_limit` (and change the memory request with it): Redis counts only its data.")),
				"resources":  resourcesAttribute("the cache Redis Pod", mastodon.DefaultCacheRedisResources),
			}),
		"sidekiq_redis": optionalBlock(in, "sidekiq_redis",
			"An external Redis for Sidekiq alone (`SIDEKIQ_REDIS_*`: its queues, scheduled jobs and retries, which web enqueues there too). "+
				"Without it Sidekiq uses the main Redis. It must keep its data (no eviction: `maxmemory-policy noeviction`, persistence on). "+
				"Moving Sidekiq to another Redis leaves the jobs queued in the old one behind: drain the queues first.",
			externalRedisAttributes(in, "sidekiq_redis", "SIDEKIQ_REDIS_")),
	}
}

func redisSplitSpec(_ context.Context, m *instanceModel, s *mastodon.Spec, _ *diag.Diagnostics) {
	s.CacheRedis = m.CacheRedis.spec()
	s.SidekiqRedis = m.SidekiqRedis.spec()
	if e := m.EmbeddedCacheRedis; e != nil {
		s.EmbeddedCacheRedis = &mastodon.EmbeddedCacheRedis{MaxMemory: e.MaxMemory.ValueString(), Resources: e.Resources.resources()}
	}
}

// warnSidekiqRedisMove says what moving Sidekiq to another Redis does to
// its jobs: those queued, scheduled or waiting for a retry stay in the Redis
// Sidekiq leaves, and nothing runs them (federation deliveries, mails).
// Sidekiq is on sidekiq_redis when it is set, else on the main Redis.
func warnSidekiqRedisMove(ctx context.Context, plan tfsdk.Plan, state *instanceModel, diags *diag.Diagnostics) {
	planned := func(name string) (*redisModel, bool) {
		var o types.Object
		diags.Append(plan.GetAttribute(ctx, path.Root(name), &o)...)
		if o.IsUnknown() {
			return nil, false
		}
		var r *redisModel
		diags.Append(plan.GetAttribute(ctx, path.Root(name), &r)...)
		return r, true
	}
	sidekiq, ok1 := planned("sidekiq_redis")
	main, ok2 := planned("redis")
	if !ok1 || !ok2 || diags.HasError() {
		return
	}
	from, to := sidekiqRedisAt(state.SidekiqRedis, state.Redis, state.Name.ValueString()), sidekiqRedisAt(sidekiq, main, state.Name.ValueString())
	if from == "" || to == "" || from == to {
		return
	}
	diags.AddAttributeWarning(path.Root("sidekiq_redis"), "Sidekiq moves to another Redis: its pending jobs stay behind",
		fmt.Sprintf("mastodon_instance %s moves Sidekiq from %s to %s (sidekiq_redis, or redis without it). The jobs queued, scheduled or waiting "+
			"for a retry in %s (federation deliveries, mails, ...) stay there and are not run by the instance any more. To keep them, let the queues "+
			"drain first (Sidekiq's web interface, /sidekiq, shows them empty), or copy the keys across before the switch.",
			state.ID.ValueString(), from, to, from))
}

// sidekiqRedisAt names the Redis Sidekiq uses, "" while part of it is unknown.
func sidekiqRedisAt(sidekiq, main *redisModel, name string) string {
	r := sidekiq
	if r == nil {
		r = main
	}
	if r == nil {
		return "the embedded Redis " + name + "-redis"
	}
	if r.Host.IsUnknown() || r.Port.IsUnknown() || r.DB.IsUnknown() {
		return ""
	}
	db := fmt.Sprintf("database %d", r.DB.ValueInt64())
	if x := r.Sentinel; x != nil {
		if x.Master.IsUnknown() || x.Hosts.IsUnknown() {
			return ""
		}
		return fmt.Sprintf("the Redis %q of the Sentinels %v (%s)", x.Master.ValueString(), knownListStrings(x.Hosts), db)
	}
	return fmt.Sprintf("the Redis at %s:%d (%s)", r.Host.ValueString(), int32Or(r.Port, 6379), db)
}
