#!/usr/bin/env bash
# Builds an S3 server that the tests run on 127.0.0.1, from the Go module
# proxy, once per version, and prints the binary's path on its last line:
#   tools/s3server.sh minio       MinIO (bucket policies; no per-bucket CORS)
#   tools/s3server.sh versitygw   Versity S3 Gateway, posix backend (bucket policies and CORS)
# Versions are in tools/cluster/versions.env. Cached under $MASTODON_DEV_CACHE
# (default ~/.cache/terraform-provider-mastodon).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=cluster/versions.env
source "$here/cluster/versions.env"
cache="${MASTODON_DEV_CACHE:-$HOME/.cache/terraform-provider-mastodon}"
case "${1:-}" in
  minio) version="$MINIO_VERSION"; pkg="github.com/minio/minio@$MINIO_VERSION" ;;
  versitygw) version="$VERSITYGW_VERSION"; pkg="github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION" ;;
  *) echo "usage: $0 minio|versitygw" >&2; exit 2 ;;
esac
bin="$cache/$1/$version"
if [[ ! -x "$bin/$1" ]]; then
  echo "s3server: building $1 $version (a few minutes, once)" >&2
  start=$SECONDS
  mkdir -p "$bin"
  GOBIN="$bin" GOFLAGS="-trimpath" CGO_ENABLED=0 go install -ldflags "-s -w" "$pkg" >&2
  echo "s3server: built $1 in $((SECONDS - start))s" >&2
fi
echo "$bin/$1"
