#!/usr/bin/env bash
# `edgebench lab --proxy`: the proxy in front of the lab's backends, checked
# with synthetic clients from 127.x.0.2 source addresses; nothing left
# running afterwards.
. "$(dirname "$0")/../lib/harness.sh"
[ -n "$PGBIN" ] || die "PostgreSQL server binaries not found (run scripts/deps.sh)"
cd "$T" || exit 1
"$EB" lab --overlay none --proxy --regions lhr,nrt,gru --iterations 2 --out "$T/r" >"$T/out" 2>"$T/err"
rc=$?
check "lab --proxy exits 0 (got $rc; $(tail -n 3 "$T/err" | tr '\n' ' '))" test "$rc" -eq 0
for pair in GB:lhr JP:nrt BR:gru FR:lhr AU:nrt AR:gru; do
  c=${pair%%:*}; r=${pair#*:}
  check "$c client expected and served by $r" grep -Eq "^\| 127\.[0-9]+\.0\.2 \| $c \| $r \| $r \| ok \|$" "$T/out"
done
check "summary line" grep -Eq "^([0-9]+) of \1 synthetic clients served by the expected region" "$T/out"
port=$(sed -n 's/.*edgebench proxy (127.0.0.1:\([0-9]*\)).*/\1/p' "$T/out")
check "the proxy was reported with its port ($port)" test -n "$port"
check "the proxy is gone after the lab" bash -c "! pgrep -f '[p]roxy --listen 127.0.0.1:$port' >/dev/null"
check "the proxy is documented in lab --help" bash -c "'$EB' lab --help | grep -q -- --proxy"
