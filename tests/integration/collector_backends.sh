#!/usr/bin/env bash
# edgebench run against three real backends on a real PostgreSQL, plus a
# target whose port is closed and one that never completes a connection:
# ranked table with ERROR and TIMEOUT rows at the bottom, exit 1, every output
# written, report reproduces the Markdown byte for byte; rows really inserted;
# tokens; rounds; modes passed through.
. "$(dirname "$0")/../lib/harness.sh"
pg_start
psqlc -c "create database contacts" >/dev/null
export DB_HOST=127.0.0.1 DB_PORT=$PGPORT DB_USER=postgres DB_NAME=contacts
"$EB" db init >"$T/init.log" 2>&1 || die "db init: $(cat "$T/init.log")"

args=()
declare -A port
for r in lhr iad syd; do
  port[$r]=$(free_port)
  FLY_REGION=$r PORT=${port[$r]} spawn "$EB" backend --listen 127.0.0.1 >"$T/b-$r.log" 2>&1
  args+=(--target "$r=http://127.0.0.1:${port[$r]}")
done
for r in lhr iad syd; do wait_http "http://127.0.0.1:${port[$r]}/api/info" || die "backend $r did not start: $(tail -n 3 "$T/b-$r.log")"; done
closed=$(free_port)
hole=$(free_port)
# A listener whose accept queue is full: a new connection never completes.
spawn python3 -c "
import socket, time
s = socket.socket(); s.bind(('127.0.0.1', $hole)); s.listen(0)
c = socket.create_connection(('127.0.0.1', $hole))
d = socket.socket(); d.setblocking(False); d.connect_ex(('127.0.0.1', $hole))
open('$T/hole.ready', 'w').close(); time.sleep(120)"
for _ in $(seq 50); do [ -e "$T/hole.ready" ] && break; sleep 0.1; done
args+=(--target "fra=http://127.0.0.1:$closed" --target "nrt=http://127.0.0.1:$hole")

before=$(psqlc -d contacts -c "select count(*) from contacts")
start=$(date +%s%N)
"$EB" run "${args[@]}" --iterations 5 --timeout 3 --retries 1 --columns p95,rtt,rt \
  --meta db_site=eu-west-1 --out "$T/r" >"$T/out" 2>"$T/err"; rc=$?
wall_ms=$((($(date +%s%N) - start) / 1000000))
after=$(psqlc -d contacts -c "select count(*) from contacts")
check "exit 1 when some regions fail (got $rc)" [ $rc -eq 1 ]
check "seed layout header" grep -q '^| Flag | Region | Location | Insert avg (ms) | Read avg (ms) |' "$T/out"
check "three ranked rows with numbers" bash -c "[ \$(grep -Ec '^\| [^|]* \| (lhr|iad|syd) \| [^|]* \| (\*\*)?[0-9]+\.[0-9]{2}' '$T/out') -eq 3 ]"
check "ERROR and TIMEOUT rows are the last two" \
  bash -c "grep -E '^\| ' '$T/out' | tail -n 2 | grep -q '| fra | Frankfurt | ERROR | ERROR |' && grep -E '^\| ' '$T/out' | tail -n 1 | grep -q '| nrt | Tokyo | TIMEOUT | TIMEOUT |'"
check "reasons under the table" bash -c "grep -q '^- fra: ERROR: ' '$T/out' && grep -q '^- nrt: TIMEOUT: ' '$T/out'"
check "the timeout bounded the run (${wall_ms} ms, retry included)" [ "$wall_ms" -lt 15000 ]
check "every region's inserts reached the database ($before -> $after)" [ $((after - before)) -ge 15 ]
for f in results.json results.csv results.md results.svg report.html; do
  check "$f written" test -s "$T/r/$f"
done
check "stdout is results.md" cmp -s "$T/out" "$T/r/results.md"
"$EB" report "$T/r/results.json" --format md >"$T/re.md"
check "report reproduces results.md byte for byte" cmp -s "$T/re.md" "$T/r/results.md"
"$EB" report "$T/r/results.json" --format json >"$T/re.json"
check "report reproduces results.json byte for byte" cmp -s "$T/re.json" "$T/r/results.json"
check "results.json holds the backends' full responses" \
  bash -c "jq -e '[.regions[] | select(.status==\"ok\") | .response | has(\"server_version\") and (.insert_latencies|length)==5] | all' '$T/r/results.json' >/dev/null"
