#!/usr/bin/env bash
# The local control plane for tests and the quickstart: a real etcd,
# kube-apiserver, kube-controller-manager and kube-scheduler, with kwok
# standing in for kubelets, all on 127.0.0.1.
#
#   cluster.sh up      build (once) and start it, add nodes, write the kubeconfig
#   cluster.sh down    stop it and delete its data
#   cluster.sh kubeconfig   print the kubeconfig path
#
# Settings (environment): MASTODON_DEV_CACHE (default ~/.cache/terraform-provider-mastodon),
# MASTODON_DEV_CLUSTER (cluster name, default mastodon-dev), MASTODON_DEV_NODES
# (simulated nodes, default 4; each takes 110 Pods).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"

cache="${MASTODON_DEV_CACHE:-$HOME/.cache/terraform-provider-mastodon}"
name="${MASTODON_DEV_CLUSTER:-mastodon-dev}"
nodes="${MASTODON_DEV_NODES:-4}"
kubeconfig="$cache/kubeconfig"
# The stamp changes with the versions and with this script (its cluster
# configuration), so a cluster made another way is recreated.
stamp="k8s-$KUBERNETES_VERSION-etcd-$ETCD_VERSION-kwok-$KWOK_VERSION-$(sha256sum "$here/cluster.sh" | cut -c1-12)"
export KWOK_WORKDIR="$cache/kwok"

log() { echo "cluster: $*" >&2; }

healthy() {
  [[ -f "$kubeconfig" ]] || return 1
  "$bin/kubectl" --kubeconfig "$kubeconfig" --request-timeout=5s get --raw=/readyz >/dev/null 2>&1
}

kwokctl() { "$bin/kwokctl" --name "$name" "$@"; }

create() {
  local config="$KWOK_WORKDIR/$name.config.yaml"
  mkdir -p "$KWOK_WORKDIR"
  # Everything binds to loopback; the Service range is a /16 so large tests
  # and benchmarks do not run out of ClusterIPs; authorization and admission
  # are on, as in a real cluster (RBAC, Pod Security); the controller-manager
  # provisions host-path volumes for the default StorageClass. A single
  # control plane needs no leader election: without it the controller-manager
  # and scheduler survive an API server that stalls for longer than their
  # lease (with it they exit by design, and nothing here restarts them).
  cat >"$config" <<EOF
apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokctlConfiguration
options:
  runtime: binary
  bindAddress: 127.0.0.1
  securePort: true
  kubeAuthorization: true
  kubeAdmission: true
  etcdBinary: $bin/etcd
  kubeApiserverBinary: $bin/kube-apiserver
  kubeControllerManagerBinary: $bin/kube-controller-manager
  kubeSchedulerBinary: $bin/kube-scheduler
  kwokControllerBinary: $bin/kwok
  kubectlBinary: $bin/kubectl
  kubeVersion: v$KUBERNETES_VERSION
  etcdVersion: $ETCD_VERSION
  kwokVersion: v$KWOK_VERSION
  enableCRDs:
  - Stage
componentsPatches:
- name: kube-apiserver
  extraArgs:
  - key: service-cluster-ip-range
    value: 10.96.0.0/16
- name: kube-controller-manager
  extraArgs:
  - key: service-cluster-ip-range
    value: 10.96.0.0/16
  - key: enable-hostpath-provisioner
    value: "true"
  - key: leader-elect
    value: "false"
- name: kube-scheduler
  extraArgs:
  - key: leader-elect
    value: "false"
EOF
  log "creating cluster $name"
  kwokctl create cluster --config "$config" --kubeconfig "" --wait 2m >&2
  echo "$stamp" >"$KWOK_WORKDIR/$name.stamp"
}

