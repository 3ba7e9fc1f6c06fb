#!/usr/bin/env bash
# What the WireGuard tunnel costs per database round trip: the seed's ten
# regions at the model's RTTs (the lab's defaults), once over loopback TCP
# links (`--overlay none`, the baseline) and once over the real overlay
# (`--overlay wireguard`: two userspace wireguard-go hops, the UDP WAN link,
# the hub's NAT). Prints, per region, both round trips (the backend's rtt: an
# empty query), the difference and the ratio; and checks every region's read
# latency over WireGuard against the issue's bound: within 10 % + 1 ms of the
# configured RTT. Extra arguments go to both labs (e.g. --profile seed).
# Usage: bench/labwg_tunnel.sh [ITERATIONS [LAB ARGS...]]   (EB_BIN=path/to/edgebench)
. "$(dirname "$0")/labwg_common.sh"
N=${1:-20}
shift || true
lab_json none --overlay none --iterations "$N" --mode extended "$@"
lab_json wg --overlay wireguard --iterations "$N" --mode extended "$@"
A=$W/none/results.json B=$W/wg/results.json
printf '%-6s %10s %12s %14s %10s %7s %13s %s\n' region "RTT (ms)" "loopback rtt" "wireguard rtt" \
  "diff (ms)" ratio "wg read (ms)" "read within 10%+1ms"
fail=0
for r in $(jq -r '.regions[].region' "$B"); do
  c=$(field "$B" "$r" expected_rtt_ms) a=$(field "$A" "$r" rtt_avg_ms)
  b=$(field "$B" "$r" rtt_avg_ms) rd=$(field "$B" "$r" read_avg_ms)
  ok=$(awk -v x="$rd" -v c="$c" 'BEGIN{print (x <= c * 1.10 + 1 && x >= c) ? "yes" : "NO"}')
  [ "$ok" = yes ] || fail=1
  awk -v r="$r" -v c="$c" -v a="$a" -v b="$b" -v rd="$rd" -v ok="$ok" \
    'BEGIN{printf "%-6s %10.2f %12.3f %14.3f %10.3f %7.3f %13.3f %s\n", r, c, a, b, b - a, b / a, rd, ok}'
done
jq -r '[.regions[] | .rtt_avg_ms - .expected_rtt_ms] | add / length' "$A" >"$W/da"
jq -r '[.regions[] | .rtt_avg_ms - .expected_rtt_ms] | add / length' "$B" >"$W/db"
awk -v a="$(cat "$W/da")" -v b="$(cat "$W/db")" 'BEGIN{printf "mean cost above the configured RTT: loopback %.3f ms, wireguard %.3f ms; the tunnel adds %.3f ms per round trip\n", a, b, b - a}'
echo "baseline: loopback TCP links (edgebench wan) at the same RTTs, measured in this run; $N iterations per region"
exit $fail
