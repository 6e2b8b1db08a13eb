# Credentials come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY until the
# configuration gives them.
import {
  to = mastodon_media_bucket.gcs
  id = "https://storage.googleapis.com/example-mastodon-media" # endpoint/bucket, or the bucket alone for AWS
}
