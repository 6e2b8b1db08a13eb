#!/usr/bin/env bash
# make lint: `terraform validate` of every example with the provider just
# built (a dev_overrides CLI configuration: no init, no registry). Examples
# that need providers we cannot install offline are only checked by
# `terraform fmt` (in make lint) and are listed here.
#   TERRAFORM=/path/to/terraform tools/validate-examples.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tf="${TERRAFORM:-terraform}"
fmt_only=(
  examples/provider        # the google provider (a GKE cluster in the same configuration)
  examples/gke-cloudsql    # the google provider
  examples/media-bucket-keys/aws  # the aws provider
  examples/media-bucket-keys/gcs  # the google provider
  examples/media-bucket-keys/r2   # the cloudflare provider
  examples/moving-from-helm       # an import block alone: terraform plan -generate-config-out writes the resource
)
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
go build -C "$root" -o "$work/bin/terraform-provider-mastodon" .
cat >"$work/terraformrc" <<RC
provider_installation {
  dev_overrides {
    "tootform/mastodon" = "$work/bin"
  }
  direct {}
}
RC
export TF_CLI_CONFIG_FILE="$work/terraformrc" TF_IN_AUTOMATION=1
# Import blocks with an identity need Terraform 1.12.
identity=false
if "$tf" version -json | grep -Eq '"terraform_version": "1\.(1[2-9]|[2-9][0-9])\.'; then identity=true; fi

# validate DIR SKIP: the .tf files of DIR but SKIP, alone in a module.
validate() {
  local dir="$1" skip="$2" mod
  mod="$(mktemp -d -p "$work")"
  for f in "$root/$dir"/*.tf; do
    [[ "$(basename "$f")" == "$skip" ]] || cp "$f" "$mod/"
  done
  if ! grep -qs required_providers "$mod"/*.tf; then
    printf 'terraform {\n  required_providers {\n    mastodon = { source = "tootform/mastodon" }\n  }\n}\n' >"$mod/providers_test.tf"
  fi
  if ! out="$("$tf" -chdir="$mod" validate -no-color 2>&1)"; then
    echo "terraform validate failed for $dir (without $skip):" >&2
    echo "$out" >&2
    return 1
  fi
}

failed=0
while read -r dir; do
  dir="${dir#"$root"/}"
  if [[ " ${fmt_only[*]} " == *" $dir "* ]]; then
    echo "fmt only: $dir"
    continue
  fi
  validate "$dir" import-identity.tf || failed=1
  if [[ -f "$root/$dir/import-identity.tf" ]]; then
    if $identity; then
      validate "$dir" import-id.tf || failed=1
    else
      echo "import-identity.tf not validated in $dir: needs Terraform 1.12+ (TERRAFORM=...)"
    fi
  fi
  echo "valid: $dir"
done < <(find "$root/examples" -name '*.tf' -printf '%h\n' | sort -u)
exit "$failed"
