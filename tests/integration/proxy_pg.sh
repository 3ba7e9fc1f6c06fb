#!/usr/bin/env bash
# The routing table in PostgreSQL: `proxy routes --routes-pg` edits it, two
# proxies share it and both reload on NOTIFY; losing the database keeps the
# last good table.
. "$(dirname "$0")/../lib/harness.sh"
TOOL="python3 $(cd "$(dirname "$0")" && pwd)/proxy_tool.py"
cd "$T" || exit 1
pg_start
URL="postgresql://postgres@127.0.0.1:$PGPORT/postgres"
L=$(free_port); C=$(free_port)
spawn $TOOL serve lhr "$L" >"$T/lhr.out" 2>&1
spawn $TOOL serve cdg "$C" >"$T/cdg.out" 2>&1
wait_line "$T/lhr.out" ready 300 && wait_line "$T/cdg.out" ready 300 || die "backends did not start"
"$EB" proxy routes init --routes-pg "$URL" || die "routes init"
check "routes init is idempotent" "$EB" proxy routes init --routes-pg "$URL"
id=$("$EB" proxy routes add --routes-pg "$URL" --region lhr --address 127.0.0.1 --port "$L")
check "routes add prints the new id ($id)" test -n "$id"
check "a bad row is refused by the table's checks" bash -c "! psql -h 127.0.0.1 -p $PGPORT -U postgres -AtX -v ON_ERROR_STOP=1 -c \"INSERT INTO edgebench_routes (region, address, port) VALUES ('lhr', '127.0.0.1', 70000)\" 2>/dev/null"
printf '127.0.0.0/8,FR\n' >"$T/geo.csv"
P1=$(free_port); P2=$(free_port)
spawn "$EB" proxy --listen 127.0.0.1:"$P1" --routes-pg "$URL" --geoip-csv "$T/geo.csv" --health none >"$T/p1.log" 2>"$T/p1.err"
PX1=$LAST_PID
spawn "$EB" proxy --listen 127.0.0.1:"$P2" --routes-pg "$URL" --geoip-csv "$T/geo.csv" --health none >"$T/p2.log" 2>"$T/p2.err"
wait_line "$T/p1.err" "listening on" && wait_line "$T/p2.err" "listening on" || die "proxies did not start: $(cat "$T/p1.err")"
check "FR client goes to lhr while it is the only route" test "$($TOOL ask 127.0.0.1:"$P1" 127.0.0.5 | cut -d' ' -f1)" = lhr
"$EB" proxy routes add --routes-pg "$URL" --region cdg --address 127.0.0.1 --port "$C" >/dev/null
wait_line "$T/p1.err" "reloaded (NOTIFY" 50 && wait_line "$T/p2.err" "reloaded (NOTIFY" 50
check "proxy 1 reloaded on NOTIFY" grep -q "reloaded (NOTIFY edgebench_routes): 2 backends" "$T/p1.err"
check "proxy 2 reloaded on NOTIFY" grep -q "reloaded (NOTIFY edgebench_routes): 2 backends" "$T/p2.err"
check "both now send FR to cdg" test "$($TOOL ask 127.0.0.1:"$P1" 127.0.0.6 | cut -d' ' -f1)$($TOOL ask 127.0.0.1:"$P2" 127.0.0.7 | cut -d' ' -f1)" = cdgcdg
check "routes list --json reads PostgreSQL" test "$("$EB" proxy routes list --routes-pg "$URL" --json | jq length)" -eq 2
psql -h 127.0.0.1 -p "$PGPORT" -U postgres -AtX -c "UPDATE edgebench_routes SET region = 'atlantis' WHERE port = $C" >/dev/null
wait_line "$T/p1.err" "rejected" 50
check "a bad row written by hand is rejected, last good table kept" grep -q "rejected.*atlantis.*keeping the last good table (2 backends)" "$T/p1.err"
check "still routing FR to cdg" test "$($TOOL ask 127.0.0.1:"$P1" 127.0.0.8 | cut -d' ' -f1)" = cdg
pg_stop
sleep 0.5
check "with the database gone, the proxy keeps serving" test "$($TOOL ask 127.0.0.1:"$P1" 127.0.0.9 | cut -d' ' -f1)" = cdg
wait_line "$T/p1.err" "lost the routing database" 50
check "the loss is logged" grep -q "lost the routing database" "$T/p1.err"
pg_again
psql -h 127.0.0.1 -p "$PGPORT" -U postgres -AtX -c "DELETE FROM edgebench_routes WHERE port = $C" >/dev/null
wait_line "$T/p1.err" "reconnected to the routing database" 80
check "reconnects and reloads" grep -q "reloaded (reconnected to the routing database): 1 backends" "$T/p1.err"
"$EB" proxy routes remove --routes-pg "$URL" --id "$id" >/dev/null
wait_line "$T/p1.err" "reloaded (NOTIFY edgebench_routes): 0 backends" 50
got=$($TOOL ask 127.0.0.1:"$P1" 127.0.0.10 2>&1)
check "an empty table refuses connections" bash -c "! echo '$got' | grep -q lhr"
check "no sanitizer report" bash -c "! grep -q Sanitizer '$T/p1.err' '$T/p2.err'"
