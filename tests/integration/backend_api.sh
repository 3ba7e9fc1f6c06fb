#!/usr/bin/env bash
# edgebench backend against a real PostgreSQL: every endpoint and field, the
# headers, bad input, rows really inserted, every mode, /metrics, the token,
# no database, one log line per request. (backend_load.sh: pressure, SIGTERM.)
. "$(dirname "$0")/../lib/harness.sh"
pg_start
psqlc -c "create database contacts" >/dev/null
export DB_HOST=127.0.0.1 DB_PORT=$PGPORT DB_USER=postgres DB_NAME=contacts
"$EB" db init >"$T/init.log" 2>&1 || die "db init: $(cat "$T/init.log")"
rows() { psqlc -d contacts -c "select count(*) from contacts"; }

P=$(free_port)
U="http://127.0.0.1:$P"
spawn env PORT=$P FLY_REGION=lhr FLY_ALLOC_ID=abcdef0123456789 EDGEBENCH_MAX_BENCH=1 \
  EDGEBENCH_HTTP_TIMEOUT=3 "$EB" backend --listen 127.0.0.1 2>"$T/backend.log"
BPID=$LAST_PID
wait_http "$U/healthz" || die "backend did not start: $(cat "$T/backend.log")"

# --- /api/info, /healthz -------------------------------------------------------
J=$(curl -s "$U/api/info")
check "info: region, hostname (8 chars of FLY_ALLOC_ID), version, uptime, requests" \
  jqt '.region=="lhr" and .hostname=="abcdef01" and (.version|type=="string") and (.uptime_s|type=="number") and (.requests_served|type=="number")' "$J"
check "healthz 200" test "$(http_code "$U/healthz")" = 200

# --- a benchmark ---------------------------------------------------------------
before=$(rows)
J=$(curl -s "$U/api/rds/benchmark?iterations=7&warmup=2")
after=$(rows)
check "iterations=7 inserts exactly 7 rows, warm-up rolled back ($before -> $after)" test $((after - before)) -eq 7
for f in region db_host iterations read_avg_ms read_min_ms read_max_ms insert_avg_ms insert_min_ms \
  insert_max_ms read_latencies insert_latencies timestamp insert_round_trips read_round_trips mode \
  read_kind warmup server_version tls elapsed_ms alloc_id version rtt_avg_ms rtt_min_ms rtt_max_ms \
  rtt_latencies; do
  jqt "has(\"$f\")" "$J" || fail "field $f missing"
done
for op in read insert rtt; do
  for f in p50_ms p95_ms p99_ms stddev_ms samples errors error; do
    jqt "has(\"${op}_$f\")" "$J" || fail "field ${op}_$f missing"
  done
  check "$op: 7 samples, 0 errors, error null, 7 latencies" \
    jqt ".${op}_samples==7 and .${op}_errors==0 and .${op}_error==null and (.${op}_latencies|length)==7" "$J"
  check "$op: min <= p50 <= p95 <= p99 <= max" \
    jqt ".${op}_min_ms <= .${op}_p50_ms and .${op}_p50_ms <= .${op}_p95_ms and .${op}_p95_ms <= .${op}_p99_ms and .${op}_p99_ms <= .${op}_max_ms" "$J"
done
check "seed fields have the seed's values" \
  jqt '.region=="lhr" and .db_host=="127.0.0.1" and .iterations==7 and (.timestamp|test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$"))' "$J"
check "added fields" \
  jqt '.mode=="extended" and .read_kind=="count" and .warmup==2 and (.server_version|test("^[0-9]+\\.[0-9]+")) and .tls.enabled==false and .tls.protocol==null and .alloc_id=="abcdef01" and (.insert_round_trips|type=="number") and .elapsed_ms > 0' "$J"
check "rows are tagged for db clean" test "$(psqlc -d contacts -c "select count(*) from contacts where notes='edgebench:lhr'")" -ge 7

