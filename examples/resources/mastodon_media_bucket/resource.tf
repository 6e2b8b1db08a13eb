# GCS through its S3 interface: a bucket with fine-grained access control and
# an HMAC key of a service account that may manage its objects.
resource "google_storage_bucket" "media" {
  name                        = "example-mastodon-media"
  location                    = "EU"
  uniform_bucket_level_access = false
}

resource "google_service_account" "media" {
  account_id = "mastodon-media"
}

resource "google_storage_bucket_iam_member" "media" {
  bucket = google_storage_bucket.media.name
  role   = "roles/storage.objectAdmin"
  member = "serviceAccount:${google_service_account.media.email}"
}

resource "google_storage_hmac_key" "media" {
  service_account_email = google_service_account.media.email
}

resource "mastodon_media_bucket" "gcs" {
  bucket            = google_storage_bucket.media.name
  endpoint          = "https://storage.googleapis.com"
  create            = false # google_storage_bucket owns it
  public_access     = "acl"
  access_key_id     = google_storage_hmac_key.media.access_id
  secret_access_key = google_storage_hmac_key.media.secret

  depends_on = [google_storage_bucket_iam_member.media]
}

# AWS S3: created here, public through a bucket policy, served by a CDN.
resource "mastodon_media_bucket" "s3" {
  bucket               = "example-mastodon-media"
  region               = "eu-central-1"
  public_access        = "policy"
  alias_host           = "files.example.com"
  cors_allowed_origins = ["https://social.example.com"]
  access_key_id        = var.aws_access_key_id
  secret_access_key    = var.aws_secret_access_key
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

  media_bucket = mastodon_media_bucket.gcs.settings
}
