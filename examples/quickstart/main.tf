# Quickstart: run by `make demo` against the local cluster (or any cluster
# that KUBECONFIG points to).
terraform {
  required_providers {
    mastodon = {
      source = "tootform/mastodon"
    }
  }
}

# With no settings the provider follows the usual kubeconfig rules.
provider "mastodon" {}

data "mastodon_instances" "all" {}

output "instances" {
  description = "The Mastodon instances this provider manages in the cluster."
  value       = data.mastodon_instances.all.instances
}
