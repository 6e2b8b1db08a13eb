package mastodon

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
)

func redisSplitSpec(mod func(s *Spec)) *Spec {
	s := &Spec{Name: "social", Namespace: "mastodon", LocalDomain: "social.example", WebReplicas: 1, StreamReplicas: 1}
	mod(s)
	s.Defaults()
	return s
}

// The embedded cache Redis and an external Sidekiq Redis over TLS, as
// rendered: the cache's objects and the environment.
func TestRenderRedisSplit(t *testing.T) {
	s := redisSplitSpec(func(s *Spec) {
		s.EmbeddedCacheRedis = &EmbeddedCacheRedis{MaxMemory: "512mb", Resources: Resources{MemoryRequest: "600Mi", MemoryLimit: "768Mi"}}
		s.SidekiqRedis = &Redis{Host: "sidekiq.redis.internal", User: "mastodon", Password: "p@ss/word:1", DB: 2, TLS: true}
		s.ComponentPods = map[string]PodSettings{ComponentCacheRedis: {NodeSelector: map[string]string{"pool": "cache"}}}
	})
	if errs := s.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	var objs []Object
	for _, o := range s.Render(fixedSecrets, "") {
		if o.Name == s.ConfigMapName() || o.Name == s.SecretName() || strings.HasPrefix(o.Name, s.CacheRedisName()) {
			objs = append(objs, o)
		}
	}
	golden(t, "redissplit.yaml", renderYAML(t, objs))
}

// lib/mastodon/redis_configuration.rb (v4.6.5): three roles, each read by
// setup_config from its own prefix: base (REDIS_), cache (CACHE_REDIS_,
// config.cache_store in config/environments/production.rb) and sidekiq
// (SIDEKIQ_REDIS_, config/initializers/sidekiq.rb, in configure_server and
// configure_client alike, so web needs it too; every Rails Pod reads the
// same environment). A role's variables do not fall back to REDIS_*'s one
// by one: only a role without host (and URL) falls back to base as a
// whole, so a role's password is given under its own prefix. <prefix>URL,
// when present, is returned alone ({ url:, driver: }): every other
// variable of the role is ignored, and construct_uri always builds
// redis://, so rediss:// (TLS: redis-client 0.29 and ioredis 5, Gemfile.lock
// and streaming/package.json) only comes through the URL, which then holds
// the user, the password (percent-encoded, as a URI's userinfo) and the
// database. streaming/redis.js reads REDIS_URL first as well: the main
// Redis's TLS reaches streaming the same way.
func TestRedisSplitContract(t *testing.T) {
	s := redisSplitSpec(func(s *Spec) {
		s.Redis = &Redis{Host: "main.internal", Password: "main-secret", DB: 1}
		s.CacheRedis = &Redis{Host: "cache.internal", Port: 6380, User: "cache", Password: "cache-secret", DB: 3}
		s.SidekiqRedis = &Redis{Host: "jobs.internal", User: "jobs", Password: "p@ss/w:rd", DB: 4, TLS: true}
	})
	plain, secret := s.Environment(fixedSecrets)
	want := map[string]string{"REDIS_HOST": "main.internal", "REDIS_PORT": "6379", "REDIS_DB": "1",
		"CACHE_REDIS_HOST": "cache.internal", "CACHE_REDIS_PORT": "6380", "CACHE_REDIS_USER": "cache", "CACHE_REDIS_DB": "3"}
	for k, v := range want {
		if plain[k] != v {
			t.Errorf("%s = %q, want %q", k, plain[k], v)
		}
	}
	if secret["REDIS_PASSWORD"] != "main-secret" || secret["CACHE_REDIS_PASSWORD"] != "cache-secret" {
		t.Errorf("each role's password under its own prefix: %q %q", secret["REDIS_PASSWORD"], secret["CACHE_REDIS_PASSWORD"])
	}
	for k := range plain {
		if strings.HasPrefix(k, "SIDEKIQ_REDIS_") {
			t.Errorf("%s rendered beside SIDEKIQ_REDIS_URL, which replaces it", k)
		}
	}
	u, err := url.Parse(secret["SIDEKIQ_REDIS_URL"])
	if err != nil {
		t.Fatal(err)
	}
	if pw, _ := u.User.Password(); u.Scheme != "rediss" || u.Host != "jobs.internal:6379" || u.Path != "/4" || u.User.Username() != "jobs" || pw != "p@ss/w:rd" {
		t.Errorf("SIDEKIQ_REDIS_URL %q", secret["SIDEKIQ_REDIS_URL"])
	}
	if _, inPlain := plain["SIDEKIQ_REDIS_URL"]; inPlain {
		t.Error("the URL holds the password: not in the ConfigMap")
	}

	// Without the blocks nothing of the roles is rendered: Mastodon's
	// cache and Sidekiq then use the main Redis.
	plain, secret = defaultSpec().Environment(fixedSecrets)
	for k := range mergedKeys(plain, secret) {
		if strings.HasPrefix(k, "CACHE_REDIS_") || strings.HasPrefix(k, "SIDEKIQ_REDIS_") {
			t.Errorf("%s rendered without its block", k)
		}
	}

	// The main Redis over TLS: REDIS_URL, which Rails and streaming read first.
	s = redisSplitSpec(func(s *Spec) { s.Redis = &Redis{Host: "main.internal", Password: "pw", TLS: true} })
	plain, secret = s.Environment(fixedSecrets)
	if secret["REDIS_URL"] != "rediss://:pw@main.internal:6379/0" || plain["REDIS_HOST"] != "" {
		t.Errorf("REDIS_URL %q, REDIS_HOST %q", secret["REDIS_URL"], plain["REDIS_HOST"])
	}
}

