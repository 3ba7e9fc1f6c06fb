#!/usr/bin/env bash
# Scale: `edgebench run` over 200 targets (20 per backend, 10 backends that
# answer in 50..320 ms) from one event loop. Prints the wall time against the
# slowest target asked alone (target: at most 1.2 x) and the collector's peak
# resident memory for 200 targets against 10 targets (bounded: it must not
# grow with anything but the responses it keeps).
# The backends are stand-ins (tests/lib/standin_fast.py, one asyncio loop
# answering contract-1 responses after a fixed delay): a real backend
# serves EDGEBENCH_MAX_BENCH benchmarks at a time and 200 concurrent ones
# would exhaust PostgreSQL's connections, which is not what this measures.
# usage: EB_BIN=path/to/edgebench bench/collector_scale.sh [TARGETS]
set -u
here=$(cd "$(dirname "$0")" && pwd)
export EB_BIN=${EB_BIN:?set EB_BIN to the edgebench binary} EB_SRC=${EB_SRC:-$(dirname "$here")}
. "$EB_SRC/tests/lib/harness.sh"
N=${1:-200}
wait_port() { local i; for i in $(seq 100); do (echo >/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }
ports=()
for i in $(seq 0 9); do
  p=$(free_port)
  spawn python3 "$EB_SRC/tests/lib/standin_fast.py" "$p" "b$i" "$(echo "0.05 + $i * 0.03" | bc -l)"
  ports+=("$p")
done
for p in "${ports[@]}"; do wait_port "$p" || die "standin $p"; done
slow=${ports[9]}
{ echo "region,url"; for i in $(seq 0 $((N - 1))); do echo "t$i,http://127.0.0.1:${ports[$((i % 10))]}"; done; } >"$T/targets.csv"
{ echo "region,url"; for i in $(seq 0 9); do echo "t$i,http://127.0.0.1:${ports[$i]}"; done; } >"$T/ten.csv"
now() { date +%s.%N; }
"$EB" run --targets "$T/targets.csv" --iterations 5 --quiet >/dev/null 2>&1   # warm the stand-ins
s=$(now); "$EB" run --target "slow=http://127.0.0.1:$slow" --iterations 5 --quiet >/dev/null; alone=$(echo "$(now) - $s" | bc -l)
/usr/bin/time -f %M -o "$T/rss10" "$EB" run --targets "$T/ten.csv" --iterations 5 --quiet >/dev/null
s=$(now)
/usr/bin/time -f %M -o "$T/rssN" "$EB" run --targets "$T/targets.csv" --iterations 5 --verbose >"$T/table" 2>"$T/log"; rc=$?
wall=$(echo "$(now) - $s" | bc -l)
# the slowest request as the collector saw it (the stand-ins slow down under load)
maxreq=$(grep -o 'done in [0-9.]* ms' "$T/log" | awk '{print $3}' | sort -n | tail -n1)
ok=$(grep -Ec '^\| [^|]* \| t[0-9]+ \| [^|]* \| (\*\*)?[0-9]' "$T/table")
# writing the five output files is timed apart
"$EB" run --targets "$T/targets.csv" --iterations 5 --quiet --out "$T/out" >/dev/null 2>&1
s=$(now); "$EB" report "$T/out/results.json" --out "$T/out2"; render=$(echo "$(now) - $s" | bc -l)
printf 'targets: %s (10 backends), answered: %s, exit %s\n' "$N" "$ok" "$rc"
printf 'slowest target alone: %.3f s\n' "$alone"
printf 'run over %s targets: %.3f s\n' "$N" "$wall"
printf 'slowest request during the run: %.3f s\n' "$(echo "$maxreq / 1000" | bc -l)"
printf 'ratio run / slowest target alone: %.3f (target <= 1.2)\n' "$(echo "$wall / $alone" | bc -l)"
printf 'ratio run / slowest request of the run: %.3f (start-up, loop, table)\n' "$(echo "$wall * 1000 / $maxreq" | bc -l)"
printf 'writing the five output files for %s regions (report --out): %.3f s\n' "$N" "$render"
printf 'peak RSS: %s KB for %s targets, %s KB for 10 (%.1f KB per extra target, responses kept)\n' \
  "$(cat "$T/rssN")" "$N" "$(cat "$T/rss10")" "$(echo "($(cat "$T/rssN") - $(cat "$T/rss10")) / ($N - 10)" | bc -l)"
