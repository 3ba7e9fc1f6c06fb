#!/usr/bin/env bash
# edgebench wan: a receiver that never reads pushes back on the sender;
# the emulator's memory stays bounded while a client tries to push 200 MB.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/wan_lib.sh"

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

S=$(free_port); L=$(free_port)
peer_start stall tcp-stall "$S" || die "stalling server"
wan_start wan --listen 127.0.0.1:$L --to 127.0.0.1:$S --rtt 2ms || die "wan did not start"
before=$(rss_kb "$WAN_PID")
# writes 1 MiB blocks until a write blocks for 5 s
sent=$($WAN_TOOL tcp-push "$L" 200)
after=$(rss_kb "$WAN_PID")
echo "client pushed $sent MiB; wan RSS ${before} kB -> ${after} kB"
check "the sender was held back (pushed $sent of 200 MiB)" [ "$sent" -lt 100 ]
check "wan memory grew by less than 16 MiB ($((after - before)) kB)" [ $((after - before)) -lt 16384 ]
check "wan is still running" kill -0 "$WAN_PID"