func mergedKeys(maps ...map[string]string) map[string]bool {
	out := map[string]bool{}
	for _, m := range maps {
		for k := range m {
			out[k] = true
		}
	}
	return out
}

// MASTODON.md and Mastodon's scaling guide: the cache may lose everything
// (Rails' redis_cache_store treats a miss as a miss), so its Redis keeps
// nothing on disk and evicts the least recently used keys at maxmemory,
// while the main Redis holds Sidekiq's data and keeps its volume and
// persistence. The redis image runs as uid 999 and writes under /data.
func TestEmbeddedCacheRedisContract(t *testing.T) {
	s := redisSplitSpec(func(s *Spec) { s.EmbeddedCacheRedis = &EmbeddedCacheRedis{} })
	objs := s.Render(fixedSecrets, "")
	sts := find[appsv1.StatefulSet](t, objs, "StatefulSet", s.CacheRedisName())
	c := sts.Spec.Template.Spec.Containers[0]
	cmd := c.Command
	for _, want := range [][]string{{"--save", ""}, {"--appendonly", "no"}, {"--maxmemory", DefaultCacheRedisMaxMemory}, {"--maxmemory-policy", "allkeys-lru"}} {
		i := slices.Index(cmd, want[0])
		if i < 0 || i+1 >= len(cmd) || cmd[i+1] != want[1] {
			t.Errorf("cache redis command %q lacks %q", cmd, want)
		}
	}
	if len(sts.Spec.VolumeClaimTemplates) != 0 {
		t.Errorf("the cache Redis has claim templates: %v", sts.Spec.VolumeClaimTemplates)
	}
	for _, o := range objs {
		if o.Kind == "PersistentVolumeClaim" && strings.Contains(o.Name, ComponentCacheRedis) {
			t.Errorf("claim %s", o.Name)
		}
	}
	if *sts.Spec.Template.Spec.SecurityContext.RunAsUser != 999 {
		t.Error("not the redis image's user")
	}
	if e := c.Env[0]; e.ValueFrom == nil || e.ValueFrom.SecretKeyRef.Key != EnvCacheRedisPassword || e.Value != "" {
		t.Errorf("password env %+v: from the Secret only", e)
	}
	main := find[appsv1.StatefulSet](t, objs, "StatefulSet", s.RedisName())
	if len(main.Spec.VolumeClaimTemplates) != 1 || !slices.Contains(main.Spec.Template.Spec.Containers[0].Command, "--appendonly") {
		t.Error("the main Redis lost its persistence")
	}
	plain, secret := s.Environment(fixedSecrets)
	if plain["CACHE_REDIS_HOST"] != s.CacheRedisName() || plain["CACHE_REDIS_PORT"] != "6379" || len(secret[EnvCacheRedisPassword]) != 32 {
		t.Errorf("cache env %q %q %d", plain["CACHE_REDIS_HOST"], plain["CACHE_REDIS_PORT"], len(secret[EnvCacheRedisPassword]))
	}
	if secret[EnvCacheRedisPassword] == secret[EnvRedisPassword] || strings.Contains(fixedSecrets.SecretKeyBase, secret[EnvCacheRedisPassword]) {
		t.Error("the cache password is not its own")
	}

	// A new SECRET_KEY_BASE gives a new password, which rolls the cache
	// Redis (it reads its password at start only).
	rotated := fixedSecrets
	rotated.SecretKeyBase = strings.Repeat("cd", 64)
	again := find[appsv1.StatefulSet](t, s.Render(rotated, ""), "StatefulSet", s.CacheRedisName())
	if sts.Spec.Template.Annotations[AnnotationChecksum] == again.Spec.Template.Annotations[AnnotationChecksum] {
		t.Error("a new password does not roll the cache Redis")
	}
	if same := find[appsv1.StatefulSet](t, s.Render(fixedSecrets, ""), "StatefulSet", s.CacheRedisName()); same.Spec.Template.Annotations[AnnotationChecksum] != sts.Spec.Template.Annotations[AnnotationChecksum] {
		t.Error("the checksum is not stable")
	}
}

