#!/usr/bin/env bash
# edgebench backend under pressure, against a real PostgreSQL: 429 when every
# worker is busy, the event loop answering while a benchmark waits on the
# database, a slow client cut off while others are served, a client that
# leaves early, one log line per request, SIGTERM with a benchmark in flight.
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

# --- saturation, a busy loop-free server, slow clients -----------------------------------
# Hold an exclusive lock so the next benchmark waits in the database.
psqlc -d contacts -c "begin; lock table contacts in access exclusive mode; select pg_sleep(4); commit" >/dev/null &
LOCKPID=$!
wait_lock || fail "the test could not take its lock"
curl -s -o "$T/held.json" "$U/api/rds/benchmark?iterations=2&warmup=0" &
HELD=$!
sleep 0.5
H=$(curl -s -D - -o "$T/429.json" "$U/api/rds/benchmark?iterations=1" | tr -d '\r')
check "second benchmark while the only worker is busy -> 429 with Retry-After" \
  bash -c 'grep -q "^HTTP/1.1 429" <<<"$1" && grep -qi "^retry-after: [0-9]" <<<"$1"' _ "$H"
t=$(curl -s -o /dev/null -w '%{time_total}' "$U/api/info")
check "/api/info answers while a benchmark waits on the database (${t}s)" awk -v t="$t" 'BEGIN{exit !(t < 0.5)}'
t=$(curl -s -o /dev/null -w '%{time_total}' "$U/metrics")
check "/metrics answers while a benchmark waits on the database (${t}s)" awk -v t="$t" 'BEGIN{exit !(t < 0.5)}'
# A client that sends one byte a second is cut off after the 3 s request deadline.
/usr/bin/python3 - "$P" >"$T/slow.txt" 2>&1 <<'PY' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
t0 = time.time()
req = b"GET /api/info HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"a" * 40 + b"\r\n\r\n"
try:
    for b in req:
        s.send(bytes([b]))
        time.sleep(1)
        s.settimeout(0.01)
        try:
            if s.recv(1) == b"":
                break
        except socket.timeout:
            pass
        s.settimeout(None)
    print("closed after %.1f s" % (time.time() - t0))
except OSError:
    print("closed after %.1f s" % (time.time() - t0))
PY
SLOW=$!
sleep 1
t=$(curl -s -o /dev/null -w '%{time_total}' "$U/api/info")
check "others are served while a slow client dribbles (${t}s)" awk -v t="$t" 'BEGIN{exit !(t < 0.5)}'
wait $HELD
check "the held benchmark completes after the lock is released" jqt '.insert_samples==2' "$(cat "$T/held.json")"
wait $LOCKPID
wait $SLOW
secs=$(sed -n 's/closed after \([0-9.]*\) s/\1/p' "$T/slow.txt")
check "slow client cut off after about 3 s (${secs:-never} s)" awk -v t="${secs:-99}" 'BEGIN{exit !(t >= 2 && t < 12)}'

# A client that gives up while its benchmark waits: the reply goes nowhere, the backend lives on.
psqlc -d contacts -c "begin; lock table contacts in access exclusive mode; select pg_sleep(1.5); commit" >/dev/null &
LOCKPID=$!
wait_lock || fail "the test could not take its lock"
curl -s -m 0.5 -o /dev/null "$U/api/rds/benchmark?iterations=2&warmup=0"
wait $LOCKPID
sleep 0.3
check "a client gone before its benchmark ended does not hurt the backend" test "$(http_code "$U/healthz")" = 200
check "and its worker is free again" jqt '.insert_samples==1' "$(curl -s "$U/api/rds/benchmark?iterations=1&warmup=0")"

# --- logs -------------------------------------------------------------------------------
n_info=$(grep -c 'GET /api/info 200' "$T/backend.log")
check "one log line per /api/info request ($n_info)" test "$n_info" -ge 2
check "log lines carry method, path, status, duration" grep -qE 'GET /api/rds/benchmark 429 [0-9.]+ms$' "$T/backend.log"

# --- SIGTERM with a benchmark in flight ------------------------------------------------------
psqlc -d contacts -c "begin; lock table contacts in access exclusive mode; select pg_sleep(2); commit" >/dev/null &
LOCKPID=$!
wait_lock || fail "the test could not take its lock"
curl -s -o "$T/inflight.json" -w '%{http_code}' "$U/api/rds/benchmark?iterations=2&warmup=0" >"$T/inflight.code" &
INF=$!
sleep 0.3
kill -TERM "$BPID"
wait "$BPID"
rc=$?
check "SIGTERM: exit 0 ($rc)" test "$rc" -eq 0
wait $INF
check "SIGTERM: the in-flight benchmark was answered ($(cat "$T/inflight.code"))" grep -qE '^(200|502)$' "$T/inflight.code"
wait $LOCKPID
check "not listening after SIGTERM" test "$(http_code "$U/healthz")" = 000

