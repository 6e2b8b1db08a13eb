import {
  to = mastodon_admin_user.owner
  identity = {
    namespace = "mastodon"
    instance  = "social"
    username  = "alice"
  }
}
