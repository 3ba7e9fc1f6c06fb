#!/usr/bin/env bash
# edgebench proxy against HAProxy 2.6 (Debian, TCP mode, one thread each) on
# the same machine, the same backend (nginx) and in the same run:
#   1. added latency over a direct connection, p50 and p99 (wrk, 1 connection),
#      in alternating rounds, and the medians
#   2. new connections per second (wrk, Connection: close), in alternating
#      rounds, and the median of the rounds' ratios
#   3. bulk throughput: 1 GB through one connection (curl)
#   4. memory per idle connection with 10,000 connections held
#   5. cost in the proxy per new connection and per keep-alive request:
#      syscalls, CPU, TCP segments (needs perf and nstat; skipped without)
# Prints each figure and the ratio edgebench / HAProxy. Needs: haproxy,
# nginx-light, wrk, curl, python3 (scripts/deps.sh bench).
# Usage: bench/proxy_vs_haproxy.sh   (EB_BIN=path to use a built binary;
#        BENCH_ROUNDS=5 rounds of parts 1 and 2; LAT_SECS=2 per latency run;
#        BENCH_SECS=5 per connections/s run; IDLE_CONNS=10000)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
SECS=${BENCH_SECS:-5}
ROUNDS=${BENCH_ROUNDS:-5}
LSECS=${LAT_SECS:-2}
IDLE=${IDLE_CONNS:-10000}
for t in haproxy nginx wrk curl python3; do
  command -v "$t" >/dev/null || { echo "bench: $t is missing; run scripts/deps.sh bench" >&2; exit 1; }
done
W=$(mktemp -d /tmp/eb-bench-proxy.XXXXXX)
chmod 755 "$W" # nginx workers run as nobody
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.3
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$W"
}
trap cleanup EXIT
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
# every proxied connection holds two descriptors in the proxy
fdmax=$(ulimit -n)
if [ "$fdmax" != unlimited ] && [ $((IDLE * 2 + 200)) -gt "$fdmax" ]; then
  IDLE=$(((fdmax - 200) / 2))
  echo "note: open-file limit $fdmax allows $IDLE idle proxied connections, not ${IDLE_CONNS:-10000}"
fi

if [ -z "${EB_BIN:-}" ]; then
  cmake -S "$here" -B "$W/build" -DCMAKE_BUILD_TYPE=Release -DEB_TESTS=OFF >/dev/null
  cmake --build "$W/build" -j2 >/dev/null
  EB_BIN=$W/build/edgebench
fi
port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }

# --- the backend: nginx, one worker, a small response and a 1 GB sparse file
NG=$(port)
mkdir -p "$W/www" "$W/ng"
printf 'ok\n' >"$W/www/index.html"
truncate -s 1G "$W/www/1g"
cat >"$W/ng/nginx.conf" <<NGINX
worker_processes 1;
worker_rlimit_nofile 65536;
daemon off;
pid $W/ng/nginx.pid;
error_log $W/ng/error.log warn;
events { worker_connections 30000; }
http {
  access_log off;
  sendfile on;
  keepalive_requests 1000000;
  keepalive_timeout 300s;
  client_header_timeout 300s;
  server { listen 127.0.0.1:$NG backlog=4096; root $W/www; }
}
NGINX
nginx -c "$W/ng/nginx.conf" -p "$W/ng" >/dev/null 2>&1 &
pids+=($!)
wait_port "$NG" || { echo "bench: nginx did not start" >&2; exit 1; }

# --- HAProxy, TCP mode, one thread
HA=$(port)
cat >"$W/haproxy.cfg" <<HAP
global
  maxconn $((IDLE + 50))
  nbthread 1
defaults
  mode tcp
  timeout connect 2s
  timeout client 300s
  timeout server 300s
frontend f
  bind 127.0.0.1:$HA
  default_backend b
backend b
  server s1 127.0.0.1:$NG
HAP
haproxy -f "$W/haproxy.cfg" -db >"$W/haproxy.log" 2>&1 &
pids+=($!)
HA_PID=$!

# --- edgebench proxy: one route, every client in GB
EP=$(port)
"$EB_BIN" proxy routes add --routes "$W/routing.db" --region lhr --address 127.0.0.1 --port "$NG" >/dev/null
printf '127.0.0.0/8,GB\n' >"$W/geo.csv"
"$EB_BIN" proxy --listen 127.0.0.1:"$EP" --routes "$W/routing.db" --geoip-csv "$W/geo.csv" \
  --access-log off --max-conns $((IDLE + 50)) --idle-timeout 10m --quiet 2>"$W/edgebench.err" &
