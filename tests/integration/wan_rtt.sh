#!/usr/bin/env bash
# edgebench wan: TCP and UDP round trips through links of a few RTTs, all
# links from one --links file in one process. Loose bounds (tight ones: bench/).
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/wan_lib.sh"

TE=$(free_port); UE=$(free_port)
peer_start techo tcp-echo "$TE" || die "tcp echo"
peer_start uecho udp-echo "$UE" || die "udp echo"
T20=$(free_port); T60=$(free_port); T0=$(free_port); U20=$(free_port); U60=$(free_port)
cat >"$T/links" <<EOT
# one process, five links
--listen 127.0.0.1:$T20 --to 127.0.0.1:$TE --rtt 20ms --name t20
--listen 127.0.0.1:$T60 --to 127.0.0.1:$TE --rtt 60ms
--listen 127.0.0.1:$T0 --to 127.0.0.1:$TE --rtt 0

--listen 127.0.0.1:$U20 --to 127.0.0.1:$UE --rtt 20ms --udp
--listen=127.0.0.1:$U60 --to=127.0.0.1:$UE --rtt=60 --udp
EOT
wan_start wan --links "$T/links" || die "wan did not start"
check "ready line counts the links" grep -qx 'ready: 5 links' "$T/wan.out"

for rtt in 20 60; do
  port=T$rtt
  read -r first min p50 avg max < <($WAN_TOOL tcp-rtt "${!port}" 20)
  echo "tcp rtt ${rtt}ms: first $first min $min p50 $p50 avg $avg max $max"
  check "tcp ${rtt}ms: no round trip shorter than the RTT (min $min)" fcmp "$min >= $rtt * 0.999"
  check "tcp ${rtt}ms: median near the RTT (p50 $p50)" fcmp "$p50 < $rtt * 1.25 + 5"
  # connect + first request: the SYN/SYN-ACK round trip, then the request's
  check "tcp ${rtt}ms: connect + first request costs two RTTs ($first)" \
    fcmp "$first >= 2 * $rtt * 0.999 and $first < 2 * $rtt * 1.5 + 40"
  port=U$rtt
  read -r min p50 avg max < <($WAN_TOOL udp-rtt "${!port}" 20)
  echo "udp rtt ${rtt}ms: min $min p50 $p50 avg $avg max $max"
  check "udp ${rtt}ms: no round trip shorter than the RTT (min $min)" fcmp "$min >= $rtt * 0.999"
  check "udp ${rtt}ms: median near the RTT (p50 $p50)" fcmp "$p50 < $rtt * 1.25 + 5"
done
read -r first min p50 avg max < <($WAN_TOOL tcp-rtt "$T0" 50)
echo "tcp rtt 0ms: first $first p50 $p50"
check "tcp 0ms link adds little (p50 $p50 ms)" fcmp "$p50 < 5"

kill -TERM "$WAN_PID"
wait "$WAN_PID"
check "SIGTERM: exit status 0" [ $? -eq 0 ]
