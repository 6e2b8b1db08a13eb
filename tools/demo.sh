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
# Which cluster: $KUBECONFIG when set; else kind (real images) when Docker
# and kind are there or MASTODON_DEMO_CLUSTER=kind; else the local simulated one.
cache="${MASTODON_DEV_CACHE:-$HOME/.cache/terraform-provider-mastodon}"
cluster="${MASTODON_DEMO_CLUSTER:-}"
if [[ -n "${KUBECONFIG:-}" ]]; then
  cluster=given
elif [[ -z "$cluster" ]]; then
  cluster=local
  if command -v kind >/dev/null && command -v docker >/dev/null && docker info >/dev/null 2>&1; then cluster=kind; fi
fi
case "$cluster" in
  kind)
    export KUBECONFIG="$cache/kind-demo-kubeconfig"
    if ! kind get clusters 2>/dev/null | grep -qx mastodon-demo; then
      [[ "$action" == destroy ]] && { echo "demo: no kind cluster mastodon-demo"; exit 0; }
      kind create cluster --name mastodon-demo --kubeconfig "$KUBECONFIG" --wait 5m
    fi
    kind get kubeconfig --name mastodon-demo >"$KUBECONFIG"
    ;;
  local) KUBECONFIG="$("$root/tools/cluster/cluster.sh" up | tail -1)"; export KUBECONFIG ;;
esac
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
domain="${TF_VAR_domain:-social.example}"
if [[ "$simulated" -gt 0 ]]; then
  echo
  echo "demo: with Docker and kind on PATH (or MASTODON_DEMO_CLUSTER=kind), make demo runs it on kind with real images."
else
  echo
  echo "demo: open it through the API server (Mastodon answers only its domain, and redirects plain HTTP to https):"
  echo "  kubectl -n $ns port-forward svc/social-web 3000:3000 &"
  echo "  curl -H 'Host: $domain' -H 'X-Forwarded-Proto: https' http://127.0.0.1:3000/api/v2/instance"
  echo "demo: in a browser, map $domain to 127.0.0.1 (/etc/hosts) and put a TLS proxy before the port-forward, e.g."
  echo "  caddy reverse-proxy --from $domain --to 127.0.0.1:3000   # then https://$domain"
fi