pids+=($!)
EP_PID=$!
wait_port "$HA" && wait_port "$EP" || { echo "bench: a proxy did not start" >&2; exit 1; }
echo "backend nginx on :$NG; haproxy $(haproxy -v | head -n1 | awk '{print $3}') on :$HA; edgebench on :$EP"

# wrk latency line "50%  123.00us" -> microseconds
lat_us() { awk -v q="$2" '$1 == q { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
  m = (u == "ms") ? 1000 : (u == "s") ? 1000000 : 1; printf "%.1f", v * m }' "$1"; }
rps() { awk '/Requests\/sec/ { print $2 }' "$1"; }
add() { python3 -c "print(f'{$1 - $2:.1f}')"; }

echo
echo "1. latency, 1 connection (us): $ROUNDS rounds of direct, haproxy, edgebench in turn, ${LSECS}s each;"
echo "   added = through the proxy - direct in the same round; medians over the rounds"
add_p50=(); add_p99=(); ha_p50=(); ha_p99=()
for r in $(seq "$ROUNDS"); do
  for n in direct:$NG haproxy:$HA edgebench:$EP; do
    name=${n%%:*}; p=${n#*:}
    wrk -t1 -c1 -d"${LSECS}s" --latency "http://127.0.0.1:$p/" >"$W/lat.$name" 2>&1
    declare "p50_$name=$(lat_us "$W/lat.$name" 50%)" "p99_$name=$(lat_us "$W/lat.$name" 99%)"
  done
  add_p50+=("$(add "$p50_edgebench" "$p50_direct")"); add_p99+=("$(add "$p99_edgebench" "$p99_direct")")
  ha_p50+=("$(add "$p50_haproxy" "$p50_direct")"); ha_p99+=("$(add "$p99_haproxy" "$p99_direct")")
  printf '   round %d: direct p50 %7s p99 %8s | added p50: haproxy %6s edgebench %6s | p99: haproxy %7s edgebench %7s\n' \
    "$r" "$p50_direct" "$p99_direct" "${ha_p50[-1]}" "${add_p50[-1]}" "${ha_p99[-1]}" "${add_p99[-1]}"
done
med() { python3 -c "import statistics, sys; print(f'{statistics.median(float(x) for x in sys.argv[1:]):.1f}')" "$@"; }
printf '   median added p50: haproxy %s  edgebench %s   p99: haproxy %s  edgebench %s\n' \
  "$(med "${ha_p50[@]}")" "$(med "${add_p50[@]}")" "$(med "${ha_p99[@]}")" "$(med "${add_p99[@]}")"

echo
echo "2. new connections per second (Connection: close, 2 threads x 32 connections, ${SECS}s;"
echo "   $ROUNDS rounds, haproxy and edgebench in turn: this machine's noise moves a single run by 10 %)"
wrk -t2 -c32 -d"${SECS}s" -H 'Connection: close' "http://127.0.0.1:$NG/" >"$W/cps.direct" 2>&1
printf '   %-10s %10s conn/s\n' direct "$(rps "$W/cps.direct")"
ratios=()
for r in $(seq "$ROUNDS"); do
  for n in haproxy:$HA edgebench:$EP; do
    name=${n%%:*}; p=${n#*:}
    wrk -t2 -c32 -d"${SECS}s" -H 'Connection: close' "http://127.0.0.1:$p/" >"$W/cps.$name" 2>&1
  done
  ratio=$(python3 -c "print(f'{$(rps "$W/cps.edgebench")/$(rps "$W/cps.haproxy"):.3f}')")
  ratios+=("$ratio")
  printf '   round %d: haproxy %10s  edgebench %10s conn/s  ratio %s\n' "$r" \
    "$(rps "$W/cps.haproxy")" "$(rps "$W/cps.edgebench")" "$ratio"
done
python3 -c "
import statistics, sys
r = [float(x) for x in sys.argv[1:]]
print(f'   ratio edgebench/haproxy: {statistics.median(r):.2f} (median of {len(r)} rounds; {min(r):.2f} to {max(r):.2f})')" "${ratios[@]}"

echo
echo "3. bulk: 1 GB through one connection"
for n in direct:$NG haproxy:$HA edgebench:$EP; do
  name=${n%%:*}; p=${n#*:}
  best=0
  for _ in 1 2 3; do
    s=$(curl -s -o /dev/null -w '%{speed_download}' "http://127.0.0.1:$p/1g")
    best=$(python3 -c "print(max($best, $s))")
  done
  declare "bulk_$name=$best"
  printf '   %-10s %8.1f MB/s (best of 3)\n' "$name" "$(python3 -c "print($best/1e6)")"
done
python3 -c "print(f'   ratio edgebench/haproxy: {$bulk_edgebench/$bulk_haproxy:.2f}')"

echo
echo "4. memory with $IDLE idle connections held (RSS growth / connections)"
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
hold() { # PORT PID -> KB per connection
  local before after
  before=$(rss_kb "$2")
  python3 - "$1" "$IDLE" "$W/hold.$1" <<'PY' &
import socket, sys, time, os
port, n, flag = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
socks = []
for i in range(n):
    s = socket.socket()
    s.connect(("127.0.0.1", port))
    socks.append(s)
open(flag, "w").close()
time.sleep(120)
PY
  local hp=$!
  for _ in $(seq 600); do [ -f "$W/hold.$1" ] && break; sleep 0.1; done
  sleep 2
  after=$(rss_kb "$2")
  kill "$hp" 2>/dev/null; wait "$hp" 2>/dev/null || true
  python3 -c "print(f'{($after - $before) * 1024 / $IDLE:.0f}')"
}
m_ha=$(hold "$HA" "$HA_PID")
sleep 2
m_eb=$(hold "$EP" "$EP_PID")
printf '   %-10s %6s bytes per connection\n' haproxy "$m_ha" edgebench "$m_eb"
python3 -c "print(f'   ratio edgebench/haproxy: {$m_eb/max($m_ha,1):.2f}')"

echo
echo "5. cost in the proxy, per new connection (wrk -t2 -c32, Connection: close) and per request on"
echo "   one keep-alive connection (wrk -t1 -c1), ${SECS}s runs: syscalls (perf stat on the syscall"
echo "   tracepoints), then, in a run without perf, the proxy's CPU (/proc/PID/stat) and the TCP"
echo "   segments on the whole machine (nstat)"
if ! command -v perf >/dev/null || ! command -v nstat >/dev/null ||
  ! perf stat -e 'syscalls:sys_enter_close' true >/dev/null 2>&1; then
  echo "   skipped: needs perf with the syscall tracepoints (tracefs mounted) and nstat (iproute2)"
  exit 0
fi
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
cost() { # NAME PID PORT WRKARGS... -> "syscalls epoll_ctl cpu_us segments" per request
  local name=$1 pid=$2 p=$3
  shift 3
  # syscalls under perf (whose tracing slows the proxy), then CPU and
  # segments in a run of their own
  perf stat -x, -e 'syscalls:sys_enter_*' -o "$W/perf.$name" -p "$pid" -- \
    wrk "$@" -d"${SECS}s" "http://127.0.0.1:$p/" >"$W/cost.$name" 2>&1
  local n0 t0 t1 segs n
  n0=$(awk '/requests in/ { print $1 }' "$W/cost.$name")
  nstat -n >/dev/null
  t0=$(ticks "$pid")
  wrk "$@" -d"${SECS}s" "http://127.0.0.1:$p/" >"$W/cost2.$name" 2>&1
  t1=$(ticks "$pid")
  segs=$(nstat | awk '$1 == "TcpOutSegs" { print $2 }')
  n=$(awk '/requests in/ { print $1 }' "$W/cost2.$name")
  awk -F, -v n0="$n0" -v n="$n" -v cpu=$(((t1 - t0) * 1000000 / hz)) -v segs="${segs:-0}" '
    $3 ~ /^syscalls:sys_enter_/ { t += $1; if ($3 ~ /epoll_ctl$/) e += $1 }
    END { printf "%.1f %.2f %.1f %.1f\n", t / n0, e / n0, cpu / n, segs / n }' "$W/perf.$name"
}
for kind in close keepalive; do
  if [ $kind = close ]; then args=(-t2 -c32 -H 'Connection: close'); what="per new connection"; else args=(-t1 -c1); what="per request, keep-alive"; fi
  read -r s_ha e_ha c_ha g_ha <<<"$(cost haproxy "$HA_PID" "$HA" "${args[@]}")"
  read -r s_eb e_eb c_eb g_eb <<<"$(cost edgebench "$EP_PID" "$EP" "${args[@]}")"
  echo "   $what:"
  printf '     %-10s syscalls %5s  epoll_ctl %5s  CPU %6s us  TCP segments %5s\n' \
    haproxy "$s_ha" "$e_ha" "$c_ha" "$g_ha" edgebench "$s_eb" "$e_eb" "$c_eb" "$g_eb"
  python3 -c "print(f'     ratio edgebench/haproxy: syscalls {$s_eb/$s_ha:.2f}, CPU {$c_eb/max($c_ha, 0.1):.2f}')"
done