for m in simple extended prepared pipeline compat2rtt; do
  for r in count pk; do
    J=$(curl -s "$U/api/rds/benchmark?iterations=3&mode=$m&read=$r&warmup=1")
    check "mode=$m read=$r: 3 samples of each, no errors" \
      jqt ".mode==\"$m\" and .read_kind==\"$r\" and .read_samples==3 and .insert_samples==3 and .rtt_samples==3 and .read_errors+.insert_errors+.rtt_errors==0" "$J"
  done
done
J=$(curl -s -X POST "$U/api/rds/benchmark?iterations=2&warmup=0")
check "POST works like GET" jqt '.insert_samples==2' "$J"

# --- parameters in the body ---------------------------------------------------------------
BU="$U/api/rds/benchmark"
J=$(curl -s -d iterations=3 -d warmup=0 "$BU")
check "form body iterations=3 is used" jqt '.iterations==3 and .insert_samples==3 and .warmup==0' "$J"
J=$(curl -s -H 'Content-Type: application/json' -d '{"iterations":2,"mode":"simple","warmup":0}' "$BU")
check "JSON body is used" jqt '.iterations==2 and .insert_samples==2 and .mode=="simple"' "$J"
J=$(curl -s -d warmup=0 "$BU?iterations=2&warmup=0")
check "same parameter, same value in query and body: fine" jqt '.iterations==2' "$J"
body_case() { # DESCRIPTION EXPECTED-CODE JQ-TEST CURL-ARGS...
  local d=$1 want=$2 test=$3 code
  shift 3
  code=$(curl -s -D "$T/body.h" -o "$T/body.json" -w '%{http_code}' "$@")
  if [ "$code" = "$want" ] && jq -e "$test" "$T/body.json" >/dev/null 2>&1 &&
    grep -qi '^content-type: application/json' "$T/body.h" && grep -qi '^x-fly-region: lhr' "$T/body.h"; then
    ok "$d -> $code $(cat "$T/body.json")"
  else
    fail "$d -> $code $(cat "$T/body.json")"
  fi
}
body_case "form body iterations=abc" 400 '.param=="iterations"' -d iterations=abc "$BU"
body_case "form body unknown parameter" 400 '.param=="color"' -d color=red "$BU"
body_case "query and body disagree" 400 '.param=="iterations" and (.error|test("query string.*body"))' -d iterations=3 "$BU?iterations=4"
body_case "malformed JSON body" 400 '.param=="body" and (.error|test("JSON"))' -H 'Content-Type: application/json' -d '{"iterations":3' "$BU"
body_case "JSON string for an integer" 400 '.param=="iterations"' -H 'Content-Type: application/json' -d '{"iterations":"3"}' "$BU"
body_case "JSON body not an object" 400 '.param=="body"' -H 'Content-Type: application/json' -d '[3]' "$BU"
body_case "text/plain body" 415 '(.error|test("Content-Type"))' -H 'Content-Type: text/plain' -d iterations=3 "$BU"
head -c 20000 /dev/zero | tr '\0' a >"$T/big.body"
body_case "body over --max-body-bytes" 413 '(.error|test("max-body-bytes"))' --data-binary @"$T/big.body" "$BU"
body_case "header block over --max-header-bytes" 400 '(.error|test("max-header-bytes"))' -H "X-Big: $(head -c 20000 /dev/zero | tr '\0' a)" "$U/api/info"

# --- headers on every endpoint ---------------------------------------------------
for path in /api/info /healthz /api/rds/health "/api/rds/benchmark?iterations=1&warmup=0" \
  "/api/rds/benchmark?iterations=x" /metrics /nope; do
  H=$(curl -s -D - -o /dev/null "$U$path" | tr -d '\r')
  grep -qi '^x-fly-region: lhr$' <<<"$H" || fail "$path: no X-Fly-Region"
  grep -qi '^cache-control: no-store' <<<"$H" || fail "$path: no Cache-Control no-store"
  if [ "$path" = /metrics ]; then ct='^content-type: text/plain'; else ct='^content-type: application/json'; fi
  grep -qi "$ct" <<<"$H" || fail "$path: wrong Content-Type"
