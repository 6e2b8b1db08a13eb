# The Redis split of Mastodon's scaling guide: the cache on an in-cluster
# Redis of its own that keeps nothing on disk, Sidekiq on a managed Redis
# reached over TLS, the main Redis found through Redis Sentinel.
resource "mastodon_instance" "split_redis" {
  name         = "social"
  namespace    = "mastodon"
  local_domain = "social.example.org"
  version      = "v4.7.3"

  redis = {
    sentinel = {
      master = "mastodon"
      hosts  = ["sentinel-0.redis", "sentinel-1.redis", "sentinel-2.redis"]
    }
    password_secret_ref = { name = "redis", key = "password" }
  }

  embedded_cache_redis = {
    max_memory = "1gb"
    resources  = { memory_request = "1200Mi", memory_limit = "1200Mi" }
  }

  sidekiq_redis = {
    host                = "jobs.redis.example.internal"
    port                = 6380
    db                  = 1
    tls                 = true
    password_wo         = var.sidekiq_redis_password
    password_wo_version = 1
  }
}

variable "sidekiq_redis_password" {
  type      = string
  sensitive = true
  ephemeral = true
}
