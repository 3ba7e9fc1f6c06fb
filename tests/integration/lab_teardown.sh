#!/usr/bin/env bash
# `edgebench lab` tears everything down: SIGINT at several moments (while
# PostgreSQL starts, while the backends start, while the collector runs)
# exits 130 leaving no process and no temporary directory; a backend killed
# mid-run ends the lab with status 1 and that backend named.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/lab.sh"
lab_needs
printf 'region,rtt_ms\nlhr,5\nsyd,40\n' >"$T/rtt.csv"

# start_lab NAME [ARGS...]: the lab in the background, in its own process
# group as an interactive shell would start it; sets LAB.
start_lab() {
  local name=$1
  shift
  mkdir -p "$T/tmp-$name"
  set -m
  TMPDIR="$T/tmp-$name" "$EB" lab --rtt-file "$T/rtt.csv" --iterations 50 --out "$T/out-$name" \
    --verbose "$@" >"$T/$name.out" 2>"$T/$name.err" &
  LAB=$!
  set +m
  _pids+=("$LAB")
}

finished_clean() {
  local name=$1 left
  left=$(lab_leftovers "$T/$name.err")
  check "$name: no process left ($left)" [ -z "$left" ]
  check "$name: temporary directory removed ($(ls -A "$T/tmp-$name"))" [ -z "$(ls -A "$T/tmp-$name")" ]
}

# SIGINT while PostgreSQL starts, while the backends start, and mid-run.
for when in 'started postgres' 'started backend\[syd\]' 'running the collector'; do
  name=int-$(echo "$when" | tr -cd 'a-z')
  start_lab "$name"
  if wait_for_line "$T/$name.err" "$when" 300; then
    [ "$when" = 'running the collector' ] && sleep 1
    kill -INT "$LAB"
    wait_exit "$LAB" 200
    check "$name: SIGINT exits 130 ($RC)" [ "$RC" = 130 ]
    check "$name: says it was interrupted" grep -q "interrupted" "$T/$name.err"
  else
    fail "$name: never reached '$when': $(tail -n 5 "$T/$name.err")"
    kill -INT "$LAB"
    wait_exit "$LAB" 200
  fi
  finished_clean "$name"
done

# SIGINT during the --proxy geo-routing check (synthetic clients asking
# through the proxy): 130 and a prompt teardown, not the rest of the check.
start_lab proxy --proxy
if wait_for_line "$T/proxy.err" 'synthetic clients' 400; then
  t0=$(date +%s)
  if kill -INT "$LAB" 2>/dev/null; then
    wait_exit "$LAB" 200
    check "proxy: SIGINT during the check exits 130 ($RC)" [ "$RC" = 130 ]
    check "proxy: says it was interrupted" grep -q "interrupted" "$T/proxy.err"
    check "proxy: stops within 20 s ($(($(date +%s) - t0)) s)" [ $(($(date +%s) - t0)) -le 20 ]
  else
    echo "note: the proxy check finished before the signal; nothing to interrupt"
    wait_exit "$LAB" 200
  fi
else
  fail "proxy: the geo-routing check never started: $(tail -n 5 "$T/proxy.err")"
  kill -INT "$LAB"
  wait_exit "$LAB" 200
fi
finished_clean proxy

# SIGTERM too.
start_lab term
wait_for_line "$T/term.err" 'running the collector' 300
kill -TERM "$LAB"
wait_exit "$LAB" 200
check "term: SIGTERM exits 143 ($RC)" [ "$RC" = 143 ]
finished_clean term

# A backend dies mid-run: everything stops, its name and status are shown.
start_lab kill
if wait_for_line "$T/kill.err" 'running the collector' 300; then
  victim=$(sed -n 's/.*started backend\[syd\] (pid \([0-9]*\)).*/\1/p' "$T/kill.err")
  sleep 0.5
  kill -9 "$victim"
  wait_exit "$LAB" 200
  check "kill: lab exits 1 ($RC)" [ "$RC" = 1 ]
  check "kill: names the dead backend" grep -q "backend\[syd\] was killed by signal 9" "$T/kill.err"
else
  fail "kill: the collector never started: $(tail -n 5 "$T/kill.err")"
  kill -INT "$LAB"
  wait_exit "$LAB" 200
fi
finished_clean kill
