# Quickstart: run by `make demo` against the local cluster (or any cluster
# that KUBECONFIG points to). One Mastodon instance with its embedded
# PostgreSQL and Redis.
terraform {
  required_providers {
    mastodon = {
      source = "tootform/mastodon"
    }
  }
}

# With no settings the provider follows the usual kubeconfig rules.
provider "mastodon" {}

variable "domain" {
  description = "The instance's domain (LOCAL_DOMAIN)."
  type        = string
  default     = "social.example"
}

variable "owner_email" {
  description = "The owner's email address. Its domain must have MX or A records: in production Mastodon refuses others (so not @social.example)."
  type        = string
  default     = "owner@example.org"
}

resource "mastodon_instance" "social" {
  name         = "social"
  namespace    = "mastodon-quickstart"
  local_domain = var.domain
  # Pinned: the default version moves with releases of the provider, so
  # without this an upgrade of the provider upgrades Mastodon.
  version = "v4.7.3"

  # A demo: let `make demo-destroy` remove it and its data.
  deletion_protection = false
  embedded_database   = { delete_volume_on_destroy = true }
  embedded_redis      = { delete_volume_on_destroy = true }
  media               = { delete_volume_on_destroy = true }

  # On a real cluster Mastodon refuses an owner address whose domain has no
  # MX or A record; a demo domain is allowed explicitly.
  settings = { email_domain_allowlist = [var.domain] }
}

# The instance's owner. Log in at the URL with this email and the password
# that `terraform output -raw owner_password` prints.
resource "mastodon_admin_user" "owner" {
  instance = mastodon_instance.social.id
  username = "owner"
  email    = var.owner_email
}

data "mastodon_instances" "all" {
  depends_on = [mastodon_instance.social]
}

output "url" {
  value = mastodon_instance.social.url
}

output "owner_login" {
  value = mastodon_admin_user.owner.email
}

output "owner_password" {
  value     = mastodon_admin_user.owner.password
  sensitive = true
}

output "ready" {
  value = mastodon_instance.social.ready
}

output "namespace" {
  value = mastodon_instance.social.namespace
}

output "instances" {
  description = "Every Mastodon instance this provider manages in the cluster."
  value       = data.mastodon_instances.all.instances
}
