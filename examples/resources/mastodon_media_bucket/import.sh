# A bucket at the endpoint given in the ID (or AWS_ENDPOINT_URL_S3, or AWS
# when the ID is only a name). Credentials come from AWS_ACCESS_KEY_ID and
# AWS_SECRET_ACCESS_KEY until the configuration gives them.
terraform import mastodon_media_bucket.gcs https://storage.googleapis.com/example-mastodon-media
