# GCS through its S3 interface: google_storage_bucket creates the bucket, and
# mastodon_media_bucket checks it with the operator's HMAC key
# (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment that runs
# Terraform, which never reach Mastodon); Mastodon gets the HMAC key of a
# service account that may only use the bucket's objects.
terraform {
  required_providers {
    google   = { source = "hashicorp/google" }
    mastodon = { source = "tootform/mastodon" }
  }
}

variable "project" {
  type = string
}

resource "google_storage_bucket" "media" {
  name                        = "${var.project}-mastodon-media"
  location                    = "EU"
  uniform_bucket_level_access = false # public_access = "acl": fine-grained access control
}

# Mastodon's: objects of this bucket only. roles/storage.objectUser reads,
# writes and deletes objects; writing them with the public-read ACL
# (public_access = "acl") also needs storage.objects.setIamPolicy, which
# roles/storage.objectAdmin adds. With public_access = "none" (objects made
# public through IAM or a CDN), roles/storage.objectUser is enough. The proof
# of every apply writes its test object with this key, so a missing
# permission fails the apply, not Mastodon's first upload.
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

resource "mastodon_media_bucket" "media" {
  bucket        = google_storage_bucket.media.name
  endpoint      = "https://storage.googleapis.com"
  create        = false # google_storage_bucket owns it
  public_access = "acl"

  instance_access_key_id     = google_storage_hmac_key.media.access_id
  instance_secret_access_key = google_storage_hmac_key.media.secret

  depends_on = [google_storage_bucket_iam_member.media]
}

resource "mastodon_instance" "social" {
  name         = "social"
  namespace    = "mastodon"
  local_domain = "social.example.com"
  version      = "v4.7.3"

  media_bucket = mastodon_media_bucket.media.settings
}
