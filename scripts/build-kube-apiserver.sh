#!/usr/bin/env bash
# Build a real kube-apiserver (v1.20.2) from Debian's `kubernetes` source package, offline.
# Usage: build-kube-apiserver.sh OUTDIR    (~11 min on 2 cores from an empty Go cache; binary ~110 MB)
# Skips the build when OUTDIR/kube-apiserver already exists. Needs root (apt-get).
# Pair it with Debian's etcd-server. Used by scripts/test.sh for the Kubernetes executor's tests
# (plugins/mlcore-kubernetes/tests/kube_cluster.py starts etcd + the API server).
# Copied from the workplace's shared/scripts so that CI on a fresh clone has it.
set -euo pipefail
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
OUT=${1:?usage: build-kube-apiserver.sh OUTDIR}; mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
if [ -x "$OUT/kube-apiserver" ]; then echo "kube-apiserver already built in $OUT"; exit 0; fi
export DEBIAN_FRONTEND=noninteractive
added_src=
if ! grep -rqs '^Types: deb-src' /etc/apt/sources.list.d/ ; then
  sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources | as_root tee /etc/apt/sources.list.d/mlcore-debian-src.sources >/dev/null
  added_src=1
  as_root apt-get update -q >/dev/null
fi
as_root apt-get install -y -q golang-go etcd-server rsync jq >/dev/null
W=$(mktemp -d); trap 'rm -rf "$W"; [ -n "$added_src" ] && as_root rm -f /etc/apt/sources.list.d/mlcore-debian-src.sources' EXIT
cd "$W"
apt-get source --download-only kubernetes >/dev/null
tar xzf kubernetes_*.orig.tar.gz && cd kubernetes-*/
GOPROXY=off GOFLAGS= KUBE_GIT_VERSION=v1.20.2 KUBE_GIT_TREE_STATE=clean \
KUBE_GIT_COMMIT=0000000000000000000000000000000000000000 \
  make WHAT=cmd/kube-apiserver KUBE_BUILD_PLATFORMS=linux/amd64 >/dev/null
cp _output/bin/kube-apiserver "$OUT/"
echo "built $OUT/kube-apiserver"
