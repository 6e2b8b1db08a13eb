resource "mastodon_instance" "social" {
  name         = "social"
  namespace    = "mastodon"
  local_domain = "social.example.org"
  version      = "v4.7.3"
}

# The owner, with a password the provider generates and keeps in state.
resource "mastodon_admin_user" "owner" {
  instance = mastodon_instance.social.id
  username = "alice"
  email    = "alice@example.org"
}

output "owner_password" {
  value     = mastodon_admin_user.owner.password
  sensitive = true
}

# A moderator whose password never enters the state.
resource "mastodon_admin_user" "moderator" {
  instance            = mastodon_instance.social.id
  username            = "bob"
  email               = "bob@example.org"
  role                = "Moderator"
  password_wo         = var.moderator_password
  password_wo_version = 1
}

variable "moderator_password" {
  type      = string
  sensitive = true
  ephemeral = true
}