done
ok "headers on every endpoint checked"
check "unknown path -> 404" test "$(http_code "$U/nope")" = 404
big=$(head -c 20000 /dev/zero | tr '\0' a)
code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Big: $big" "$U/api/info")
check "a header block over the limit is refused ($code)" test "$code" != 200
code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT "$U/api/info")
check "PUT is refused ($code)" test "$code" = 405
check "a 405 says what is allowed" bash -c 'curl -s -D - -o /dev/null -X PUT "$1/api/info" | grep -qi "^Allow: GET, HEAD" && curl -s -D - -o /dev/null -X PUT "$1/api/rds/benchmark" | grep -qi "^Allow: GET, POST"' _ "$U"

# --- bad input --------------------------------------------------------------------
for q in iterations=abc iterations=0 iterations=101 iterations=-1 iterations=1e3 iterations= \
  mode=bogus read=bogus warmup=21 warmup=-1 color=red "iterations=5&iterations=6"; do
  name=${q%%=*}
  code=$(curl -s -o "$T/bad.json" -w '%{http_code}' "$U/api/rds/benchmark?$q")
  if [ "$code" = 400 ] && jq -e --arg p "$name" '.param==$p and (.error|length)>0' "$T/bad.json" >/dev/null; then
    ok "$q -> 400 naming $name"
  else
    fail "$q -> $code $(cat "$T/bad.json")"
  fi
done

# --- /api/rds/health and /metrics ------------------------------------------------------
J=$(curl -s "$U/api/rds/health")
check "health connected with latency" jqt '.status=="connected" and .region=="lhr" and .db_host=="127.0.0.1" and (.latency_ms|type=="number")' "$J"
curl -s "$U/metrics" >"$T/metrics.txt"
for m in edgebench_http_requests_total edgebench_db_operation_duration_seconds_bucket edgebench_db_up; do
  grep -q "^$m" "$T/metrics.txt" || fail "metric $m missing"
done
check "db up gauge is 1" grep -qx 'edgebench_db_up 1' "$T/metrics.txt"
if command -v promtool >/dev/null; then
  check "promtool check metrics" promtool check metrics <"$T/metrics.txt"
elif /usr/bin/python3 -c 'import prometheus_client.parser' 2>/dev/null; then
  check "metrics parse as Prometheus text (prometheus_client)" /usr/bin/python3 -c '
import sys
from prometheus_client.parser import text_string_to_metric_families
fams = list(text_string_to_metric_families(open(sys.argv[1]).read()))
names = {f.name: f.type for f in fams}
assert names.get("edgebench_db_operation_duration_seconds") == "histogram", names
assert names.get("edgebench_http_requests") == "counter", names
' "$T/metrics.txt"
fi

n_info=$(grep -c 'GET /api/info 200' "$T/backend.log")
check "one log line per request ($n_info for /api/info)" test "$n_info" -ge 2
check "log lines carry method, path, status, duration" grep -qE 'GET /api/rds/benchmark 400 [0-9.]+ms$' "$T/backend.log"
kill -TERM "$BPID"
wait "$BPID"
rc=$?
check "SIGTERM when idle: exit 0 ($rc)" test "$rc" -eq 0

# --- token ---------------------------------------------------------------------------------
P2=$(free_port)
spawn env PORT=$P2 EDGEBENCH_TOKEN='s3cret-t0ken' "$EB" backend --listen 127.0.0.1 2>"$T/token.log"
wait_http "http://127.0.0.1:$P2/healthz" || die "backend 2 did not start"
B="http://127.0.0.1:$P2/api/rds/benchmark?iterations=1&warmup=0"
check "token: none -> 401" test "$(http_code "$B")" = 401
check "token: wrong -> 401" test "$(http_code "$B" -H 'Authorization: Bearer s3cret-t0keN')" = 401
check "token: prefix only -> 401" test "$(http_code "$B" -H 'Authorization: Bearer s3cret')" = 401
check "token: right -> 200" test "$(http_code "$B" -H 'Authorization: Bearer s3cret-t0ken')" = 200
check "token: the scheme is case-insensitive -> 200" test "$(http_code "$B" -H 'Authorization: bearer s3cret-t0ken')" = 200
check "token: never in the log" bash -c '! grep -q s3cret "$1"' _ "$T/token.log"

