#!/usr/bin/env bash
# The database goes away and comes back: a backend started before its
# database, a database stopped in the middle of a benchmark (failed operations
# are counted, never timed), and restarted (the next benchmark succeeds
# without restarting the backend); /api/rds/health tells the truth throughout.
. "$(dirname "$0")/../lib/harness.sh"
pg_start
pg_stop
export DB_HOST=127.0.0.1 DB_PORT=$PGPORT DB_USER=postgres DB_NAME=contacts DB_CONNECT_TIMEOUT=2

# --- the backend starts while the database is down -----------------------------------
P=$(free_port)
U="http://127.0.0.1:$P"
spawn env PORT=$P FLY_REGION=gru "$EB" backend --listen 127.0.0.1 2>"$T/backend.log"
wait_http "$U/healthz" || die "backend did not start without its database: $(cat "$T/backend.log")"
ok "backend starts while the database is down"
check "health: error while down" jqt '.status=="error" and (.message|length)>0' "$(curl -s -m 10 "$U/api/rds/health")"
code=$(curl -s -m 30 -o "$T/down.json" -w '%{http_code}' "$U/api/rds/benchmark?iterations=3")
check "benchmark while down: 502, every operation an error, no latency" \
  bash -c '[ "$1" = 502 ] && jq -e ".insert_samples==0 and .insert_errors==3 and (.insert_latencies|length)==0 and (.insert_error|test(\"connect\")) and .read_errors==3" "$2" >/dev/null' _ "$code" "$T/down.json"
check "metrics: db down" bash -c 'curl -s "$1/metrics" | grep -qx "edgebench_db_up 0"' _ "$U"

pg_again || die "restart failed"
psqlc -c "create database contacts" >/dev/null
"$EB" db init >/dev/null || die "db init"
check "health: connected once the database is up" jqt '.status=="connected"' "$(curl -s -m 10 "$U/api/rds/health")"
J=$(curl -s -m 30 "$U/api/rds/benchmark?iterations=3&warmup=0")
check "first benchmark after the database came up succeeds ($(jq -c '{insert_samples, insert_errors, insert_error}' <<<"$J" 2>&1))" \
  jqt '.insert_samples==3 and .insert_errors==0' "$J"

# --- stopped in the middle of a benchmark ----------------------------------------------------
# A trigger makes each insert take 20 ms so the benchmark is still running when the server stops.
psqlc -d contacts >/dev/null <<'SQL'
create function slow_insert() returns trigger language plpgsql as
  $$ begin perform pg_sleep(0.02); return new; end $$;
create trigger slow_insert before insert on contacts for each row execute function slow_insert();
SQL
before=$(psqlc -d contacts -c "select count(*) from contacts")
curl -s -m 60 -o "$T/mid.json" -w '%{http_code}' "$U/api/rds/benchmark?iterations=100&warmup=0" >"$T/mid.code" &
CURL=$!
# stop the server once the inserts are under way
for _ in $(seq 200); do
  [ "$(psqlc -d contacts -c "select count(*) from contacts")" -ge $((before + 5)) ] && break
  sleep 0.05
done
pg_stop
wait $CURL
J=$(cat "$T/mid.json")
check "stopped mid-benchmark: 200 with some inserts ok and the rest counted as errors ($(cat "$T/mid.code"))" \
  jqt '.insert_samples > 0 and .insert_errors > 0 and .insert_samples + .insert_errors == 100' "$J"
check "stopped mid-benchmark: failed inserts are not latencies" \
  jqt '(.insert_latencies|length) == .insert_samples and .insert_error != null' "$J"
check "stopped mid-benchmark: stats over successful samples only" \
  jqt '.insert_min_ms > 0 and .insert_max_ms >= .insert_min_ms and .insert_avg_ms >= .insert_min_ms' "$J"
check "health: error after the stop" jqt '.status=="error"' "$(curl -s -m 10 "$U/api/rds/health")"
pg_again || die "restart failed"
after=$(psqlc -d contacts -c "select count(*) from contacts")
n_ok=$(jq .insert_samples <<<"$J")
check "rows in the database match the successful inserts ($((after - before)) = $n_ok)" test $((after - before)) -eq "$n_ok"
psqlc -d contacts -c "drop trigger slow_insert on contacts" >/dev/null
J=$(curl -s -m 30 "$U/api/rds/benchmark?iterations=5&warmup=0")
check "after the restart the next benchmark succeeds without restarting the backend" \
  jqt '.insert_samples==5 and .read_samples==5 and .rtt_samples==5 and .insert_errors+.read_errors+.rtt_errors==0' "$J"
check "health: connected after the restart" jqt '.status=="connected"' "$(curl -s -m 10 "$U/api/rds/health")"

# --- a whole-benchmark deadline ---------------------------------------------------------------
P2=$(free_port)
spawn env PORT=$P2 EDGEBENCH_BENCH_TIMEOUT=1s "$EB" backend --listen 127.0.0.1 2>"$T/b2.log"
wait_http "http://127.0.0.1:$P2/healthz" || die "backend 2"
psqlc -d contacts -c "begin; lock table contacts in access exclusive mode; select pg_sleep(2); commit" >/dev/null &
LOCK=$!
wait_lock || fail "the test could not take its lock"
J=$(curl -s -m 30 "http://127.0.0.1:$P2/api/rds/benchmark?iterations=20&warmup=0")
wait $LOCK
check "operations past the benchmark deadline are errors, not latencies" \
  jqt '.read_errors > 0 and (.read_error|test("deadline")) and (.read_latencies|length)==.read_samples' "$J"
