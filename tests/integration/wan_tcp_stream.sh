#!/usr/bin/env bash
# edgebench wan over TCP: a stream crosses intact and in order under heavy
# jitter and a rate limit; half-close and resets pass through.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/wan_lib.sh"

TE=$(free_port); TR=$(free_port)
peer_start techo tcp-echo "$TE" || die "tcp echo"
peer_start trst tcp-rst "$TR" || die "tcp rst server"
J=$(free_port); R=$(free_port); H=$(free_port); C=$(free_port); X=$(free_port)
CLOSED=$(free_port)
cat >"$T/links" <<EOT
--listen 127.0.0.1:$J --to 127.0.0.1:$TE --rtt 4ms --jitter 30ms
--listen 127.0.0.1:$R --to 127.0.0.1:$TE --rtt 2ms --jitter 1ms --rate 200mbit
--listen 127.0.0.1:$H --to 127.0.0.1:$TE --rtt 20ms
--listen 127.0.0.1:$C --to 127.0.0.1:$CLOSED --rtt 40ms
--listen 127.0.0.1:$X --to 127.0.0.1:$TR --rtt 20ms
EOT
wan_start wan --links "$T/links" || die "wan did not start"

read -r n want got < <($WAN_TOOL tcp-send "$J" 8 7)
check "8 MiB echoed intact under 30 ms jitter ($n bytes)" [ "$n" = 8388608 -a "$want" = "$got" ]

s=$(date +%s.%N)
read -r n want got < <($WAN_TOOL tcp-send "$R" 8 9)
secs=$(python3 -c "print(round($(date +%s.%N) - $s, 2))")
check "8 MiB echoed intact at 200 mbit ($n bytes)" [ "$n" = 8388608 -a "$want" = "$got" ]
# 8 MiB each way at 200 mbit is at least 0.34 s
check "the rate limit holds (${secs}s for 8 MiB each way)" fcmp "$secs >= 0.33"

check "half-close: request, FIN, reply, FIN" [ "$($WAN_TOOL halfclose "$H")" = ok ]

out=$($WAN_TOOL expect-reset "$C")
echo "closed upstream port: $out"
check "closed upstream port: the client is reset" [ "${out%% *}" = reset ]
check "closed upstream port: after about one RTT (${out#* } ms)" fcmp "${out#* } >= 39"

out=$($WAN_TOOL expect-reset "$X")
echo "server reset: $out"
check "a server's reset reaches the client" [ "${out%% *}" = reset ]

kill -INT "$WAN_PID"
wait "$WAN_PID"
check "SIGINT: exit status 0" [ $? -eq 0 ]
