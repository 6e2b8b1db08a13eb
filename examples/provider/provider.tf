# With nothing set, the provider follows the usual kubeconfig rules
# (KUBECONFIG, ~/.kube/config, then in-cluster).
provider "mastodon" {}

# A kubeconfig file and one of its contexts.
provider "mastodon" {
  alias = "kubeconfig"
  kubernetes = {
    config_path    = "~/.kube/config"
    config_context = "kind-mastodon"
  }
}

# A GKE cluster created in the same configuration: the provider is configured
# from its outputs, and resources still plan before the cluster exists.
data "google_client_config" "current" {}

provider "mastodon" {
  alias = "gke"
  kubernetes = {
    host                   = "https://${google_container_cluster.main.endpoint}"
    token                  = data.google_client_config.current.access_token
    cluster_ca_certificate = base64decode(google_container_cluster.main.master_auth[0].cluster_ca_certificate)
  }
}
