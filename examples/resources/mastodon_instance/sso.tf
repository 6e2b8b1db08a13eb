# An instance whose users sign in through an OpenID Connect provider
# (Keycloak, Authentik, ...) only: register
# https://social.example.org/auth/auth/openid_connect/callback as the
# client's redirect URI there.
variable "oidc_client_secret" {
  type      = string
  sensitive = true
  ephemeral = true
}

resource "mastodon_instance" "with_sso" {
  name         = "social"
  namespace    = "mastodon"
  local_domain = "social.example.org"
  version      = "v4.7.3"

  sso = {
    omniauth_only   = true
    one_click_login = true
    oidc = {
      display_name             = "Example ID"
      issuer                   = "https://id.example.org/realms/social"
      client_id                = "mastodon"
      client_secret_wo         = var.oidc_client_secret
      client_secret_wo_version = 1
      use_pkce                 = true
      uid_field                = "preferred_username"
      end_session_endpoint     = "https://id.example.org/realms/social/protocol/openid-connect/logout"
    }
  }
}
