import {
  to = mastodon_admin_user.owner
  id = "mastodon/social/alice" # namespace/instance/username
}
