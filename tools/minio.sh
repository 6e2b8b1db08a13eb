#!/usr/bin/env bash
# Builds MinIO (the S3 server the tests run on 127.0.0.1) from the Go module
# proxy, once per version, and prints the binary's path on its last line.
# Cached under $MASTODON_DEV_CACHE (default ~/.cache/terraform-provider-mastodon).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=cluster/versions.env
source "$here/cluster/versions.env"
cache="${MASTODON_DEV_CACHE:-$HOME/.cache/terraform-provider-mastodon}"
bin="$cache/minio/$MINIO_VERSION"
if [[ ! -x "$bin/minio" ]]; then
  echo "minio-build: building MinIO $MINIO_VERSION (a few minutes, once)" >&2
  start=$SECONDS
  mkdir -p "$bin"
  GOBIN="$bin" GOFLAGS="-trimpath" CGO_ENABLED=0 go install -ldflags "-s -w" "github.com/minio/minio@$MINIO_VERSION" >&2
  echo "minio-build: built in $((SECONDS - start))s" >&2
fi
echo "$bin/minio"
