# Helpers for tests that build network namespaces (sourced after harness.sh).

# Skips the test (exit 0 with the reason) unless root with /dev/net/tun,
# wireguard-go and the tools `edgebench netlab check` asks for.
netlab_require() {
  if [ "$(id -u)" -ne 0 ] || ! "$EB" netlab check >/dev/null 2>&1; then
    echo "skip: $("$EB" netlab check 2>&1)"
    exit 77
  fi
}

# free_underlay A.B: picks a /24 A.B.x.0 that no address or route of this
# machine overlaps; sets underlay (A.B.x.0/24) and B (A.B.x).
free_underlay() {
  local pre=$1 x esc=${1//./\\.}
  underlay=
  for _ in $(seq 1 50); do
    x=$((RANDOM % 200 + 20))
    if ! ip -4 -o addr show | grep -q " $esc\.$x\." \
      && ! ip -4 route show table all | grep -q "$esc\.$x\."; then
      underlay=$pre.$x.0/24
      break
    fi
  done
  [ -n "$underlay" ] || die "no free /24 in $pre.x.0 for the test"
  B=${underlay%.0/24}
}
