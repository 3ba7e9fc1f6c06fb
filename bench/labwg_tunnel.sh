#!/usr/bin/env bash
# What the WireGuard tunnel costs per database round trip: the same regions at
# the same emulated RTT, once over loopback TCP links (`--overlay none`, the
# baseline) and once over the real overlay (`--overlay wireguard`: two
# userspace wireguard-go hops, the UDP WAN link, the hub's NAT). Prints, per
# region, both round trips (the backend's rtt: an empty query), the difference
# and the ratio; and checks every region's read latency over WireGuard against
# the issue's bound: within 10 % + 1 ms of the configured RTT.
# Usage: bench/labwg_tunnel.sh [ITERATIONS]   (EB_BIN=path/to/edgebench)
. "$(dirname "$0")/labwg_common.sh"
N=${1:-50}
printf 'region,rtt_ms\nlhr,5\ncdg,20\niad,80\nsyd,250\n' >"$W/rtt.csv"
lab_json none --overlay none --rtt-file "$W/rtt.csv" --iterations "$N" --mode extended
lab_json wg --overlay wireguard --rtt-file "$W/rtt.csv" --iterations "$N" --mode extended
A=$W/none/results.json B=$W/wg/results.json
printf '%-6s %10s %12s %14s %12s %8s %14s %s\n' region "RTT (ms)" "loopback rtt" "wireguard rtt" "diff (ms)" ratio "wg read (ms)" "read within 10%+1ms"
fail=0
while IFS=, read -r r rtt; do
  [ "$r" = region ] && continue
  a=$(field "$A" "$r" rtt_avg_ms) b=$(field "$B" "$r" rtt_avg_ms) rd=$(field "$B" "$r" read_avg_ms)
  ok=$(awk -v x="$rd" -v c="$rtt" 'BEGIN{print (x <= c*1.10 + 1 && x >= c) ? "yes" : "NO"}')
  [ "$ok" = yes ] || fail=1
  awk -v r="$r" -v c="$rtt" -v a="$a" -v b="$b" -v rd="$rd" -v ok="$ok" \
    'BEGIN{printf "%-6s %10.2f %12.3f %14.3f %12.3f %8.3f %14.3f %s\n", r, c, a, b, b-a, b/a, rd, ok}'
done <"$W/rtt.csv"
echo "baseline: loopback TCP links (edgebench wan) at the same RTT, measured in this run; $N iterations per region"
exit $fail
