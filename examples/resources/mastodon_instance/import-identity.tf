import {
  to = mastodon_instance.social
  identity = {
    namespace = "mastodon"
    name      = "social"
  }
}
