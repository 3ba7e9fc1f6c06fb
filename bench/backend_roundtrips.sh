#!/usr/bin/env bash
# Round trips: through a link adding 10 ms each way (20 ms RTT), the
# backend's insert_round_trips must be 1.0 +/- 0.1 in mode=extended and
# 2.0 +/- 0.1 in mode=compat2rtt (the seed's driver: unnamed prepare, then
# execute). The link is `edgebench wan` when this build has it, else a small
# Python relay that delays every chunk by the same amount in order.
# Usage: [EB_BIN=...] bench/backend_roundtrips.sh [ONE_WAY_MS]
. "$(dirname "$0")/backend_common.sh"
ONE_WAY=${1:-10}
pg_up
# start_link PORT ONE_WAY_MS: a delaying link from 127.0.0.1:PORT to PostgreSQL
start_link() {
  local port=$1 ms=$2
  if "$EB" --help 2>&1 | grep -qE '^ +wan '; then
    link="edgebench wan"
    "$EB" wan --listen 127.0.0.1:$port --to 127.0.0.1:$PGPORT --rtt $((2 * ms))ms >"$W/wan.$port" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 50); do grep -q ready "$W/wan.$port" && break; sleep 0.1; done
  else
    link="python relay (edgebench wan is not in this build)"
    /usr/bin/python3 - "$port" "$PGPORT" "$ms" <<'PY' &
import asyncio, sys, time
listen, target, delay = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]) / 1000
async def pump(reader, writer):
    q = asyncio.Queue()
    async def rd():
        while True:
            data = await reader.read(65536)
            await q.put((time.monotonic() + delay, data))
            if not data:
                return
    async def wr():
        while True:
            due, data = await q.get()
            await asyncio.sleep(max(0, due - time.monotonic()))
            if not data:
                writer.close()
                return
            writer.write(data)
            await writer.drain()
    await asyncio.gather(rd(), wr(), return_exceptions=True)
async def conn(cr, cw):
    await asyncio.sleep(delay)  # the SYN's way out
    sr, sw = await asyncio.open_connection("127.0.0.1", target)
    await asyncio.sleep(delay)  # and the SYN-ACK's way back
    await asyncio.gather(pump(cr, sw), pump(sr, cw), return_exceptions=True)
async def main():
    srv = await asyncio.start_server(conn, "127.0.0.1", listen)
    async with srv:
        await srv.serve_forever()
asyncio.run(main())
PY
    PIDS+=($!)
    sleep 0.5
  fi
}
L=$(free_port)
start_link "$L" "$ONE_WAY"
P=$(free_port)
DB_HOST=127.0.0.1 DB_PORT=$L DB_USER=postgres DB_NAME=contacts DB_SSLMODE=disable PORT=$P \
  "$EB" backend --listen 127.0.0.1 2>"$W/backend.log" &
PIDS+=($!)
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$P/healthz" && break; sleep 0.1; done
echo "link: $link, $ONE_WAY ms each way"
printf '%-11s %10s %10s %10s %12s %12s  %s\n' mode rtt_p50 read_p50 insert_p50 read_rt insert_rt target
for m in extended compat2rtt simple prepared pipeline; do
  J=$(curl -s -m 120 "http://127.0.0.1:$P/api/rds/benchmark?iterations=50&mode=$m&warmup=2")
  case $m in compat2rtt) want="insert 2.0 +/- 0.1" ;; extended) want="insert 1.0 +/- 0.1" ;; *) want="" ;; esac
  jq -r --arg m "$m" --arg w "$want" '[$m, .rtt_p50_ms, .read_p50_ms, .insert_p50_ms, .read_round_trips, .insert_round_trips, $w] | @tsv' <<<"$J" |
    awk -F'\t' '{printf "%-11s %10.2f %10.2f %10.2f %12.3f %12.3f  %s\n", $1, $2, $3, $4, $5, $6, $7}'
done

# The event loop never waits on the database: /api/info latency while two
# benchmarks run against a database 300 ms away.
L3=$(free_port)
start_link "$L3" 150
P3=$(free_port)
DB_HOST=127.0.0.1 DB_PORT=$L3 DB_USER=postgres DB_NAME=contacts DB_SSLMODE=disable PORT=$P3 \
  "$EB" backend --listen 127.0.0.1 2>"$W/backend3.log" &
PIDS+=($!)
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$P3/healthz" && break; sleep 0.1; done
sleep 2 # the workers' connections are made through the slow link
info_times() { for _ in $(seq 100); do curl -s -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:$P3/api/info"; sleep 0.05; done; }
summary() { sort -g | awk -v what="$1" '{a[NR]=$1*1000} END{printf "/api/info %s: p50 %.2f ms, p99 %.2f ms, max %.2f ms (100 requests, curl time_total)\n", what, a[int(NR*0.5)], a[int(NR*0.99)], a[NR]}'; }
info_times | summary "idle (baseline)"
for _ in 1 2; do curl -s -o /dev/null -m 120 "http://127.0.0.1:$P3/api/rds/benchmark?iterations=10&warmup=0" & done
sleep 1
info_times | summary "while 2 benchmarks run 300 ms from the database"
