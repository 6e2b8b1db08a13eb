# The Redis split of Mastodon's scaling guide: the cache on an in-cluster
# Redis of its own that keeps nothing on disk, Sidekiq on a managed Redis
# reached over TLS; the main Redis stays the embedded one.
resource "mastodon_instance" "split_redis" {
  name         = "social"
  namespace    = "mastodon"
  local_domain = "social.example.org"
  version      = "v4.7.3"

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
