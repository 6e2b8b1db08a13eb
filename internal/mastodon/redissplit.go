package mastodon

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// The Redis split of Mastodon's scaling guide: Rails' cache and Sidekiq
// each on a Redis of their own, so that the cache's evictions never touch
// Sidekiq's queues. Mastodon reads three sets of variables
// (lib/mastodon/redis_configuration.rb): REDIS_* (the main Redis: Rails'
// own keys, and streaming's pub/sub, streaming/redis.js), CACHE_REDIS_*
// (config.cache_store, config/environments/production.rb) and
// SIDEKIQ_REDIS_* (config/initializers/sidekiq.rb, both the server and
// the client side, so web enqueues there too). A role whose
// <prefix>REDIS_HOST and _URL are unset uses the main Redis.
//
// Each of a role's variables stands alone: CACHE_REDIS_PASSWORD does not
// fall back to REDIS_PASSWORD. <prefix>REDIS_URL, when set, replaces every
// other of the role's variables, and is the only way to TLS: the URL built
// from the host is always redis://.

// Sentinel is a role's Redis found through Redis Sentinel
// (setup_sentinels): Mastodon asks the Sentinels for Master's address.
type Sentinel struct {
	Master string
	Hosts  []string // host or host:port
	Port   int32    // of the hosts without one (0: 26379)
	// Username and Password authenticate to the Sentinels (empty: the
	// role's user and password, as Mastodon falls back to them).
	Username    string
	Password    string
	PasswordRef *SecretRef `json:",omitempty"`
}

// EmbeddedCacheRedis is an in-cluster Redis for the cache alone: no
// volume, no snapshots, no append-only file, evicting the least recently
// used keys at MaxMemory.
type EmbeddedCacheRedis struct {
	MaxMemory string // Redis's syntax: 256mb, 1gb
	Resources Resources
}

// DefaultCacheRedisResources are the cache Redis's requests: its default
// maxmemory and Redis's own overhead.
var DefaultCacheRedisResources = Resources{CPURequest: "100m", MemoryRequest: "320Mi"}

// Defaults and names of the Redis split.
const (
	DefaultCacheRedisMaxMemory = "256mb"
	ComponentCacheRedis        = "redis-cache"
	EnvCacheRedisPassword      = "CACHE_REDIS_PASSWORD"
	EnvSidekiqRedisPassword    = "SIDEKIQ_REDIS_PASSWORD"
	EnvRedisSentinelPassword   = "REDIS_SENTINEL_PASSWORD"
	EnvCacheSentinelPassword   = "CACHE_REDIS_SENTINEL_PASSWORD"
	EnvSidekiqSentinelPassword = "SIDEKIQ_REDIS_SENTINEL_PASSWORD"
)

// CacheRedisName is the embedded cache Redis's StatefulSet and Service.
func (s *Spec) CacheRedisName() string { return s.Name + "-" + ComponentCacheRedis }

// redisRoleVars are the variables Mastodon reads for one Redis role after
// its prefix (setup_config and setup_sentinels).
var redisRoleVars = []string{"URL", "HOST", "PORT", "USER", "PASSWORD", "DB",
	"SENTINEL_MASTER", "SENTINEL_PORT", "SENTINELS", "SENTINEL_USERNAME", "SENTINEL_PASSWORD"}

// redisRole is one of the three Redis roles, with its block.
type redisRole struct {
	prefix, block string
	redis         *Redis
}

func (s *Spec) redisRoles() []redisRole {
	return []redisRole{{"", "redis", s.Redis}, {"CACHE_", "cache_redis", s.CacheRedis}, {"SIDEKIQ_", "sidekiq_redis", s.SidekiqRedis}}
}

