import {
  to = mastodon_instance.social
  id = "mastodon/social" # namespace/name
}
