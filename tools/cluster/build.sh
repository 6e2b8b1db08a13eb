#!/usr/bin/env bash
# Builds the local control plane from the Go module proxy, once per set of
# versions: etcd, kube-apiserver, kube-controller-manager, kube-scheduler,
# kwok and kwokctl. Prints the folder holding the binaries on its last line.
#
# The binaries are cached under $MASTODON_DEV_CACHE (default
# ~/.cache/terraform-provider-mastodon), in a folder named after the versions,
# so a second run returns at once.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"

cache="${MASTODON_DEV_CACHE:-$HOME/.cache/terraform-provider-mastodon}"
dir="$cache/cluster/k8s-$KUBERNETES_VERSION-etcd-$ETCD_VERSION-kwok-$KWOK_VERSION"
bin="$dir/bin"

log() { echo "cluster-build: $*" >&2; }

if [[ -f "$bin/.complete" ]]; then
  echo "$bin"
  exit 0
fi
mkdir -p "$bin" "$dir/src/kubernetes" "$dir/src/etcd"
export GOFLAGS="-mod=mod -trimpath"
export CGO_ENABLED=0

minor="${KUBERNETES_VERSION#*.}"
minor="${minor%%.*}"
staging_version="0.$minor.${KUBERNETES_VERSION##*.}"

if [[ ! -x "$bin/kube-apiserver" || ! -x "$bin/kube-controller-manager" || ! -x "$bin/kube-scheduler" ]]; then
  log "resolving k8s.io/kubernetes v$KUBERNETES_VERSION"
  src="$dir/src/kubernetes"
  modfile="$(go mod download -json "k8s.io/kubernetes@v$KUBERNETES_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')"
  {
    echo "module local/kubernetes-build"
    echo
    echo "go $(sed -n 's/^go //p' "$modfile")"
    echo
    echo "require k8s.io/kubernetes v$KUBERNETES_VERSION"
    echo
    # Each staging module that k8s.io/kubernetes replaces with ./staging/...
    # is published under the same-numbered v0.x release.
    sed -n 's#^[[:space:]]*\(k8s.io/[^ ]*\) => ./staging/.*#replace \1 => \1 v'"$staging_version"'#p' "$modfile"
  } >"$src/go.mod"
  ldflags="-s -w"
  for v in gitVersion=v$KUBERNETES_VERSION gitMajor=1 gitMinor=$minor gitTreeState=clean; do
    ldflags="$ldflags -X k8s.io/component-base/version.$v"
  done
  log "building kube-apiserver, kube-controller-manager and kube-scheduler v$KUBERNETES_VERSION (about 10 minutes on 2 cores, once)"
  start=$SECONDS
  (cd "$src" && go build -ldflags "$ldflags" -o "$bin/" \
    k8s.io/kubernetes/cmd/kube-apiserver \
    k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler)
  log "kubernetes components built in $((SECONDS - start))s"
fi

if [[ ! -x "$bin/etcd" ]]; then
  log "building etcd v$ETCD_VERSION"
  src="$dir/src/etcd"
  cat >"$src/main.go" <<'GO'
// Command etcd runs etcd's own server entry point.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
  printf 'module local/etcd-build\n\ngo 1.26.0\n\nrequire go.etcd.io/etcd/server/v3 v%s\n' "$ETCD_VERSION" >"$src/go.mod"
  start=$SECONDS
  (cd "$src" && go build -ldflags "-s -w" -o "$bin/etcd" .)
  log "etcd built in $((SECONDS - start))s"
fi

if [[ ! -x "$bin/kwok" || ! -x "$bin/kwokctl" ]]; then
  log "building kwok and kwokctl v$KWOK_VERSION"
  start=$SECONDS
  GOBIN="$bin" GOFLAGS="-trimpath" go install -ldflags "-s -w" \
    "sigs.k8s.io/kwok/cmd/kwok@v$KWOK_VERSION" "sigs.k8s.io/kwok/cmd/kwokctl@v$KWOK_VERSION"
  log "kwok built in $((SECONDS - start))s"
fi

touch "$bin/.complete"
echo "$bin"
