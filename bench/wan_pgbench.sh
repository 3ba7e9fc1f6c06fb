#!/usr/bin/env bash
# Agreement of `edgebench wan` with a peer tool: pgbench (-M extended, one
# client, a `SELECT 1` script) against a throwaway PostgreSQL, directly (the
# baseline, same run) and through links of several RTTs. pgbench's latency
# average through a link minus the direct one should equal the configured RTT.
# When the binary has `edgebench backend`, the backend's own rtt (an empty
# query, one round trip) through the same link is printed next to pgbench's
# (target: within 5 %).
# Usage: bench/wan_pgbench.sh [SECONDS_PER_RUN]
. "$(dirname "$0")/wan_lib.sh"
SECS=${1:-5}
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
[ -n "$PGBIN" ] && command -v pgbench >/dev/null || { echo "needs PostgreSQL and pgbench (scripts/deps.sh)" >&2; exit 1; }
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
mkdir -p "$B/pg"
[ "$(id -u)" -eq 0 ] && chown postgres "$B/pg"
PGPORT=$(free_port)
as_pg "$PGBIN/initdb" -D "$B/pg/data" -A trust -U postgres >"$B/initdb.log" 2>&1 || { cat "$B/initdb.log"; exit 1; }
as_pg "$PGBIN/pg_ctl" -D "$B/pg/data" -l "$B/pg/log" -w -o "-p $PGPORT -k $B/pg -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null || exit 1
BENCH_CLEANUP="as_pg $PGBIN/pg_ctl -D $B/pg/data -m immediate stop"
echo 'SELECT 1;' >"$B/select1.sql"
RTTS="1 10 50 100"
: >"$B/links"
declare -A LP
for r in $RTTS; do
  LP[$r]=$(free_port)
  echo "--listen 127.0.0.1:${LP[$r]} --to 127.0.0.1:$PGPORT --rtt ${r}ms" >>"$B/links"
done
start wan "$EB" wan --quiet --links "$B/links"
pgb() { # port -> "latency_avg p50" (ms): pgbench's own average, and the median of its per-transaction log
  rm -f "$B"/pgl.*
  local avg
  avg=$(cd "$B" && pgbench -h 127.0.0.1 -p "$1" -U postgres -n -M extended -c 1 -T "$SECS" \
    -f "$B/select1.sql" -l --log-prefix="$B/pgl" postgres 2>&1 | awk '/latency average/ {print $4}')
  echo "$avg $(cat "$B"/pgl.* | awk '{print $3 / 1000}' | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}')"
}
read -r direct dp50 < <(pgb "$PGPORT")
echo "baseline: pgbench directly to PostgreSQL, latency average $direct ms, p50 $dp50 ms"
echo
echo "| configured RTT (ms) | pgbench latency avg (ms) | added avg (ms) | added avg/configured | per-transaction p50 (ms) | added p50 (ms) | added p50/configured |"
echo "|---|---|---|---|---|---|---|"
declare -A PGAVG PGP50
for r in $RTTS; do
  read -r lat p50 < <(pgb "${LP[$r]}")
  PGAVG[$r]=$lat
  PGP50[$r]=$p50
  added=$(calc "round($lat - $direct, 3)")
  ap=$(calc "round($p50 - $dp50, 3)")
  echo "| $r | $lat | $added | $(calc "round($added / $r, 4)") | $p50 | $ap | $(calc "round($ap / $r, 4)") |"
done

if "$EB" --help 2>&1 | grep -qE '^ +backend ' && command -v jq >/dev/null && command -v curl >/dev/null; then
  psql -h 127.0.0.1 -p "$PGPORT" -U postgres -AtX -c "create database contacts" >/dev/null
  DB_HOST=127.0.0.1 DB_PORT=$PGPORT DB_USER=postgres DB_NAME=contacts "$EB" db init >/dev/null 2>&1
  echo
  echo "| configured RTT (ms) | pgbench avg (ms) | backend rtt_avg_ms | pgbench p50 (ms) | backend rtt_p50_ms | backend/pgbench (p50) | within 5 % |"
  echo "|---|---|---|---|---|---|---|"
  for r in $RTTS; do
    P=$(free_port)
    DB_HOST=127.0.0.1 DB_PORT=${LP[$r]} DB_USER=postgres DB_NAME=contacts DB_SSLMODE=disable PORT=$P \
      "$EB" backend --listen 127.0.0.1 >"$B/backend$r.log" 2>&1 &
    bp=$!
    PIDS+=($bp)
    for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$P/healthz" && break; sleep 0.1; done
    it=$(( r >= 100 ? 30 : 100 ))
    read -r ravg rp50 < <(curl -s -m 120 "http://127.0.0.1:$P/api/rds/benchmark?iterations=$it&mode=extended&warmup=2" |
      jq -r '"\(.rtt_avg_ms) \(.rtt_p50_ms)"')
    kill "$bp" 2>/dev/null
    # medians: averages on a shared machine carry its scheduling tail
    ratio=$(calc "round($rp50 / ${PGP50[$r]}, 4)")
    echo "| $r | ${PGAVG[$r]} | $ravg | ${PGP50[$r]} | $rp50 | $ratio | $(calc "'yes' if abs($ratio - 1) <= 0.05 else 'NO'") |"
  done
else
  echo
  echo "(this binary has no 'edgebench backend': the backend's rtt comparison is skipped)"
fi
echo
echo "load average during the run: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
