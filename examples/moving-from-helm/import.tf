# Adopt the Helm release "mastodon" of namespace "social" (its instance is
# named after the release; helm:social/mastodon/<name> names it otherwise).
# `terraform plan -generate-config-out=mastodon.tf` writes its configuration.
import {
  to = mastodon_instance.social
  id = "helm:social/mastodon"
}