check "aggregated fields on each answered region" \
  bash -c "jq -e '[.regions[] | select(.status==\"ok\") | [.insert_avg_ms, .read_avg_ms, .read_min_ms, .rtt_avg_ms, .insert_round_trips, .read_round_trips] | map(type==\"number\") | all] | all' '$T/r/results.json' >/dev/null"
check "failed regions recorded with status and error" \
  bash -c "jq -e '[.regions[] | select(.region==\"fra\" or .region==\"nrt\") | .status] == [\"error\",\"timeout\"]' '$T/r/results.json' >/dev/null"
check "SVG is valid XML" xmllint --noout "$T/r/results.svg"

# rounds and mode pass through; compat2rtt costs two round trips per insert
"$EB" run --target "lhr=http://127.0.0.1:${port[lhr]}" --iterations 4 --rounds 3 --mode compat2rtt \
  --read pk --out "$T/r2" >/dev/null 2>&1
check "rounds: three responses, 12 pooled samples" \
  bash -c "jq -e '.regions[0] | (.responses|length)==3 and .insert_samples==12' '$T/r2/results.json' >/dev/null"
check "mode and read kind reached the backend" \
  bash -c "jq -e '.regions[0].response | .mode==\"compat2rtt\" and .read_kind==\"pk\"' '$T/r2/results.json' >/dev/null"

# a backend that requires a token
tp=$(free_port)
EDGEBENCH_TOKEN=t0k-secret FLY_REGION=cdg PORT=$tp spawn "$EB" backend --listen 127.0.0.1 >"$T/b-cdg.log" 2>&1
wait_http "http://127.0.0.1:$tp/api/info" || die "token backend"
"$EB" run --target "cdg=http://127.0.0.1:$tp" --iterations 2 >"$T/t1" 2>&1
check "without the token: ERROR 401 with a hint" bash -c "[ $? -eq 1 ] && grep -q 'HTTP 401' '$T/t1' && grep -q 'pass --token' '$T/t1'"
"$EB" run --target "cdg=http://127.0.0.1:$tp" --iterations 2 --token t0k-secret --out "$T/r3" >"$T/t2" 2>&1
check "with --token: answered" [ $? -eq 0 ]
check "the token is in no output file" bash -c "! grep -rq t0k-secret '$T/r3' '$T/t2'"

# a saturated backend answers 429 with Retry-After; the collector waits and retries
sp=$(free_port)
EDGEBENCH_MAX_BENCH=1 FLY_REGION=ams PORT=$sp spawn "$EB" backend --listen 127.0.0.1 >"$T/b-ams.log" 2>&1
wait_http "http://127.0.0.1:$sp/api/info" || die "saturation backend"
"$EB" run --target "ams=http://127.0.0.1:$sp" --target "waw=http://127.0.0.1:$sp" --target "arn=http://127.0.0.1:$sp" \
  --iterations 20 --retries 0 >"$T/s1" 2>&1
check "without retries a saturated backend gives ERROR HTTP 429" grep -q 'ERROR: HTTP 429' "$T/s1"
"$EB" run --target "ams=http://127.0.0.1:$sp" --target "waw=http://127.0.0.1:$sp" --target "arn=http://127.0.0.1:$sp" \
  --iterations 20 --retries 5 --verbose >"$T/s2" 2>"$T/s2.err"
check "with retries every region answers after the 429s" bash -c "[ $? -eq 0 ] && grep -q 'HTTP 429' '$T/s2.err'"

# the report of a real run opens in headless Chromium without console errors
if command -v chromium >/dev/null; then
  prof=$(mktemp -d "$T/chrome.XXXXXX")
  timeout 90 chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --disable-sync --no-first-run --user-data-dir="$prof" \
    --enable-logging=stderr --v=0 --window-size=1000,1800 --screenshot="$T/shot.png" \
    "file://$T/r/report.html" >/dev/null 2>"$T/chrome.log"
  check "report.html screenshot is not blank" python3 "$EB_SRC/tests/lib/png_nonblank.py" "$T/shot.png"
  check "report.html: no console messages" bash -c "! grep -E 'CONSOLE|Uncaught' '$T/chrome.log'"
fi
