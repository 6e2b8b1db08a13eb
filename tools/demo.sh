#!/usr/bin/env bash
# make demo: terraform apply of examples/quickstart with the provider just
# built (wired through a dev_overrides CLI configuration), then its outputs.
#   tools/demo.sh BIN_DIR [destroy]
set -euo pipefail
bin="$1"
action="${2:-apply}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="$root/examples/quickstart"
rc="$(mktemp)"
trap 'rm -f "$rc"' EXIT
cat >"$rc" <<RC
provider_installation {
  dev_overrides {
    "tootform/mastodon" = "$bin"
  }
  direct {}
}
RC
export TF_CLI_CONFIG_FILE="$rc"
export TF_IN_AUTOMATION=1
echo "demo: KUBECONFIG=$KUBECONFIG"
if [[ "$action" == destroy ]]; then
  terraform -chdir="$dir" destroy -auto-approve -input=false
  exit 0
fi
terraform -chdir="$dir" apply -auto-approve -input=false
echo
echo "demo: outputs"
terraform -chdir="$dir" output
ns="$(terraform -chdir="$dir" output -raw namespace)"
echo
# kwok's simulated nodes carry kwok.x-k8s.io/node=fake (and type=kwok): they
# report Pods Running without running any container.
simulated="$(kubectl get nodes -o jsonpath='{range .items[*]}{.metadata.annotations.kwok\.x-k8s\.io/node}{.metadata.labels.type}{"\n"}{end}' 2>/dev/null | grep -c -E 'fake|kwok' || true)"
if [[ "$simulated" -gt 0 ]]; then
  echo "demo: this cluster's nodes are simulated (kwok): every object was created and every Pod reports Running,"
  echo "demo: but no container runs, so there is nothing to log in to at $(terraform -chdir="$dir" output -raw url)."
  echo "demo: to run Mastodon for real, point KUBECONFIG at a real cluster (kind, k3s, GKE, ...) with a default"
  echo "demo: storage class, an Ingress controller and DNS for the domain, and run make demo again with TF_VAR_domain and"
  echo "demo: TF_VAR_owner_email set (the owner's address needs a domain that receives mail)."
else
  echo "demo: log in at $(terraform -chdir="$dir" output -raw url) as $(terraform -chdir="$dir" output -raw owner_login)"
  echo "demo: password: terraform -chdir=examples/quickstart output -raw owner_password"
  echo "demo: the quickstart renders no Ingress: give mastodon_instance.social an ingress block, or route HTTPS for the"
  echo "demo: domain to Service social-web (port 3000) and /api/v1/streaming to social-streaming (port 4000) in $ns."
fi
echo
echo "demo: kubectl get pods -n $ns"
kubectl get pods -n "$ns" -o wide
