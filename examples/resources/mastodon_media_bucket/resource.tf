# GCS through its S3 interface: a bucket with fine-grained access control
# (google_storage_bucket with uniform_bucket_level_access = false) and an HMAC
# key of a service account that may manage its objects
# (google_storage_hmac_key). The GKE guide shows the google resources.
resource "mastodon_media_bucket" "gcs" {
  bucket            = "example-mastodon-media"
  endpoint          = "https://storage.googleapis.com"
  create            = false # google_storage_bucket owns it
  public_access     = "acl"
  access_key_id     = var.gcs_hmac_access_id
  secret_access_key = var.gcs_hmac_secret
}

# AWS S3: created here, public through a bucket policy, served by a CDN.
# Managed with the operator's keys (or, left out, AWS_ACCESS_KEY_ID and
# AWS_SECRET_ACCESS_KEY); Mastodon gets a key that may only use the objects
# (see "Keys: the bucket's and Mastodon's").
resource "mastodon_media_bucket" "s3" {
  bucket                     = "example-mastodon-media"
  region                     = "eu-central-1"
  public_access              = "policy"
  alias_host                 = "files.example.com"
  cors_allowed_origins       = ["https://social.example.com"]
  access_key_id              = var.aws_access_key_id
  secret_access_key          = var.aws_secret_access_key
  instance_access_key_id     = var.mastodon_access_key_id
  instance_secret_access_key = var.mastodon_secret_access_key
}

# MinIO (path-style addressing is the default for stores other than AWS,
# GCS and R2).
resource "mastodon_media_bucket" "minio" {
  bucket            = "mastodon-media"
  endpoint          = "https://minio.example.com"
  access_key_id     = var.minio_access_key
  secret_access_key = var.minio_secret_key
}

resource "mastodon_instance" "social" {
  name         = "social"
  namespace    = "mastodon"
  local_domain = "social.example.com"
  version      = "v4.7.3"

  media_bucket = mastodon_media_bucket.gcs.settings
}

variable "gcs_hmac_access_id" {
  description = "google_storage_hmac_key.media.access_id"
  type        = string
}

variable "gcs_hmac_secret" {
  description = "google_storage_hmac_key.media.secret"
  type        = string
  sensitive   = true
}

variable "aws_access_key_id" {
  type = string
}

variable "aws_secret_access_key" {
  type      = string
  sensitive = true
}

variable "mastodon_access_key_id" {
  description = "aws_iam_access_key.mastodon_media.id"
  type        = string
}

variable "mastodon_secret_access_key" {
  description = "aws_iam_access_key.mastodon_media.secret"
  type        = string
  sensitive   = true
}

variable "minio_access_key" {
  type = string
}

variable "minio_secret_key" {
  type      = string
  sensitive = true
}