// environment sets the variables of an external Redis for the role of
// prefix ("", CACHE_ or SIDEKIQ_).
func (r *Redis) environment(prefix string, plain, secret map[string]string) {
	v := func(name string) string { return prefix + "REDIS_" + name }
	if r.Password != "" {
		// Also beside a URL, where Mastodon ignores it: the provider reads
		// the write-only and imported values back from this key.
		secret[v("PASSWORD")] = r.Password
	}
	if x := r.Sentinel; x != nil {
		// With Sentinels, Mastodon ignores the host and port; the user,
		// password and database still apply to the server.
		plain[v("SENTINEL_MASTER")] = x.Master
		plain[v("SENTINELS")] = strings.Join(x.Hosts, ",")
		if x.Port != 0 {
			plain[v("SENTINEL_PORT")] = strconv.Itoa(int(x.Port))
		}
		if x.Username != "" {
			plain[v("SENTINEL_USERNAME")] = x.Username
		}
		if x.Password != "" {
			secret[v("SENTINEL_PASSWORD")] = x.Password
		}
		if r.User != "" {
			plain[v("USER")] = r.User
		}
		if r.DB != 0 {
			plain[v("DB")] = strconv.Itoa(int(r.DB))
		}
		return
	}
	if r.TLS {
		u := url.URL{Scheme: "rediss", Host: net.JoinHostPort(r.Host, strconv.Itoa(int(r.Port))), Path: "/" + strconv.Itoa(int(r.DB))}
		switch {
		case r.Password != "":
			u.User = url.UserPassword(r.User, r.Password)
		case r.User != "":
			u.User = url.User(r.User)
		}
		// The URL holds the password: it goes in the Secret.
		secret[v("URL")] = u.String()
		return
	}
	plain[v("HOST")] = r.Host
	plain[v("PORT")] = strconv.Itoa(int(r.Port))
	if r.User != "" {
		plain[v("USER")] = r.User
	}
	if r.DB != 0 {
		plain[v("DB")] = strconv.Itoa(int(r.DB))
	}
}

// cacheRedisPassword is the embedded cache Redis's password: derived from
// SECRET_KEY_BASE, so it is as lasting and as secret as that key without a
// generated value of its own; a rotation of the key changes it and rolls
// the cache Redis with Mastodon's Pods.
func (s *Spec) cacheRedisPassword() string {
	m := hmac.New(sha256.New, []byte(s.keyBase))
	m.Write([]byte("mastodon embedded cache redis password"))
	return hex.EncodeToString(m.Sum(nil))[:32]
}

// redisSplitFeature renders the cache's and Sidekiq's own Redis.
type redisSplitFeature struct{ noFeature }

func (redisSplitFeature) defaults(s *Spec) {
	for _, r := range []*Redis{s.CacheRedis, s.SidekiqRedis} {
		if r != nil && r.Port == 0 {
			r.Port = 6379
		}
	}
	if e := s.EmbeddedCacheRedis; e != nil {
		setDefault(&e.MaxMemory, DefaultCacheRedisMaxMemory)
		e.Resources.withDefault(DefaultCacheRedisResources)
	}
}

func (redisSplitFeature) validate(s *Spec, e *fieldErrors) {
	if s.CacheRedis != nil && s.EmbeddedCacheRedis != nil {
		e.add("embedded_cache_redis", "conflicts with cache_redis: the cache uses one Redis, external (cache_redis) or in the cluster (embedded_cache_redis)")
		e.related("cache_redis")
	}
	for _, role := range s.redisRoles() {
		r := role.redis
		if r == nil {
			continue
		}
		if role.prefix != "" && r.Host == "" && r.Sentinel == nil {
			e.add(role.block+".host", "must be set (or %s.sentinel)", role.block)
			e.related(role.block + ".sentinel")
		}
		if x := r.Sentinel; x != nil {
			if r.Host != "" {
				e.add(role.block+".sentinel", "conflicts with %s.host: Mastodon asks the Sentinels for the server and ignores the host", role.block)
				e.related(role.block + ".host")
			}
			if r.TLS {
				e.add(role.block+".sentinel", "conflicts with %s.tls: Mastodon takes TLS only through %sREDIS_URL, which replaces the Sentinels", role.block, role.prefix)
				e.related(role.block + ".tls")
			}
			if len(x.Hosts) == 0 {
				e.add(role.block+".sentinel.hosts", "must name at least one Sentinel")
			}
		}
		if r.TLS && r.PasswordRef != nil {
			e.add(role.block+".password_secret_ref", "cannot be used with %s.tls: a TLS connection takes the password inside %sREDIS_URL, which the provider composes in the instance's Secret; give %s.password or %s.password_wo",
				role.block, role.prefix, role.block, role.block)
			e.related(role.block + ".tls")
		}
		// The main Redis's variables were always left to extra_env; they
		// are refused only where tls, db or sentinel render what they
		// would replace.
		if role.prefix != "" || r.TLS || r.DB != 0 || r.Sentinel != nil {
			s.refuseRedisRole(role.prefix, role.block, e)
		}
	}
	if s.EmbeddedCacheRedis != nil {
		s.refuseRedisRole("CACHE_", "embedded_cache_redis", e)
	}
}