// embedded_cache_redis.pod reaches the cache Redis's Pod, and the
// instance's user does not (the redis image's own runs it).
func TestEmbeddedCacheRedisPodSettings(t *testing.T) {
	s := redisSplitSpec(func(s *Spec) {
		s.EmbeddedCacheRedis = &EmbeddedCacheRedis{}
		s.Pod = PodSettings{RunAsUser: 1000, NodeSelector: map[string]string{"pool": "all"}}
		s.ComponentPods = map[string]PodSettings{ComponentCacheRedis: {Tolerations: []Toleration{{Key: "cache", Operator: "Exists"}}}}
	})
	if errs := s.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	pod := find[appsv1.StatefulSet](t, s.Render(fixedSecrets, ""), "StatefulSet", s.CacheRedisName()).Spec.Template.Spec
	if pod.NodeSelector["pool"] != "all" || len(pod.Tolerations) != 1 || pod.Tolerations[0].Key != "cache" {
		t.Errorf("pod settings not applied: %v %v", pod.NodeSelector, pod.Tolerations)
	}
	if *pod.SecurityContext.RunAsUser != 999 {
		t.Errorf("runs as %d", *pod.SecurityContext.RunAsUser)
	}
}

func TestRedisSplitValidate(t *testing.T) {
	ref := &SecretRef{Name: "redis", Key: "password"}
	for _, tc := range []struct {
		name string
		mod  func(s *Spec)
		want []string
	}{
		{"cache twice", func(s *Spec) {
			s.CacheRedis, s.EmbeddedCacheRedis = &Redis{Host: "c"}, &EmbeddedCacheRedis{}
		}, []string{"embedded_cache_redis"}},
		{"no host", func(s *Spec) { s.SidekiqRedis = &Redis{} }, []string{"sidekiq_redis.host"}},
		{"tls with a reference", func(s *Spec) { s.CacheRedis = &Redis{Host: "c", TLS: true, PasswordRef: ref} }, []string{"cache_redis.password_secret_ref"}},
		{"main tls with a reference", func(s *Spec) { s.Redis = &Redis{Host: "r", TLS: true, PasswordRef: ref} }, []string{"redis.password_secret_ref"}},
		{"reference without tls", func(s *Spec) { s.SidekiqRedis = &Redis{Host: "c", PasswordRef: ref} }, nil},
		{"extra env of the cache", func(s *Spec) {
			s.EmbeddedCacheRedis = &EmbeddedCacheRedis{}
			// SIDEKIQ_REDIS_HOST is sidekiq_redis.host's even while it is unset.
			s.Settings.ExtraEnv = map[string]string{"CACHE_REDIS_URL": "redis://x", "SIDEKIQ_REDIS_HOST": "free"}
		}, []string{"settings.extra_env", "settings.extra_env"}},
		{"extra env of sidekiq", func(s *Spec) {
			s.SidekiqRedis = &Redis{Host: "s"}
			s.Settings.ExtraSecretEnv = map[string]string{"SIDEKIQ_REDIS_SENTINELS": "a:26379"}
		}, []string{"settings.extra_secret_env"}},
		{"main extra env left alone", func(s *Spec) {
			s.Redis = &Redis{Host: "r"}
			s.Settings.ExtraEnv = map[string]string{"REDIS_URL": "rediss://r"}
		}, nil},
		{"main extra env with sentinels", func(s *Spec) {
			s.Redis = &Redis{Sentinel: &Sentinel{Master: "m", Hosts: []string{"s"}}}
			s.Settings.ExtraSecretEnv = map[string]string{"REDIS_SENTINEL_PASSWORD": "x"}
		}, []string{"settings.extra_secret_env"}},
		{"main extra env with tls", func(s *Spec) {
			s.Redis = &Redis{Host: "r", TLS: true}
			s.Settings.ExtraEnv = map[string]string{"REDIS_DB": "3"}
		}, []string{"settings.extra_env"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := errorPaths(redisSplitSpec(tc.mod).Validate())
			if !slices.Equal(got, tc.want) {
				t.Errorf("errors at %v, want %v", got, tc.want)
			}
		})
	}
	for v, ok := range map[string]bool{"256mb": true, "1GB": true, "1048576": true, "0": false, "1 gb": false, "1Gi": false, "": true} {
		if err := CheckRedisMemory(v); (err == nil) != ok {
			t.Errorf("CheckRedisMemory(%q) = %v", v, err)
		}
	}
	if CheckRedisDB(-1) == nil || CheckRedisDB(0) != nil {
		t.Error("CheckRedisDB")
	}
}

