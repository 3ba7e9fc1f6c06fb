#!/usr/bin/env bash
# Installs what edgebench needs from Debian packages, and nothing when all of
# it is present. Usage: scripts/deps.sh [build|run|test|bench]  (default: test)
#   build  compiler, CMake and the libraries
#   run    build + what `edgebench lab` runs (PostgreSQL, WireGuard, iproute2)
#   test   run + test tools (cmocka, jq, curl, xmllint, Chromium, ...)
#   bench  test + the baselines benchmarks compare against (HAProxy, nginx, wrk)
set -euo pipefail
what=${1:-test}

build=(gcc libc6-dev make cmake pkg-config git ca-certificates
       libpq-dev libevent-dev libjansson-dev libcurl4-openssl-dev libsodium-dev
       libmaxminddb-dev libsqlite3-dev libcmocka-dev)
run=(postgresql postgresql-client wireguard-go wireguard-tools iptables nftables iproute2
     procps util-linux)
test=(jq bc curl python3 libxml2-utils netcat-openbsd chromium clang-format
      fonts-dejavu-core python3-prometheus-client)
bench=(haproxy nginx-light wrk)

case "$what" in
  build) pkgs=("${build[@]}") ;;
  run) pkgs=("${build[@]}" "${run[@]}") ;;
  test) pkgs=("${build[@]}" "${run[@]}" "${test[@]}") ;;
  bench) pkgs=("${build[@]}" "${run[@]}" "${test[@]}" "${bench[@]}") ;;
  *) echo "scripts/deps.sh: unknown group '$what'; use build, run, test or bench" >&2; exit 2 ;;
esac

missing=()
for p in "${pkgs[@]}"; do
  st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$st" = installed ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "edgebench needs these Debian packages: ${missing[*]}" >&2
  echo "Run as root:  apt-get update && $cmd" >&2
  exit 1
fi
echo "scripts/deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian's postgresql package starts a cluster on 5432; edgebench never uses it.
