# AWS S3: the bucket is managed with the operator's keys (AWS_ACCESS_KEY_ID
# and AWS_SECRET_ACCESS_KEY in the environment that runs Terraform, which
# never reach Mastodon); Mastodon gets an IAM user of its own that may only
# list the bucket and read, write and delete its objects.
terraform {
  required_providers {
    aws      = { source = "hashicorp/aws" }
    mastodon = { source = "tootform/mastodon" }
  }
}

variable "bucket" {
  type    = string
  default = "example-mastodon-media"
}

resource "aws_iam_user" "mastodon_media" {
  name = "mastodon-media"
}

resource "aws_iam_user_policy" "mastodon_media" {
  name = "mastodon-media-objects"
  user = aws_iam_user.mastodon_media.name
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        # tootctl media remove-orphans (the instance's weekly maintenance)
        # and the backup's pruning list the bucket.
        Effect   = "Allow"
        Action   = ["s3:ListBucket"]
        Resource = "arn:aws:s3:::${var.bucket}"
      },
      {
        # PutObjectAcl only matters with public_access = "acl".
        Effect   = "Allow"
        Action   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:PutObjectAcl"]
        Resource = "arn:aws:s3:::${var.bucket}/*"
      },
    ]
  })
}

resource "aws_iam_access_key" "mastodon_media" {
  user = aws_iam_user.mastodon_media.name
}

resource "mastodon_media_bucket" "media" {
  bucket = var.bucket
  region = "eu-central-1"

  # The proof of every apply lists the bucket and writes, reads and deletes a
  # test object with this key, as Mastodon will (it waits while a new key
  # propagates).
  instance_access_key_id     = aws_iam_access_key.mastodon_media.id
  instance_secret_access_key = aws_iam_access_key.mastodon_media.secret

  depends_on = [aws_iam_user_policy.mastodon_media]
}

resource "mastodon_instance" "social" {
  name         = "social"
  namespace    = "mastodon"
  local_domain = "social.example.com"
  version      = "v4.7.3"

  media_bucket = mastodon_media_bucket.media.settings
}