// lib/mastodon/redis_configuration.rb, setup_sentinels (v4.6.5): per
// prefix, <prefix>REDIS_SENTINEL_MASTER and <prefix>REDIS_SENTINELS (a
// comma-separated list, each element split at ':' with
// <prefix>REDIS_SENTINEL_PORT, default 26379, for those without a port)
// switch the role to Sentinel; the host is then the master's name and the
// port ignored, while the user, password and database go on to the
// server. <prefix>REDIS_SENTINEL_USERNAME and _PASSWORD default to the
// role's user and password. streaming/redis.js reads the same REDIS_*
// names for the main Redis (sentinelUsername ?? REDIS_USER, ...).
func TestRedisSentinelContract(t *testing.T) {
	ref := &SecretRef{Name: "sentinels", Key: "password"}
	s := redisSplitSpec(func(s *Spec) {
		s.Redis = &Redis{User: "mastodon", Password: "server-secret", DB: 1,
			Sentinel: &Sentinel{Master: "main", Hosts: []string{"s-0.sentinel:26380", "s-1.sentinel"}, Port: 26381, Username: "watcher", Password: "sentinel-secret"}}
		s.SidekiqRedis = &Redis{Password: "jobs-secret", Sentinel: &Sentinel{Master: "jobs", Hosts: []string{"10.0.0.5"}, PasswordRef: ref}}
	})
	if errs := s.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	plain, secret := s.Environment(fixedSecrets)
	for k, v := range map[string]string{"REDIS_SENTINEL_MASTER": "main", "REDIS_SENTINELS": "s-0.sentinel:26380,s-1.sentinel", "REDIS_SENTINEL_PORT": "26381",
		"REDIS_SENTINEL_USERNAME": "watcher", "REDIS_USER": "mastodon", "REDIS_DB": "1",
		"SIDEKIQ_REDIS_SENTINEL_MASTER": "jobs", "SIDEKIQ_REDIS_SENTINELS": "10.0.0.5"} {
		if plain[k] != v {
			t.Errorf("%s = %q, want %q", k, plain[k], v)
		}
	}
	for _, k := range []string{"REDIS_HOST", "REDIS_PORT", "SIDEKIQ_REDIS_HOST", "SIDEKIQ_REDIS_SENTINEL_USERNAME", "SIDEKIQ_REDIS_SENTINEL_PORT"} {
		if _, ok := plain[k]; ok {
			t.Errorf("%s rendered with Sentinels", k)
		}
	}
	if secret["REDIS_SENTINEL_PASSWORD"] != "sentinel-secret" || secret["REDIS_PASSWORD"] != "server-secret" || secret["SIDEKIQ_REDIS_PASSWORD"] != "jobs-secret" {
		t.Errorf("passwords %q %q %q", secret["REDIS_SENTINEL_PASSWORD"], secret["REDIS_PASSWORD"], secret["SIDEKIQ_REDIS_PASSWORD"])
	}
	// A Sentinel password by reference: read by secretKeyRef, not in the Secret.
	if _, ok := secret[EnvSidekiqSentinelPassword]; ok || s.EnvRefs()[EnvSidekiqSentinelPassword] != ref {
		t.Errorf("the Sentinels' password by reference: in the Secret %v, refs %v", ok, s.EnvRefs())
	}
	if got := s.SecretRefs(); len(got) != 1 || got[0].Path != "sidekiq_redis.sentinel.password_secret_ref" {
		t.Errorf("references %+v", got)
	}
}