# --- no database configured ------------------------------------------------------------------
P3=$(free_port)
spawn env -u DB_HOST -u DATABASE_URL PORT=$P3 "$EB" backend --listen 127.0.0.1 2>"$T/nodb.log"
wait_http "http://127.0.0.1:$P3/healthz" || die "backend 3 did not start"
code=$(curl -s -o "$T/nodb.json" -w '%{http_code}' "http://127.0.0.1:$P3/api/rds/benchmark")
check "no database: 503 with error, region, db_host" \
  bash -c '[ "$1" = 503 ] && jq -e "has(\"error\") and .region==\"local\" and has(\"db_host\")" "$2" >/dev/null' _ "$code" "$T/nodb.json"
check "no database: health says disabled" jqt '.status=="disabled"' "$(curl -s "http://127.0.0.1:$P3/api/rds/health")"
check "usage error exits 2" bash -c '"$1" backend --port 0 2>/dev/null; [ $? -eq 2 ]' _ "$EB"

# --- start-up checks ----------------------------------------------------------------------------
out=$(env -u DB_HOST DATABASE_URL='postgresql://u:hunter2@[::1' "$EB" backend --listen 127.0.0.1 --port "$(free_port)" 2>&1); rc=$?
check "malformed DATABASE_URL: exit 2 naming it, never echoing it ($rc)" \
  bash -c '[ $1 = 2 ] && grep -q DATABASE_URL <<<"$2" && ! grep -q hunter2 <<<"$2"' _ "$rc" "$out"
out=$(FLY_REGION='lhr"} 1' "$EB" backend --listen 127.0.0.1 --port "$(free_port)" 2>&1); rc=$?
check "FLY_REGION that is not a code: exit 2 naming FLY_REGION ($rc)" \
  bash -c '[ $1 = 2 ] && grep -q "FLY_REGION (--region) .* is not a region code" <<<"$2"' _ "$rc" "$out"
for u in 'postgresql://u:hunter2@db:54x2/contacts' 'postgresql://u:hunter2@a:5432,b:70000/contacts' \
  'postgresql://u:hunter2@db/contacts?sslmode=maybe'; do
  out=$(env -u DB_HOST DATABASE_URL="$u" "$EB" backend --listen 127.0.0.1 --port "$(free_port)" 2>&1); rc=$?
  check "DATABASE_URL with a bad port or sslmode: exit 2 naming the value, not the password ($rc: $out)" \
    bash -c '[ $1 = 2 ] && grep -qE "has (port .54x2.|port .70000.|sslmode .maybe.)" <<<"$2" && ! grep -q hunter2 <<<"$2"' _ "$rc" "$out"
done
out=$("$EB" backend --listen 127.0.0.1 --port "$(free_port)" --db-sslrootcert /nonexistent/ca.pem 2>&1); rc=$?
check "--db-sslrootcert missing file: exit 2 naming it ($rc)" \
  bash -c '[ $1 = 2 ] && grep -q "/nonexistent/ca.pem" <<<"$2"' _ "$rc" "$out"
out=$("$EB" backend --listen 999.1.1.1 --port "$(free_port)" 2>&1); rc=$?
check "--listen 999.1.1.1: exit 2, not an IP address, no libevent warning ($rc: $out)" \
  bash -c '[ $1 = 2 ] && grep -q "not an IP address" <<<"$2" && ! grep -q "\[warn\]" <<<"$2"' _ "$rc" "$out"
out=$("$EB" backend --listen 127.0.0.1 --port "$P3" 2>&1); rc=$?
check "port in use: exit 1, says already in use ($rc: $out)" \
  bash -c '[ $1 = 1 ] && grep -q "already in use" <<<"$2"' _ "$rc" "$out"
out=$("$EB" backend --listen 192.0.2.77 --port "$(free_port)" 2>&1); rc=$?
check "address not on this machine: exit 1, says so ($rc: $out)" \
  bash -c '[ $1 = 1 ] && grep -q "not one of this machine" <<<"$2"' _ "$rc" "$out"
