#!/usr/bin/env bash
# edgebench wan: bad flags and bad --links lines exit 2 with a clear message
# before anything listens; a taken port exits 1; --help exits 0.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/wan_lib.sh"

P=$(free_port)
# bad ARGS... MESSAGE-FRAGMENT
bad() {
  local want=${*: -1} rc
  "$EB" wan "${@:1:$#-1}" >"$T/out" 2>"$T/err"
  rc=$?
  if [ $rc -eq 2 ] && grep -qF -- "$want" "$T/err" && [ ! -s "$T/out" ]; then
    ok "rejected: ${*:1:$#-1}"
  else
    fail "wan ${*:1:$#-1}: exit $rc, stderr: $(cat "$T/err") (wanted '$want')"
  fi
}
bad --listen 127.0.0.1:$P --to 127.0.0.1:1 --rtt -5ms "--rtt '-5ms' is not a delay"
bad --listen 127.0.0.1:$P --to 127.0.0.1:1 --rtt 5ms --loss 150% "--loss '150%'"
bad --listen 127.0.0.1 --to 127.0.0.1:1 --rtt 5ms "--listen '127.0.0.1' is not an address"
bad --listen 127.0.0.1:$P --to nowhere:99999 --rtt 5ms "--to 'nowhere:99999'"
bad --listen 127.0.0.1:$P --to 127.0.0.1:1 --rtt 5ms --color "unknown flag '--color'"
bad --listen 127.0.0.1:$P --to 127.0.0.1:1 "--rtt is missing"
bad --listen 127.0.0.1:$P --to 127.0.0.1:1 --rtt 5 --jitter 1h "--jitter '1h'"
bad --listen 127.0.0.1:$P --to 127.0.0.1:1 --rtt 5 --rate 100 "--rate '100'"
bad --links "$T/missing" "cannot open --links file"
bad --links "$T/missing" --rtt 5 "cannot be combined with --links"
bad "Usage: edgebench wan"
printf '# comment\n--listen 127.0.0.1:%s --to 127.0.0.1:1 --rtt 5ms\n\n--listen 127.0.0.1:%s --to 127.0.0.1:1 --rtt 5ms --loss 101%%\n' \
  "$P" "$(free_port)" >"$T/bad.links"
bad --links "$T/bad.links" "line 4: --loss '101%'"
check "nothing listened for the file with a bad line" \
  python3 -c "import socket;s=socket.socket();s.bind(('127.0.0.1',$P))"
printf '\n# nothing\n' >"$T/empty.links"
bad --links "$T/empty.links" "holds no link"

"$EB" wan --help >"$T/help" 2>&1
check "--help exits 0" [ $? -eq 0 ]
check "--help names every flag" grep -q -- '--jitter' "$T/help"

wan_start first --listen 127.0.0.1:$P --to 127.0.0.1:1 --rtt 1ms || die "first wan"
check "one link: 'ready: 1 links' (the contract's form)" grep -qx 'ready: 1 links' "$T/first.out"
"$EB" wan --listen 127.0.0.1:$P --to 127.0.0.1:1 --rtt 1ms >"$T/out" 2>"$T/err"
rc=$?
check "a port in use: exit 1 ($rc)" [ $rc -eq 1 ]
check "a port in use: says so" grep -q "cannot listen on 127.0.0.1:$P" "$T/err"
check "a port in use: no ready line" [ ! -s "$T/out" ]
