#!/usr/bin/env bash
# The hub's forwarding cost with ten regions at once: every region at the same
# emulated RTT, all ten benchmarked concurrently through the one hub (one
# wireguard-go decrypting and NATing for all), against the baseline of one
# region alone through the same kind of lab in the same run. Prints the mean
# per-region round trip of both and the ratio ten/one.
# Usage: bench/labwg_hub.sh [RTT_MS] [ITERATIONS]   (EB_BIN=path/to/edgebench)
. "$(dirname "$0")/labwg_common.sh"
RTT=${1:-20}
N=${2:-100}
TEN=lhr,cdg,fra,ams,mad,iad,ord,lax,gru,nrt
{ echo region,rtt_ms; for r in ${TEN//,/ }; do echo "$r,$RTT"; done; } >"$W/rtt.csv"
lab_json one --overlay wireguard --rtt-file "$W/rtt.csv" --regions lhr --iterations "$N"
lab_json ten --overlay wireguard --rtt-file "$W/rtt.csv" --regions "$TEN" --iterations "$N"
one=$(jq '[.regions[].rtt_avg_ms] | add/length' "$W/one/results.json")
one_read=$(jq '[.regions[].read_avg_ms] | add/length' "$W/one/results.json")
ten=$(jq '[.regions[].rtt_avg_ms] | add/length' "$W/ten/results.json")
ten_read=$(jq '[.regions[].read_avg_ms] | add/length' "$W/ten/results.json")
ten_max=$(jq '[.regions[].rtt_avg_ms] | max' "$W/ten/results.json")
echo "configured RTT ${RTT} ms, $N iterations per region, overlay wireguard (hub topology)"
awk -v a="$one" -v b="$ten" -v m="$ten_max" -v ra="$one_read" -v rb="$ten_read" 'BEGIN{
  printf "one region alone:   rtt %.3f ms  read %.3f ms\n", a, ra
  printf "ten regions at once: rtt %.3f ms (slowest %.3f)  read %.3f ms\n", b, m, rb
  printf "hub forwarding cost: %+.3f ms per round trip; ratio ten/one %.3f\n", b - a, b / a }'
echo "baseline: one region alone through the hub, measured in this run"
