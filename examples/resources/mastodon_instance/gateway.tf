# An instance routed through a Gateway of the Gateway API that the platform
# team runs in namespace "gateways" (its listener "https" holds the
# certificate and allows routes from namespace "mastodon").
resource "mastodon_instance" "behind_gateway" {
  name         = "social"
  namespace    = "mastodon"
  local_domain = "social.example.org"
  version      = "v4.7.3"

  gateway = {
    name         = "public"
    namespace    = "gateways"
    section_name = "https"
  }
}

# The Gateway's address, known when the apply ends, for a DNS record.
output "social_address" {
  value = mastodon_instance.behind_gateway.load_balancer_ip
}
