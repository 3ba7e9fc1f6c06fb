#!/usr/bin/env bash
# edgebench run against stand-in backends (tests/lib/standin_backend.py) that
# answer with contract-1 responses or misbehave on purpose: concurrency,
# TIMEOUT vs ERROR, retries, 429, rounds, --via, tokens, progress only on a
# terminal, usage and target-file errors.
. "$(dirname "$0")/../lib/harness.sh"
STANDIN=$EB_SRC/tests/lib/standin_backend.py

standin() { # standin PORT REGION MODE [DELAY] [TOKEN]
  spawn python3 "$STANDIN" "$@"
}
wait_port() { local i; for i in $(seq 100); do (echo >/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }

pa=$(free_port); pb=$(free_port); pc=$(free_port); pbad=$(free_port); p502=$(free_port)
phang=$(free_port); pnb=$(free_port); pauth=$(free_port); pbusy=$(free_port); closed=$(free_port)
standin "$pa" lhr ok 0.05
standin "$pb" iad ok 0.3
standin "$pc" syd ok 0.6
standin "$pbad" gru badjson
standin "$p502" ord fail502
standin "$phang" nrt hang
standin "$pnb" sin notbackend
standin "$pauth" cdg ok 0.01 s3cret-token
standin "$pbusy" lax busy 0.01
for p in $pa $pb $pc $pbad $p502 $phang $pnb $pauth $pbusy; do wait_port "$p" || die "standin on $p"; done

# --- three answer, six fail in different ways; concurrency bounds the wall time
start=$(date +%s%N)
"$EB" run --target lhr=http://127.0.0.1:$pa --target iad=http://127.0.0.1:$pb \
  --target syd=http://127.0.0.1:$pc --target gru=http://127.0.0.1:$pbad \
  --target ord=http://127.0.0.1:$p502 --target nrt=http://127.0.0.1:$phang \
  --target sin=http://127.0.0.1:$pnb --target cdg=http://127.0.0.1:$pauth \
  --target fra=http://127.0.0.1:$closed \
  --iterations 3 --timeout 2 --retries 0 --out "$T/r1" >"$T/out1" 2>"$T/err1"; rc=$?
wall_ms=$((($(date +%s%N) - start) / 1000000))
check "exit 1 when some failed" [ $rc -eq 1 ]
check "ranked: lhr first, iad, syd" bash -c "grep -E '^\| [^|]* \| (lhr|iad|syd) \|' '$T/out1' | awk -F'|' '{print \$3}' | tr -d ' ' | tr '\n' ' ' | grep -qx 'lhr iad syd '"
check "best row bold" grep -Eq '^\| [^|]* \| lhr \| London \| \*\*[0-9.]+\*\* \| \*\*[0-9.]+\*\* \| 1 \|' "$T/out1"
check "failed rows at the bottom, in target order" bash -c "tail -n +3 '$T/out1' | grep -E '^\|' | tail -n 6 | awk -F'|' '{print \$3}' | tr -d ' ' | tr '\n' ' ' | grep -qx 'gru ord nrt sin cdg fra '"
check "hang is TIMEOUT" grep -q '| nrt | Tokyo | TIMEOUT | TIMEOUT | - |' "$T/out1"
check "closed port is ERROR with curl's reason" grep -Eq '^- fra: ERROR: .*(refused|connect)' "$T/out1"
check "bad JSON is ERROR with the reason" grep -q '^- gru: ERROR: HTTP 200: the response is not a JSON object' "$T/out1"
check "502 shows the backend's error" grep -q '^- ord: ERROR: HTTP 502: relation \\"contacts\\" does not exist\|^- ord: ERROR: HTTP 502: relation "contacts" does not exist' "$T/out1"
check "foreign JSON named" grep -q '^- sin: ERROR: the response has no valid "region"' "$T/out1"
check "401 suggests --token" grep -q '^- cdg: ERROR: HTTP 401: missing or bad token (pass --token' "$T/out1"
check "concurrent: wall ${wall_ms} ms < sum of delays + timeout" [ "$wall_ms" -lt 5500 ]
check "no progress lines when stderr is not a terminal" bash -c "! grep -Eq 'waiting|running' '$T/err1'"
for f in results.json results.csv results.md results.svg report.html; do
  check "$f written" test -s "$T/r1/$f"
done
check "stdout equals results.md" cmp -s "$T/out1" "$T/r1/results.md"
"$EB" report "$T/r1/results.json" --format md >"$T/re.md"
check "report re-renders results.md byte for byte" cmp -s "$T/re.md" "$T/r1/results.md"
check "results.json keeps every raw sample" \
  bash -c "[ \$(jq '[.regions[] | select(.region==\"lhr\") | .responses[0].insert_latencies | length] | .[0]' '$T/r1/results.json') -eq 3 ]"
check "results.json: status per region" \
  bash -c "jq -r '.regions[] | \"\(.region)=\(.status)\"' '$T/r1/results.json' | tr '\n' ' ' | grep -q 'lhr=ok iad=ok syd=ok gru=error ord=error nrt=timeout sin=error cdg=error fra=error'"
check "results.json: aggregated fields on the region object" \
  bash -c "jq -e '.regions[0] | (.insert_avg_ms|type)==\"number\" and (.read_min_ms|type)==\"number\" and (.rtt_avg_ms|type)==\"number\" and (.insert_round_trips|type)==\"number\"' '$T/r1/results.json' >/dev/null"
check "SVG valid" xmllint --noout "$T/r1/results.svg"

# --- tokens: flag and targets-file column; never written anywhere
"$EB" run --target cdg=http://127.0.0.1:$pauth --token s3cret-token --iterations 2 --out "$T/r2" >"$T/out2" 2>&1
check "token flag accepted (exit 0)" [ $? -eq 0 ]
printf 'region,url,location,flag,token\ncdg,http://127.0.0.1:%s,Paris,F,s3cret-token\n' "$pauth" >"$T/tok.csv"
EDGEBENCH_TOKEN=wrong "$EB" run --targets "$T/tok.csv" --iterations 2 --out "$T/r3" >/dev/null 2>&1
check "token column wins over EDGEBENCH_TOKEN" [ $? -eq 0 ]
check "no token in any output" bash -c "! grep -rq s3cret-token '$T/r2' '$T/r3' '$T/out2'"
check "token flag redacted in the recorded command" grep -q '"(redacted)"' "$T/r2/results.json"

# --- retries: a backend that comes up late is reached; 429 honoured
plate=$(free_port)
( sleep 1.2; exec python3 "$STANDIN" "$plate" fra ok 0.01 ) & _pids+=($!)
"$EB" run --target fra=http://127.0.0.1:$plate --target lax=http://127.0.0.1:$pbusy --retries 3 --iterations 2 --verbose >"$T/out4" 2>"$T/err4"
check "retried connection failure and 429 then answered (exit 0)" [ $? -eq 0 ]
check "verbose log shows the retries" grep -q "retry 1 of 3" "$T/err4"
check "429 waited for Retry-After" grep -q "HTTP 429" "$T/err4"

# --- rounds: median of round averages, percentiles over every sample
"$EB" run --target lhr=http://127.0.0.1:$pa --rounds 3 --iterations 4 --out "$T/r5" >/dev/null 2>&1
check "rounds: three responses kept" bash -c "[ \$(jq '.regions[0].responses|length' '$T/r5/results.json') -eq 3 ]"
check "rounds: samples pooled" bash -c "[ \$(jq '.regions[0].insert_samples' '$T/r5/results.json') -eq 12 ]"
check "rounds: avg is the median of the round averages" \
  bash -c "jq -e '.regions[0] | ([.responses[].insert_avg_ms] | sort | .[1]) == .insert_avg_ms' '$T/r5/results.json' >/dev/null"

# --- via: the answering region comes from the response
"$EB" run --via http://127.0.0.1:$pb --iterations 2 --out "$T/r6" >"$T/out6" 2>&1
check "--via alone: the row is the answering region" grep -Eq '^\| [^|]* \| iad \| Virginia \|' "$T/out6"
"$EB" run --via http://127.0.0.1:$pb --target lhr=http://unused.invalid:1 --iterations 2 --out "$T/r7" >"$T/out7" 2>&1
check "--via with a target: answered_by recorded and noted" \
  bash -c "jq -e '.regions[0].answered_by==\"iad\"' '$T/r7/results.json' >/dev/null && grep -q 'answered by region iad' '$T/out7'"

# --- expected_rtt_ms gives the Link RTT column; its source is named under the table
printf 'region,url,location,flag,expected_rtt_ms\nlhr,http://127.0.0.1:%s,London,F,50\n' "$pa" >"$T/rtt.csv"
"$EB" run --targets "$T/rtt.csv" --iterations 2 --columns rtt,rt --meta db_site=eu-west-1 --meta overlay=none --out "$T/r8" >"$T/out8" 2>&1
check "Link RTT column next to the measured RTT" grep -q '| RTT avg (ms) | Link RTT (ms) | Insert RTs | Read RTs | Rank |' "$T/out8"
check "no 'Model RTT' left in any output" bash -c "! grep -rq 'Model RTT' '$T/out8' '$T/r8'"
check "without rtt_source: the targets file is named" grep -qx "Link RTT: the targets file's expected_rtt_ms." "$T/out8"
check "the RTs basis is named under the table" grep -q '^Insert RTs, Read RTs: .*min/min' "$T/out8"
check "results.json keeps both round-trip ratios" \
  jq -e '.regions[0] | (.insert_round_trips|type)=="number" and (.insert_round_trips_min|type)=="number" and (.read_round_trips_min|type)=="number"' "$T/r8/results.json"
check "HTML names the Link RTT and its source" \
  bash -c "grep -q '<th>Link RTT (ms)</th>' '$T/r8/report.html' && grep -q 'Link RTT: the targets file' '$T/r8/report.html'"
for src in model:"the lab's model" seed:"the seed's published read column" file:"from --rtt-file"; do
  "$EB" run --targets "$T/rtt.csv" --iterations 2 --meta "rtt_source=${src%%:*}" --out "$T/r8s" >"$T/out8s" 2>/dev/null
  check "rtt_source=${src%%:*} said under the table" grep -q "^Link RTT: ${src#*:}" "$T/out8s"
  "$EB" report "$T/r8s/results.json" | cmp -s - "$T/out8s"
  check "rtt_source=${src%%:*}: report re-renders byte for byte" [ $? -eq 0 ]
done
check "expected_rtt_ms and meta recorded" \
  bash -c "jq -e '.regions[0].expected_rtt_ms==50 and .meta.db_site==\"eu-west-1\" and .meta.overlay==\"none\"' '$T/r8/results.json' >/dev/null"
check "SVG title uses meta.db_site" grep -q 'database eu-west-1' "$T/r8/results.svg"

# --- progress on a terminal only
if command -v script >/dev/null; then
  script -qec "$EB run --target lhr=http://127.0.0.1:$pa --target syd=http://127.0.0.1:$pc --iterations 2 >/dev/null" /dev/null >"$T/tty" 2>&1
  check "progress lines on a terminal" bash -c "grep -q 'running' '$T/tty' && grep -q 'done, insert' '$T/tty'"
  script -qec "$EB run --quiet --target lhr=http://127.0.0.1:$pa --iterations 2 >/dev/null" /dev/null >"$T/ttyq" 2>&1
  check "--quiet: no progress" bash -c "! grep -q 'running' '$T/ttyq'"
fi

# --- a bad --out stops the run before any target is asked (exit 2, naming it)
: >"$T/outfile"
for bad in "$T/outfile" "$T/outfile/sub"; do
  start=$(date +%s%N)
  "$EB" run --target nrt=http://127.0.0.1:$phang --timeout 5 --retries 0 --verbose --out "$bad" >"$T/o" 2>"$T/e"; rc=$?
  ms=$((($(date +%s%N) - start) / 1000000))
  check "--out $(basename "$bad"): exit 2 ($rc) naming it" bash -c "[ $rc -eq 2 ] && grep -qF -- '--out: ' '$T/e' && grep -qF '$bad' '$T/e'"
  check "--out $(basename "$bad"): no target asked (${ms} ms, no request logged)" \
    bash -c "[ $ms -lt 3000 ] && ! grep -q '127.0.0.1:$phang' '$T/e' && [ ! -s '$T/o' ]"
done
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
  # an existing directory the user cannot write in (root writes anywhere: drop to nobody)
  chmod 711 "$T"; mkdir -p "$T/ro"; chmod 555 "$T/ro"
  setpriv --reuid=65534 --regid=65534 --clear-groups "$EB" run --target nrt=http://127.0.0.1:$phang \
    --timeout 5 --retries 0 --out "$T/ro" >/dev/null 2>"$T/e"; rc=$?
  check "--out unwritable directory: exit 2 naming it ($rc)" \
    bash -c "[ $rc -eq 2 ] && grep -q 'cannot write in directory $T/ro' '$T/e'"
  chmod 700 "$T"
fi
"$EB" run --target lhr=http://127.0.0.1:$pa --iterations 2 --out "$T/new/deep/dir" >/dev/null 2>&1
check "--out creates missing parents" test -s "$T/new/deep/dir/results.json"
check "no probe file left in --out" bash -c "! ls -A '$T/new/deep/dir' | grep -q probe"

# --- usage and targets-file errors: exit 2 before anything runs
"$EB" run --no-such-flag >/dev/null 2>&1; check "unknown flag exits 2" [ $? -eq 2 ]
"$EB" run >/dev/null 2>"$T/e"; check "no targets exits 2" bash -c "[ $? -eq 2 ] && grep -q 'no targets' '$T/e'"
"$EB" run --target lhr=http://x:1 --iterations 0 >/dev/null 2>"$T/e"
check "--iterations 0 exits 2" bash -c "[ $? -eq 2 ] && grep -q '1..100' '$T/e'"
"$EB" run --target lhr=http://x:1 --mode fast >/dev/null 2>&1; check "bad --mode exits 2" [ $? -eq 2 ]
"$EB" run --target lhr=http://x:1 --columns p42 >/dev/null 2>&1; check "bad --columns exits 2" [ $? -eq 2 ]
"$EB" run --target lhr=http://x:1 --meta nokey >/dev/null 2>&1; check "bad --meta exits 2" [ $? -eq 2 ]
printf 'region,url,location,flag\nlhr,notaurl,London,x\n' >"$T/bad.csv"
"$EB" run --targets "$T/bad.csv" >/dev/null 2>"$T/e"; rc=$?
check "bad URL: exit 2 with file and line" bash -c "[ $rc -eq 2 ] && grep -q 'bad.csv: line 2: URL' '$T/e'"
printf 'region,url\nlhr,http://127.0.0.1:1\nlhr,http://127.0.0.1:2\n' >"$T/dup.csv"
"$EB" run --targets "$T/dup.csv" >/dev/null 2>"$T/e"; rc=$?
check "duplicate region: exit 2 naming both lines" bash -c "[ $rc -eq 2 ] && grep -q 'line 3: region .lhr. already listed on line 2' '$T/e'"
printf 'region,location\nlhr,London\n' >"$T/nourl.csv"
"$EB" run --targets "$T/nourl.csv" >/dev/null 2>"$T/e"; check "missing url column exits 2" [ $? -eq 2 ]
"$EB" run --targets "$T/missing.csv" >/dev/null 2>"$T/e"; check "missing file exits 2" [ $? -eq 2 ]
check "missing file: the message names the file and --targets" grep -q "targets file '$T/missing.csv'.*--targets" "$T/e"
"$EB" run --targets "$EB_SRC/examples/targets-seed.csv" --help >/dev/null; check "--help exits 0" [ $? -eq 0 ]

# --- the overlay's plan.json and rendered deploy/targets.csv are target files
"$EB" overlay init --hub-endpoint 192.0.2.1:51820 --db db.example:5432 --regions gru,lhr,syd \
  --dir "$T/ov/plan" >/dev/null 2>&1 && "$EB" overlay render --dir "$T/ov/plan" --out "$T/ov/out" >/dev/null 2>&1
for tf in "$T/ov/plan/plan.json" "$T/ov/out/deploy/targets.csv"; do
  "$EB" run --targets "$tf" --connect-timeout 0.2 --timeout 0.5 --retries 0 --quiet --out "$T/ovr" >/dev/null 2>"$T/e"
  check "$(basename "$tf") accepted as targets (three overlay URLs)" \
    bash -c "jq -r '.regions[].url' '$T/ovr/results.json' | tr '\n' ' ' | grep -qx 'http://10.50.1.1:8080 http://10.50.3.1:8080 http://10.50.4.1:8080 '"
done
