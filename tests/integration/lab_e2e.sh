#!/usr/bin/env bash
# `edgebench lab` end to end with three regions at small RTTs: the ranking
# follows the RTTs, inserts cost 1 round trip in the default mode and 2 in
# compat2rtt, reads 1; the model RTT is shown; nothing is left behind.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/lab.sh"
lab_needs
mkdir -p "$T/tmp"
printf '# test RTTs\nregion,rtt_ms\nsyd,40\nlhr,5\niad,20\n' >"$T/rtt.csv"

# between VALUE LOW HIGH
between() { [ "$(echo "$1 >= $2 && $1 <= $3" | bc -l 2>/dev/null)" = 1 ]; }

for mode in extended compat2rtt; do
  out="$T/out-$mode"
  TMPDIR="$T/tmp" "$EB" lab --overlay none --rtt-file "$T/rtt.csv" --iterations 8 --mode "$mode" \
    --out "$out" --verbose >"$T/$mode.out" 2>"$T/$mode.err"
  rc=$?
  check "$mode: lab exits 0 ($rc)" [ "$rc" -eq 0 ]
  [ "$rc" -eq 0 ] || { tail -n 30 "$T/$mode.err"; continue; }
  order=$(table_order "$T/$mode.out")
  check "$mode: ranking follows the RTTs ($order)" [ "$order" = "lhr iad syd " ]
  check "$mode: the table shows the link RTT" grep -q "Link RTT" "$T/$mode.out"
  J="$out/results.json"
  check "$mode: results.json written" [ -s "$J" ]
  check "$mode: meta records overlay, site, profile and rtt_source" \
    jq -e >/dev/null '.meta.overlay == "none" and .meta.db_site == "eu-west-1" and .meta.profile == "file:rtt.csv" and .meta.rtt_source == "file"' "$J"
  want_ins="0.8 1.3"
  [ "$mode" = compat2rtt ] && want_ins="1.7 2.4"
  for r in lhr:5 iad:20 syd:40; do
    code=${r%:*} rtt=${r#*:}
    # minimums: a loaded machine only ever adds delay, so the fastest sample
    # of each operation is the one that shows its round trips
    sel='.regions[] | select(.region == $r) | .response'
    ins=$(jq -r --arg r "$code" "$sel | (.insert_latencies | min) / (.rtt_latencies | min)" "$J")
    rd=$(jq -r --arg r "$code" "$sel | (.read_latencies | min) / (.rtt_latencies | min)" "$J")
    rmin=$(jq -r --arg r "$code" "$sel | .rtt_latencies | min" "$J")
    agg=$(jq -r --arg r "$code" '.regions[] | select(.region == $r) | .insert_round_trips' "$J")
    check "$mode $code: insert_round_trips recorded ($agg)" between "$agg" 0.2 5
    exp=$(jq -r --arg r "$code" '.regions[] | select(.region == $r) | .expected_rtt_ms' "$J")
    check "$mode $code: insert costs ${want_ins% *}..${want_ins#* } round trips ($ins)" between "$ins" $want_ins
    check "$mode $code: read costs about 1 round trip ($rd)" between "$rd" 0.8 1.3
    check "$mode $code: fastest RTT $rmin ms, no less than the configured $rtt ms, not far above" \
      between "$rmin" "$rtt" "$(echo "$rtt * 1.3 + 1" | bc -l)"
    check "$mode $code: expected_rtt_ms recorded ($exp)" between "$exp" "$rtt" "$rtt"
  done
  left=$(lab_leftovers "$T/$mode.err")
  check "$mode: no process left ($left)" [ -z "$left" ]
  check "$mode: children were logged" [ -n "$(lab_pids "$T/$mode.err")" ]
  check "$mode: temporary directory removed" [ -z "$(ls -A "$T/tmp")" ]
done
