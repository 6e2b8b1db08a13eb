#!/usr/bin/env bash
# make docs: docs/ from the schema descriptions, templates/ and examples/,
# with tfplugindocs pinned in tools/go.mod. It builds the provider and reads
# its schema through the terraform on PATH (no download, no registry).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
if ! command -v terraform >/dev/null; then
  echo "make docs needs terraform on PATH (tfplugindocs would otherwise try to download it)" >&2
  exit 1
fi
go tool -modfile=tools/go.mod tfplugindocs generate \
  --provider-name mastodon --rendered-provider-name Mastodon
