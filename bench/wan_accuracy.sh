#!/usr/bin/env bash
# Accuracy of `edgebench wan`: configured vs measured RTT at 1, 10, 50, 100
# and 300 ms, TCP and UDP, one-byte ping-pongs over loopback. The baseline is
# the direct loopback round trip measured in the same run after the same idle
# time (a pause of RTT before each direct ping, so the peers wake from the same
# sleep as through the link: on a VM that wake-up alone costs 0.1-0.3 ms);
# "added" is the measured median minus that baseline. Target: |added -
# configured| within 2 % + 0.3 ms. Usage: bench/wan_accuracy.sh [SAMPLES_SCALE]
. "$(dirname "$0")/wan_lib.sh"
SCALE=${1:-1}
TE=$(free_port); UE=$(free_port)
start techo $TOOL tcp-echo "$TE"
start uecho $TOOL udp-echo "$UE"
RTTS="1 10 50 100 300"
: >"$B/links"
declare -A TP UP
for r in $RTTS; do
  TP[$r]=$(free_port); UP[$r]=$(free_port)
  echo "--listen 127.0.0.1:${TP[$r]} --to 127.0.0.1:$TE --rtt ${r}ms" >>"$B/links"
  echo "--listen 127.0.0.1:${UP[$r]} --to 127.0.0.1:$UE --rtt ${r}ms --udp" >>"$B/links"
done
start wan "$EB" wan --quiet --links "$B/links"
samples() { # rtt -> samples
  local n=$(( ${1} <= 10 ? 300 : ${1} <= 100 ? 60 : 20 ))
  echo $((n * SCALE))
}
read -r _ _ dt _ _ < <($TOOL tcp-rtt "$TE" 500)
read -r _ du _ _ < <($TOOL udp-rtt "$UE" 500)
echo "direct loopback round trip, back to back: p50 tcp ${dt} ms, udp ${du} ms"
echo
echo "| proto | configured (ms) | measured p50 (ms) | min (ms) | baseline p50 (ms) | added p50 (ms) | added/configured | error (ms) | target (ms) | ok |"
echo "|---|---|---|---|---|---|---|---|---|---|"
fails=0
for proto in tcp udp; do
  for r in $RTTS; do
    n=$(samples "$r")
    if [ $proto = tcp ]; then
      read -r _ min p50 _ _ < <($TOOL tcp-rtt "${TP[$r]}" "$n")
      read -r _ _ base _ _ < <($TOOL tcp-rtt "$TE" "$n" "$r")
    else
      read -r min p50 _ _ < <($TOOL udp-rtt "${UP[$r]}" "$n")
      read -r _ base _ _ < <($TOOL udp-rtt "$UE" "$n" "$r")
    fi
    added=$(calc "round($p50 - $base, 3)")
    err=$(calc "round(abs($added - $r), 3)")
    tgt=$(calc "round(0.02 * $r + 0.3, 3)")
    okv=$(calc "'yes' if $err <= $tgt else 'NO'")
    [ "$okv" = yes ] || fails=$((fails + 1))
    echo "| $proto | $r | $p50 | $min | $base | $added | $(calc "round($added / $r, 4)") | $err | $tgt | $okv |"
  done
done
echo
echo "$fails of 10 rows outside the target"
