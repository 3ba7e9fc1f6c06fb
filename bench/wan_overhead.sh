#!/usr/bin/env bash
# Cost of `edgebench wan` itself: a 0 ms link against a direct loopback
# connection (the baseline, same run): round-trip latency of one-byte
# ping-pongs, and bulk throughput of one TCP connection (python3 peers on both
# sides, so the baseline and the link share the same client cost).
# Target: throughput through the link at least 0.5 of direct. A second
# baseline, a bare blocking relay in C (bench/wan_barerelay.c), shows what
# any relay costs on this machine: the link's throughput against it is the
# emulator's own overhead.
. "$(dirname "$0")/wan_lib.sh"
MB=${1:-1000}
TE=$(free_port); TD=$(free_port); LE=$(free_port); LD=$(free_port)
start techo $TOOL tcp-echo "$TE"
start tdisc $TOOL tcp-discard "$TD"
printf -- '--listen 127.0.0.1:%s --to 127.0.0.1:%s --rtt 0\n--listen 127.0.0.1:%s --to 127.0.0.1:%s --rtt 0\n' \
  "$LE" "$TE" "$LD" "$TD" >"$B/links"
start wan "$EB" wan --quiet --links "$B/links"
cc -O2 -D_GNU_SOURCE -o "$B/barerelay" "$SRC/bench/wan_barerelay.c" || exit 1
BC=$(free_port); BS=$(free_port)
start barecopy "$B/barerelay" "$BC" "$TD" copy
start baresplice "$B/barerelay" "$BS" "$TD" splice
read -r _ dmin dp50 davg dmax < <($TOOL tcp-rtt "$TE" 3000)
read -r _ lmin lp50 lavg lmax < <($TOOL tcp-rtt "$LE" 3000)
echo "| path | rtt p50 (ms) | rtt min (ms) | rtt avg (ms) |"
echo "|---|---|---|---|"
echo "| direct loopback (baseline) | $dp50 | $dmin | $davg |"
echo "| through a 0 ms link | $lp50 | $lmin | $lavg |"
echo "added latency p50: $(calc "round(($lp50 - $dp50) * 1000, 1)") us per round trip"
echo
# best of three alternating runs each: the machine is shared, the best run is the least disturbed
dt=0; lt=0; ct=0; st=0
for i in 1 2 3; do
  dt=$(calc "max($dt, $($TOOL throughput "$TD" "$MB"))")
  lt=$(calc "max($lt, $($TOOL throughput "$LD" "$MB"))")
  ct=$(calc "max($ct, $($TOOL throughput "$BC" "$MB"))")
  st=$(calc "max($st, $($TOOL throughput "$BS" "$MB"))")
done
echo "| path | throughput (MB/s, $MB MiB, one connection, best of 3) |"
echo "|---|---|"
echo "| direct loopback (baseline) | $dt |"
echo "| bare blocking relay, read/write (bench/wan_barerelay.c) | $ct |"
echo "| bare blocking relay, splice | $st |"
echo "| through a 0 ms link | $lt |"
echo "throughput ratio link/direct: $(calc "round($lt / $dt, 3)") (target >= 0.5)"
echo "bare relay/direct: $(calc "round(max($ct, $st) / $dt, 3)") (the most any relay got here)"
echo "throughput ratio link/bare relay: $(calc "round($lt / max($ct, $st), 3)") (the emulator's own cost)"