// refuseRedisRole refuses the free-form variables of a role that block
// renders: each of them would change where or how the role connects.
func (s *Spec) refuseRedisRole(prefix, block string, e *fieldErrors) {
	s.refuseExtra(block, func(k string) bool {
		return slices.ContainsFunc(redisRoleVars, func(v string) bool { return k == prefix+"REDIS_"+v })
	}, e)
}

func (redisSplitFeature) env(s *Spec, plain, secret map[string]string) {
	if r := s.CacheRedis; r != nil {
		r.environment("CACHE_", plain, secret)
	} else if s.EmbeddedCacheRedis != nil { // both are refused (validate)
		plain["CACHE_REDIS_HOST"] = s.CacheRedisName()
		plain["CACHE_REDIS_PORT"] = "6379"
		secret[EnvCacheRedisPassword] = s.cacheRedisPassword()
	}
	if r := s.SidekiqRedis; r != nil {
		r.environment("SIDEKIQ_", plain, secret)
	}
}

func (redisSplitFeature) objects(s *Spec, at stage) []Object {
	e := s.EmbeddedCacheRedis
	if e == nil || at != afterCertificates {
		return nil
	}
	c := corev1.Container{
		Name:  "redis",
		Image: RedisImage,
		// A cache: nothing on disk (no snapshots, no append-only file),
		// and the least recently used keys go when memory is full.
		Command: []string{"redis-server", "--requirepass", "$(REDIS_PASSWORD)", "--dir", "/data",
			"--save", "", "--appendonly", "no", "--maxmemory", e.MaxMemory, "--maxmemory-policy", "allkeys-lru"},
		Env:       []corev1.EnvVar{secretEnv("REDIS_PASSWORD", s.SecretName(), EnvCacheRedisPassword)},
		Resources: e.Resources.requirements(),
		ReadinessProbe: &corev1.Probe{
			ProbeHandler:  corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(6379)}},
			PeriodSeconds: 5,
		},
		VolumeMounts: []corev1.VolumeMount{{Name: "run", MountPath: "/data"}},
	}
	// The password comes from the instance's Secret, read at start only:
	// its hash rolls the Pod when it changes.
	checksum := map[string]string{AnnotationChecksum: hashOf("cache-redis", s.cacheRedisPassword())}
	return s.statefulService(s.CacheRedisName(), ComponentCacheRedis, 6379, 999, c, nil, checksum)
}

// redisMemory is Redis's syntax for a memory size (memtoull in
// src/util.c): a number and an optional unit.
var redisMemory = regexp.MustCompile(`(?i)^[1-9][0-9]*(b|k|kb|m|mb|g|gb)?$`)

// CheckRedisMemory checks embedded_cache_redis.max_memory.
func CheckRedisMemory(v string) error {
	if v != "" && !redisMemory.MatchString(v) {
		return fmt.Errorf("%q is not a Redis memory size such as 256mb or 1gb", v)
	}
	return nil
}

// CheckRedisDB checks a Redis database number.
func CheckRedisDB(n int64) error {
	if n < 0 {
		return fmt.Errorf("must not be negative (got %d)", n)
	}
	return nil
}

// CheckSentinelHost checks an element of sentinel.hosts: a host name or
// an IPv4 address, with an optional port. Mastodon splits each element at
// ':' (parse_sentinels, and streaming/redis.js), so an IPv6 address cannot
// be given.
func CheckSentinelHost(v string) error {
	if strings.Count(v, ":") > 1 {
		return fmt.Errorf("%q has more than one ':': Mastodon splits each element at ':', so an IPv6 address cannot be given (use a host name)", v)
	}
	host, port, hasPort := strings.Cut(v, ":")
	if host == "" || strings.ContainsAny(host, ":/ ,@") {
		return fmt.Errorf("%q must be a host name or IPv4 address, with an optional :port (Mastodon splits the list at ',' and each element at ':')", v)
	}
	if hasPort {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("%q: %q is not a TCP port", v, port)
		}
	}
	return nil
}
