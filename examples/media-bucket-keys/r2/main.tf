# Cloudflare R2: the bucket is managed with an R2 token that may administer
# buckets; Mastodon gets an API token scoped to object read and write on this
# one bucket. R2's S3 key of a token is its ID, and the secret the SHA-256 of
# its value.
terraform {
  required_providers {
    cloudflare = { source = "cloudflare/cloudflare" }
    mastodon   = { source = "tootform/mastodon" }
  }
}

variable "account_id" {
  type = string
}

variable "r2_bucket_item_write" {
  description = "ID of the permission group \"Workers R2 Storage Bucket Item Write\" (object read and write)"
  type        = string
}

variable "admin_access_key_id" {
  type = string
}

variable "admin_secret_access_key" {
  type      = string
  sensitive = true
}

resource "cloudflare_r2_bucket" "media" {
  account_id = var.account_id
  name       = "mastodon-media"
}

resource "cloudflare_account_token" "mastodon_media" {
  account_id = var.account_id
  name       = "mastodon-media-objects"
  policies = [{
    effect            = "allow"
    permission_groups = [{ id = var.r2_bucket_item_write }]
    resources = {
      "com.cloudflare.edge.r2.bucket.${var.account_id}_default_${cloudflare_r2_bucket.media.name}" = "*"
    }
  }]
}

resource "mastodon_media_bucket" "media" {
  bucket     = cloudflare_r2_bucket.media.name
  endpoint   = "https://${var.account_id}.r2.cloudflarestorage.com"
  region     = "auto"
  create     = false
  alias_host = "files.example.com" # R2 publishes through a custom domain

  access_key_id     = var.admin_access_key_id
  secret_access_key = var.admin_secret_access_key

  instance_access_key_id     = cloudflare_account_token.mastodon_media.id
  instance_secret_access_key = sha256(cloudflare_account_token.mastodon_media.value)
}

resource "mastodon_instance" "social" {
  name         = "social"
  namespace    = "mastodon"
  local_domain = "social.example.com"
  version      = "v4.7.3"

  media_bucket = mastodon_media_bucket.media.settings
}
