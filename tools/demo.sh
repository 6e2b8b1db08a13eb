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
echo "demo: log in at $(terraform -chdir="$dir" output -raw url) as $(terraform -chdir="$dir" output -raw owner_login)"
echo "demo: password: terraform -chdir=examples/quickstart output -raw owner_password"
echo
echo "demo: kubectl get pods -n $ns"
kubectl get pods -n "$ns" -o wide
