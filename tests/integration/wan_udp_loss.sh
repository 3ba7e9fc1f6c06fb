#!/usr/bin/env bash
# edgebench wan --udp --loss: the loss rate over thousands of datagrams.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/wan_lib.sh"

UE=$(free_port); L=$(free_port); Z=$(free_port)
peer_start uecho udp-echo "$UE" || die "udp echo"
wan_start wan --listen 127.0.0.1:$L --to 127.0.0.1:$UE --rtt 2ms --loss 10% --udp \
  || die "wan did not start"
n=4000
got=$($WAN_TOOL udp-count "$L" $n 200)
# each echo crosses the link twice: 0.9 * 0.9 = 81 % come back (sd ~ 25 datagrams)
echo "udp: $got of $n echoes came back (expected about $((n * 81 / 100)))"
check "loss rate within tolerance ($got of $n)" [ "$got" -ge 3120 -a "$got" -le 3360 ]
wan_start wan0 --udp --listen 127.0.0.1:$Z --to 127.0.0.1:$UE --rtt 1ms || die "wan0"
got=$($WAN_TOOL udp-count "$Z" 2000 200)
check "no loss configured: all 2000 come back ($got)" [ "$got" -eq 2000 ]