up() {
  bin="$("$here/build.sh")"
  # kwokctl runs `kubectl`; use the machine's, linked beside the others.
  if [[ ! -x "$bin/kubectl" ]]; then
    ln -sf "$(command -v kubectl)" "$bin/kubectl"
  fi
  if [[ -d "$KWOK_WORKDIR/clusters/$name" ]]; then
    if [[ "$(cat "$KWOK_WORKDIR/$name.stamp" 2>/dev/null)" != "$stamp" ]]; then
      log "cluster $name was built from other versions: recreating it"
      kwokctl delete cluster >&2 || true
    elif healthy; then
      log "cluster $name is already running"
    else
      # Its processes are gone (a new session, a reboot): its data is
      # scratch, so a fresh cluster is quicker and surer than a restart.
      log "cluster $name is not running: recreating it"
      kwokctl delete cluster >&2 || true
    fi
  fi
  if [[ ! -d "$KWOK_WORKDIR/clusters/$name" ]]; then
    create
  fi
  kwokctl get kubeconfig >"$kubeconfig.tmp"
  mv "$kubeconfig.tmp" "$kubeconfig"
  wait_ready
  # With the Stage CRD on, kwok simulates only the Stages applied: kwok's
  # own default set (nodes become Ready, Pods Running, Job Pods Succeeded).
  # Tests add Stages of their own to make a Pod fail or never become ready.
  local kwok_src
  kwok_src="$(go mod download -json "sigs.k8s.io/kwok@v$KWOK_VERSION" | sed -n 's/.*"Dir": "\(.*\)",*/\1/p')"
  "$bin/kubectl" --kubeconfig "$kubeconfig" apply -k "$kwok_src/kustomize/stage/fast" >/dev/null
  local have
  have="$("$bin/kubectl" --kubeconfig "$kubeconfig" get nodes --no-headers 2>/dev/null | wc -l)"
  if [[ "$have" -lt "$nodes" ]]; then
    log "adding simulated nodes ($have -> $nodes)"
    # Nodes report loopback addresses (127.0.0.1, .2, ...): the API server
    # reaches "kubelets" (kwok's own server, which serves Pod logs) there
    # and nowhere else.
    kwokctl scale node --replicas "$nodes" --param '.nodeIPs=["127.0.0.1"]' >&2
  fi
  # A default StorageClass, so PersistentVolumeClaims bind: the
  # controller-manager's built-in host-path provisioner (for development
  # only) makes a volume under /tmp for each claim.
  "$bin/kubectl" --kubeconfig "$kubeconfig" apply -f - >/dev/null <<EOF
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: standard
  annotations:
    storageclass.kubernetes.io/is-default-class: "true"
provisioner: kubernetes.io/host-path
reclaimPolicy: Delete
volumeBindingMode: Immediate
EOF
  log "ready: $("$bin/kubectl" --kubeconfig "$kubeconfig" version -o json | sed -n 's/.*"gitVersion": "\(.*\)".*/\1/p' | tail -1) with $nodes nodes"
  log "export KUBECONFIG=$kubeconfig"
  echo "$kubeconfig"
}

wait_ready() {
  for _ in $(seq 1 120); do
    if healthy; then
      return 0
    fi
    sleep 1
  done
  log "the API server did not become ready within 2 minutes; logs: $KWOK_WORKDIR/clusters/$name/logs"
  return 1
}

down() {
  bin="$(dirname "$cache")/nonexistent"
  for b in "$cache"/cluster/*/bin/kwokctl; do
    [[ -x "$b" ]] && bin="$(dirname "$b")"
  done
  if [[ -x "$bin/kwokctl" && -d "$KWOK_WORKDIR/clusters/$name" ]]; then
    kwokctl delete cluster >&2
  fi
  rm -f "$kubeconfig" "$KWOK_WORKDIR/$name.stamp"
  log "cluster $name is down"
}

case "${1:-up}" in
up) up ;;
down) down ;;
kubeconfig) echo "$kubeconfig" ;;
*)
  echo "usage: $0 up|down|kubeconfig" >&2
  exit 2
  ;;
esac
