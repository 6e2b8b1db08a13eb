import {
  to = mastodon_media_bucket.gcs
  identity = {
    endpoint = "https://storage.googleapis.com" # leave out for AWS S3
    bucket   = "example-mastodon-media"
  }
}