func TestRedisSentinelValidate(t *testing.T) {
	sentinel := func() *Sentinel { return &Sentinel{Master: "m", Hosts: []string{"s"}} }
	for _, tc := range []struct {
		name string
		r    *Redis
		want []string
	}{
		{"sentinel alone", &Redis{Sentinel: sentinel()}, nil},
		{"neither", &Redis{}, []string{"cache_redis.host"}},
		{"both", &Redis{Host: "h", Sentinel: sentinel()}, []string{"cache_redis.sentinel"}},
		{"with tls", &Redis{TLS: true, Sentinel: sentinel()}, []string{"cache_redis.sentinel"}},
		{"no sentinels", &Redis{Sentinel: &Sentinel{Master: "m"}}, []string{"cache_redis.sentinel.hosts"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := errorPaths(redisSplitSpec(func(s *Spec) { s.CacheRedis = tc.r }).Validate()); !slices.Equal(got, tc.want) {
				t.Errorf("errors at %v, want %v", got, tc.want)
			}
		})
	}
	if got := errorPaths(redisSplitSpec(func(s *Spec) { s.Redis = &Redis{} }).Validate()); !slices.Equal(got, []string{"redis.host"}) {
		t.Errorf("main Redis without host nor sentinel: %v", got)
	}
	for v, ok := range map[string]bool{"s-0.sentinel": true, "10.0.0.5:26379": true, "s:0": false, "s:x": false, "::1": false, "": false, "a,b": false, "[::1]:26379": false} {
		if err := CheckSentinelHost(v); (err == nil) != ok {
			t.Errorf("CheckSentinelHost(%q) = %v", v, err)
		}
	}
}
