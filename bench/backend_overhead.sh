#!/usr/bin/env bash
# Measurement overhead on loopback: the backend's reported read p50
# (mode=extended, read=count) against a bare libpq loop running the same
# query the same way (bench/backend_pgloop.c), in the same run.
# Target: ratio at most 1.10. Usage: [EB_BIN=...] bench/backend_overhead.sh [ROUNDS]
. "$(dirname "$0")/backend_common.sh"
ROUNDS=${1:-7}
cc -O2 -o "$W/pgloop" "$SRC/bench/backend_pgloop.c" $(pkg-config --cflags --libs libpq) || exit 1
pg_up
psql -h 127.0.0.1 -p "$PGPORT" -U postgres -d contacts -AtX -c \
  "insert into contacts (name, notes) select 'seed ' || g, 'seed' from generate_series(1, 1000) g" >/dev/null
P=$(free_port)
DB_HOST=127.0.0.1 DB_PORT=$PGPORT DB_USER=postgres DB_NAME=contacts DB_SSLMODE=disable PORT=$P \
  "$EB" backend --listen 127.0.0.1 2>"$W/backend.log" &
PIDS+=($!)
wait_http "http://127.0.0.1:$P/healthz" || { echo "backend did not start" >&2; exit 1; }
: >"$W/raw"; : >"$W/be"
for r in $(seq 1 "$ROUNDS"); do
  "$W/pgloop" "host=127.0.0.1 port=$PGPORT user=postgres dbname=contacts sslmode=disable" 100 >>"$W/raw"
  curl -s "http://127.0.0.1:$P/api/rds/benchmark?iterations=100&mode=extended&read=count&warmup=1" |
    jq -r .read_p50_ms >>"$W/be"
done
raw=$(median <"$W/raw"); be=$(median <"$W/be")
ratio=$(awk -v a="$be" -v b="$raw" 'BEGIN{printf "%.3f", a/b}')
echo "read p50 over $ROUNDS rounds of 100: raw libpq loop ${raw} ms, backend ${be} ms"
echo "overhead ratio (backend / raw libpq): $ratio  (target <= 1.10)"
