#!/usr/bin/env bash
# edgebench proxy end to end with real TCP backends: geo routing for a table
# of countries, failover when the nearest backend dies, affinity and its
# expiry, hot reload with a live connection, malformed routing tables,
# half-close, PROXY protocol out and in, SIGTERM drain.
. "$(dirname "$0")/../lib/harness.sh"
TOOL="python3 $(cd "$(dirname "$0")" && pwd)/proxy_tool.py"
cd "$T" || exit 1

start_backend() { # NAME -> sets port var BP_NAME and pid var PID_NAME
  local port; port=$(free_port)
  spawn $TOOL serve "$1" "$port" >"$T/$1.out" 2>&1
  eval "BP_$1=$port PID_$1=$LAST_PID"
}
wait_open() { # until the proxy holds at least one connection
  local i; for i in $(seq 100); do
    [ "$(curl -s "http://127.0.0.1:$ADMIN/api/backends" | jq .open_connections)" -ge 1 ] 2>/dev/null && return 0
    sleep 0.1
  done
}
for r in lhr cdg nrt syd gru iad syd2; do start_backend $r; done
for r in lhr cdg nrt syd gru iad syd2; do wait_line "$T/$r.out" ready 300 || die "backend $r did not start"; done

DB=$T/routing.db
for r in lhr cdg nrt syd gru iad; do
  eval port=\$BP_$r
  "$EB" proxy routes add --routes "$DB" --region $r --address 127.0.0.1 --port "$port" >/dev/null \
    || die "routes add $r"
done
"$EB" proxy routes add --routes "$DB" --region syd --address 127.0.0.1 --port "$BP_syd2" >/dev/null
check "routes list shows 7 rows" test "$("$EB" proxy routes list --routes "$DB" | tail -n +2 | wc -l)" -eq 7
check "routes add rejects an unknown region (exit 2)" \
  test "$("$EB" proxy routes add --routes "$DB" --region xyz --address 127.0.0.1 --port 1 2>/dev/null; echo $?)" -eq 2
check "routes add rejects a hostname" \
  bash -c "! '$EB' proxy routes add --routes '$DB' --region lhr --address example.com --port 1 2>&1 | grep -q '^[0-9]'"

cat >"$T/geo.csv" <<'CSV'
cidr,country
127.1.0.0/16,GB
127.2.0.0/16,FR
127.3.0.0/16,JP
127.4.0.0/16,AU
127.5.0.0/16,BR
127.6.0.0/16,US
127.7.0.0/16,DE
127.8.0.0/16,AR
CSV

PP=$(free_port); ADMIN=$(free_port)
spawn "$EB" proxy --listen 127.0.0.1:"$PP" --routes "$DB" --geoip-csv "$T/geo.csv" --pop lhr \
  --admin 127.0.0.1:"$ADMIN" --health tcp --health-interval 120s --rise 1 --fall 1 \
  --connect-timeout 500ms --affinity-ttl 300ms >"$T/access.log" 2>"$T/proxy.err"
PROXY_PID=$LAST_PID
wait_line "$T/proxy.err" "listening on" || die "proxy did not start: $(cat "$T/proxy.err")"

# --- routing decisions for a table of countries ---
for pair in 127.1.0.5:lhr 127.2.0.5:cdg 127.3.0.5:nrt 127.5.0.5:gru 127.6.0.5:iad 127.7.0.5:cdg \
            127.8.0.5:gru 127.9.0.5:lhr; do
  src=${pair%:*}; want=${pair#*:}
  got=$($TOOL ask 127.0.0.1:"$PP" "$src" | cut -d' ' -f1)
  check "client $src served by $want (got $got)" test "$got" = "$want"
done
check "access log names country and reason" wait_line "$T/access.log" "client=127.2.0.5:[0-9]* country=FR backend=cdg/127.0.0.1:$BP_cdg reason=nearest attempts=1" 50
check "unknown country goes to the POP" wait_line "$T/access.log" "client=127.9.0.5:[0-9]* country=-- backend=lhr/.* reason=pop" 50

# --- weights and affinity: two backends in syd ---
got=$($TOOL count 127.0.0.1:"$PP" 127.4.0.9 12)
check "affinity: 12 quick connections from one client, one backend ($got)" test "$(echo "$got" | wc -w)" -eq 1
got=$($TOOL count 127.0.0.1:"$PP" 127.4.0.9 14 0.45)
check "affinity expires after its TTL: both syd backends seen ($got)" test "$(echo "$got" | wc -w)" -eq 2
check "affinity decisions are logged" wait_line "$T/access.log" "client=127.4.0.9:.* reason=affinity" 50

# --- half-close: the backend answers after the client's EOF ---
got=$($TOOL halfclose 127.0.0.1:"$PP" 127.1.0.6)
check "half-close relays the answer sent after EOF ($got)" test "$got" = "lhr pp=none last words | lhr bye"

# --- bulk both ways, with a reader that starts late (bounded buffers) ---
got=$($TOOL bulk 127.0.0.1:"$PP" 127.1.0.7 24)
check "24 MB up and down intact ($got)" test "$got" = "sunk=25165824 down=25165824 sha=ok"
sp=$(curl -s "http://127.0.0.1:$ADMIN/metrics" | awk '/^edgebench_proxy_spliced_bytes_total/{print $2}')
sw=$(curl -s "http://127.0.0.1:$ADMIN/metrics" | awk '/^edgebench_proxy_splice_waits_total/{print $2}')
check "bulk went through splice(2), and waited for the late reader (spliced $sp bytes, $sw waits)" \
  test "${sp:-0}" -gt 1000000 -a "${sw:-0}" -gt 0

# --- many at once: every byte and the EOF reach each client, whether the
# answer and the backend's FIN come in one read or many, and whether the
# client's FIN follows its request at once (edge-triggered sockets: a lost
# edge would hang a connection here) ---
got=$($TOOL many 127.0.0.1:"$PP" 200 2>"$T/many.err")
check "200 concurrent downloads of 0 to 300 KB, each complete, then EOF ($got)" test "$got" = "ok=200 bad=0"

# --- a backend that resets: the client sees a reset, not a clean end ---
got=$($TOOL cut 127.0.0.1:"$PP" 127.1.0.8 100000)
check "a backend reset reaches the client as a reset ($got)" bash -c '[[ "$1" =~ ^[0-9]+\ reset$ ]]' _ "$got"
# the log counts what was handed to the client's socket before the reset
# (what the reset then discarded the client never read): at least what it read
wait_line "$T/access.log" "client=127.1.0.8:.*result=backend_error" 50
logged=$(grep "client=127.1.0.8:" "$T/access.log" | sed 's/.* bytes_down=\([0-9]*\) .*/\1/')
check "the reset connection's log line counts what got through (${logged:-none} >= ${got%% *})" \
  test "${logged:-0}" -ge "${got%% *}"

# --- hot reload: a live connection survives its backend leaving the table ---
$TOOL hold 127.0.0.1:"$PP" 127.3.0.7 2.5 >"$T/hold.out" &
HOLD=$!
wait_open
"$EB" proxy routes remove --routes "$DB" --address 127.0.0.1 --port "$BP_nrt" >/dev/null
wait_line "$T/proxy.err" "reloaded (file changed): 6 backends" 40
check "routing.db change reloaded" grep -q "reloaded (file changed): 6 backends" "$T/proxy.err"
got=$($TOOL ask 127.0.0.1:"$PP" 127.3.0.8 | cut -d' ' -f1)
check "new JP clients avoid the removed backend (got $got)" test "$got" != nrt
j=$(curl -s "http://127.0.0.1:$ADMIN/api/backends")
check "the removed backend still shows while it holds the live connection" \
  jq -e --argjson p "$BP_nrt" '[.backends[] | select(.port == $p and .removed == true and .active == 1)] | length == 1' <<<"$j" >/dev/null
wait "$HOLD"
check "live connection kept its backend across the reload ($(cat "$T/hold.out"))" test "$(cat "$T/hold.out")" = "nrt nrt"
gone=false
for _ in $(seq 50); do
  curl -s "http://127.0.0.1:$ADMIN/api/backends" | jq -e '[.backends[] | select(.removed)] | length == 0' >/dev/null && { gone=true; break; }
  sleep 0.1
done
check "once its last connection ends, the removed backend is gone from the list" $gone
"$EB" proxy routes add --routes "$DB" --region nrt --address 127.0.0.1 --port "$BP_nrt" >/dev/null
wait_line "$T/proxy.err" "reloaded (file changed): 7 backends" 40

# --- malformed routing tables keep the last good one ---
cp "$DB" "$T/good.db"
python3 - "$DB" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1]); c.execute("INSERT INTO routes (region, address, port) VALUES ('atlantis', '127.0.0.1', 9)"); c.commit()
PY
wait_line "$T/proxy.err" "region 'atlantis' is not in the catalog" 40
check "a row with an unknown region is rejected and named" grep -q "rejected.*region 'atlantis' is not in the catalog.*keeping the last good table (7 backends)" "$T/proxy.err"
check "with the way out: remove that row by its id" grep -q "rejected.*atlantis.*remove that row (edgebench proxy routes remove --routes .* --id [0-9]*)" "$T/proxy.err"
head -c 3000 "$T/good.db" >"$DB"
wait_line "$T/proxy.err" "not a database\|malformed\|rejected.*good table" 40
sleep 1.2
check "a half-written file is rejected" test "$(grep -c 'rejected' "$T/proxy.err")" -ge 2
got=$($TOOL ask 127.0.0.1:"$PP" 127.3.0.9 | cut -d' ' -f1)
check "still routing with the last good table (JP -> $got)" test "$got" = nrt
cp "$T/good.db" "$DB.tmp" && mv "$DB.tmp" "$DB"
wait_line "$T/proxy.err" "reloaded (file changed): 7 backends" 40
kill -HUP "$PROXY_PID"
wait_line "$T/proxy.err" "reloaded (SIGHUP)" 40
check "SIGHUP reloads" grep -q "reloaded (SIGHUP): 7 backends" "$T/proxy.err"

# --- failover: the nearest backend dies, the client is still answered ---
kill "$PID_lhr"; wait "$PID_lhr" 2>/dev/null
got=$($TOOL ask 127.0.0.1:"$PP" 127.1.0.9 | cut -d' ' -f1)
check "GB client answered by another region when lhr is dead (got $got)" test -n "$got" -a "$got" != lhr
check "the failover is logged with 2 attempts" wait_line "$T/access.log" "client=127.1.0.9:.* reason=failover attempts=2 .*result=ok" 50
check "the dead backend is marked down" grep -q "backend lhr/127.0.0.1:$BP_lhr marked down" "$T/proxy.err"
m=$(curl -s "http://127.0.0.1:$ADMIN/metrics")
check "metrics count the failover" bash -c "echo '$m' | grep -q '^edgebench_proxy_failovers_total [1-9]'"
check "metrics show lhr down" bash -c "echo '$m' | grep -q 'edgebench_proxy_backend_up{backend=\"127.0.0.1:$BP_lhr\",region=\"lhr\"} 0'"
check "metrics count connections by country" bash -c "echo '$m' | grep -q 'country=\"JP\"'"
j=$(curl -s "http://127.0.0.1:$ADMIN/api/backends")
check "/api/backends is JSON with health" test "$(echo "$j" | jq '[.backends[] | select(.healthy == false)] | length')" -eq 1
check "admin 404 names the endpoints" bash -c "curl -s http://127.0.0.1:$ADMIN/nope | grep -q /metrics"

# --- PROXY protocol: A sends v1 to B, B trusts only 127.0.0.1 ---
PB=$(free_port)
"$EB" proxy routes add --routes "$T/a.db" --region lhr --address 127.0.0.1 --port "$PB" >/dev/null
spawn "$EB" proxy --listen 127.0.0.1:"$PB" --routes "$DB" --geoip-csv "$T/geo.csv" \
  --accept-proxy-from 127.0.0.1/32 --send-proxy v2 --health none >"$T/b.log" 2>"$T/b.err"
PA=$(free_port)
spawn "$EB" proxy --listen 127.0.0.1:"$PA" --routes "$T/a.db" --geoip-csv "$T/geo.csv" \
  --send-proxy v1 --health none >"$T/a.log" 2>"$T/a.err"
wait_line "$T/a.err" "listening on" && wait_line "$T/b.err" "listening on"
got=$($TOOL ask 127.0.0.1:"$PA" 127.3.0.11)
check "through A then B: B routes by the client A saw, JP -> nrt, v2 carries it ($got)" \
  test "$got" = "nrt pp=127.3.0.11 hello"
check "B logs the real client" wait_line "$T/b.log" "client=127.3.0.11:[0-9]* country=JP" 50
wait_line "$T/a.log" "client=127.3.0.11:" 50
check "B counts the client's bytes, not the PROXY header: 6 up, as A does" \
  bash -c 'grep "client=127.3.0.11:" "$1" | grep -q " bytes_up=6 " && grep "client=127.3.0.11:" "$2" | grep -q " bytes_up=6 "' _ "$T/b.log" "$T/a.log"
got=$($TOOL pp1 127.0.0.1:"$PB" 127.3.0.12)
check "a PROXY header from the trusted peer is honoured ($got)" test "${got%% *}" = nrt
got=$(python3 - "$PB" <<'PY'
import socket, sys
s = socket.socket(); s.bind(("127.2.0.20", 0)); s.connect(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"PROXY TCP4 127.3.0.13 127.0.0.1 1 2\r\nhello\n")
print(s.makefile("rb").readline().decode().split(" ")[0])
PY
)
check "a PROXY header from an untrusted client is not believed (FR -> $got)" test "$got" = cdg
got=$(printf 'PROXY TCP4 nonsense\r\n' | nc -q 2 -w 3 127.0.0.1 "$PB" | wc -c)
check "a malformed header from the trusted peer closes the connection" test "$got" -eq 0
check "it is logged" wait_line "$T/b.log" "result=bad_proxy_header" 50

# --- active health checks: a dead port goes down, comes up when it listens ---
HP=$(free_port); DEAD=$(free_port)
"$EB" proxy routes add --routes "$T/h.db" --region lhr --address 127.0.0.1 --port "$DEAD" >/dev/null
"$EB" proxy routes add --routes "$T/h.db" --region cdg --address 127.0.0.1 --port "$BP_cdg" >/dev/null
HA=$(free_port)
spawn "$EB" proxy --listen 127.0.0.1:"$HP" --routes "$T/h.db" --geoip-csv "$T/geo.csv" \
  --health tcp --health-interval 200ms --health-timeout 200ms --rise 2 --fall 2 \
  --admin 127.0.0.1:"$HA" >"$T/h.log" 2>"$T/h.err"
wait_line "$T/h.err" "is down" 50
check "active check takes a dead backend down" grep -q "backend lhr/127.0.0.1:$DEAD is down" "$T/h.err"
got=$($TOOL ask 127.0.0.1:"$HP" 127.1.0.40 | cut -d' ' -f1)
check "a GB client goes straight to cdg while lhr is down ($got)" test "$got" = cdg
check "without a failover" wait_line "$T/h.log" "client=127.1.0.40:.* attempts=1 " 50
spawn $TOOL serve revived "$DEAD" >"$T/revived.out" 2>&1
wait_line "$T/h.err" "is up" 50
check "rise: the backend comes back up" grep -q "backend lhr/127.0.0.1:$DEAD is up" "$T/h.err"
got=$($TOOL ask 127.0.0.1:"$HP" 127.1.0.41 | cut -d' ' -f1)
check "and is chosen again ($got)" test "$got" = revived

# --- SIGTERM drains: the live connection finishes, new ones are refused ---
$TOOL hold 127.0.0.1:"$PP" 127.2.0.30 2 >"$T/drain.out" &
HOLD=$!
wait_open
kill -TERM "$PROXY_PID"
sleep 0.3
check "no new connections while draining" bash -c "! $TOOL ask 127.0.0.1:$PP 127.2.0.31 >/dev/null 2>&1"
wait "$HOLD"
check "the draining connection completed ($(cat "$T/drain.out"))" test "$(cat "$T/drain.out")" = "cdg cdg"
for _ in $(seq 50); do kill -0 "$PROXY_PID" 2>/dev/null || break; sleep 0.1; done
check "proxy exited after draining" bash -c "! kill -0 $PROXY_PID 2>/dev/null"
wait "$PROXY_PID"; rc=$?
check "exit status 0 after drain (got $rc)" test "$rc" -eq 0
check "no sanitizer report" bash -c "! grep -q 'Sanitizer' '$T/proxy.err' '$T/a.err' '$T/b.err'"

# --- command-line messages --------------------------------------------------------------------
msg() { timeout 10 "$EB" "$@" 2>&1; echo "rc=$?"; } # a refusal is immediate; a start would hang
out=$(msg proxy routes frob)
check "routes frob: unknown command, exit 2 ($out)" bash -c 'grep -q "unknown command .frob." <<<"$1" && grep -q "rc=2" <<<"$1" && ! grep -q -- "--routes FILE or" <<<"$1"' _ "$out"
out=$(msg proxy --bogus)
check "proxy --bogus: our message, exit 2 ($out)" bash -c 'grep -qx "edgebench proxy: unknown option .--bogus.; see edgebench proxy --help" <<<"$1" && grep -q "rc=2" <<<"$1" && ! grep -q unrecognized <<<"$1"' _ "$out"
out=$(msg proxy routes list --bogus --routes "$DB")
check "routes --bogus: our message, exit 2 ($out)" bash -c 'grep -q "unknown option .--bogus." <<<"$1" && grep -q "rc=2" <<<"$1" && ! grep -q unrecognized <<<"$1"' _ "$out"
out=$(msg proxy routes init --routes "$T/init.db")
check "routes init says what it created ($out)" bash -c 'grep -q "created routing table routes in .*init.db" <<<"$1" && grep -q "rc=0" <<<"$1"' _ "$out"
out=$(msg proxy routes init --routes "$T/init.db")
check "routes init again says it was there ($out)" bash -c 'grep -q "already exists" <<<"$1" && grep -q "rc=0" <<<"$1"' _ "$out"
out=$(msg proxy routes remove --routes "$T/init.db" --id 999)
check "routes remove --id 999 names the id ($out)" bash -c 'grep -q "no route with id 999" <<<"$1" && grep -q "rc=1" <<<"$1"' _ "$out"
out=$(msg proxy routes init --routes "$T/no/such/dir/r.db")
check "routes init in a missing directory says so, not 'routes init' ($out)" bash -c 'grep -q "the directory .*/no/such/dir. does not exist" <<<"$1" && ! grep -q "routes init --routes" <<<"$1" && grep -q "rc=1" <<<"$1"' _ "$out"
msg proxy routes add --routes "$T/init.db" --region lhr --address 0:0:0:0:0:0:0:1 --port 7000 >/dev/null
out=$(msg proxy routes add --routes "$T/init.db" --region lhr --address ::1 --port 7000)
check "the same address spelled twice is one route: a duplicate, said plainly, exit 1 ($out)" bash -c 'grep -q "already in the table" <<<"$1" && ! grep -q UNIQUE <<<"$1" && grep -q "rc=1" <<<"$1"' _ "$out"
check "the address is stored in one spelling (::1)" bash -c '"$1" proxy routes list --routes "$2" | grep -q " ::1 "' _ "$EB" "$T/init.db"
out=$(msg proxy --listen 127.0.0.1:1 --routes "$T" --geoip-csv "$T/geo.csv")
check "--routes on a directory says so ($out)" bash -c 'grep -q "is a directory; --routes takes the SQLite file" <<<"$1" && grep -q "rc=1" <<<"$1"' _ "$out"
out=$(msg proxy --listen 127.0.0.1:1 --routes "$DB" --geoip-csv "$T/geo.csv" --admin nope)
check "--admin nope: exit 2 with an example ($out)" bash -c 'grep -q "e.g. 127.0.0.1:9100" <<<"$1" && grep -q "rc=2" <<<"$1"' _ "$out"
out=$(msg proxy --listen 127.0.0.1:1 --routes-pg 'not a url hunter2' --geoip-csv "$T/geo.csv")
check "--routes-pg that does not parse: exit 2, the value never echoed ($out)" bash -c 'grep -q "is not a libpq URI" <<<"$1" && ! grep -q hunter2 <<<"$1" && grep -q "rc=2" <<<"$1"' _ "$out"
out=$(msg proxy --listen 127.0.0.1:1 --routes "$DB" --geoip-csv "$T/geo.csv" --rtt-from "$T/nosuch.json")
check "--rtt-from missing: names it and what to give ($out)" bash -c 'grep -q "rtt-from .*nosuch.json.: No such file" <<<"$1" && grep -q "results.json" <<<"$1" && grep -q "rc=1" <<<"$1"' _ "$out"
out=$(msg proxy --listen 127.0.0.1:1 --routes "$DB" --geoip-csv "$T/geo.csv" --rtt-from "$T/geo.csv")
check "--rtt-from not JSON: says so ($out)" bash -c 'grep -q "is not JSON" <<<"$1" && grep -q "rc=1" <<<"$1"' _ "$out"
out=$(msg proxy routes list --routes "$T/missing.db")
check "a missing table hints routes init then routes add ($out)" bash -c 'grep -q "routes init --routes" <<<"$1" && grep -q "then add backends with .edgebench proxy routes add" <<<"$1"' _ "$out"
# each bad input named, with what to give instead
out=$(msg proxy --listen 127.0.0.1:19801x --routes "$DB" --geoip-csv "$T/geo.csv")
check "--listen with trailing junk in the port: exit 2 ($out)" bash -c 'grep -q "port from 1 to 65535" <<<"$1" && grep -q "rc=2" <<<"$1"' _ "$out"
out=$(msg proxy --listen 127.0.0.1:1 --routes "$DB" --geoip-csv "$T/geo.csv" --accept-proxy-from 10.0.0.1/8)
check "--accept-proxy-from with host bits set: exit 2, both readings offered ($out)" bash -c 'grep -q "host bits set.*10.0.0.0/8.*10.0.0.1" <<<"$1" && grep -q "rc=2" <<<"$1"' _ "$out"
out=$(msg proxy --listen 127.0.0.1:1 --routes "$DB" --geoip-csv "$T")
check "--geoip-csv on a directory says so ($out)" bash -c 'grep -q "is a directory" <<<"$1" && grep -q "rc=1" <<<"$1"' _ "$out"
: >"$T/empty.csv"
out=$(msg proxy --listen 127.0.0.1:1 --routes "$DB" --geoip-csv "$T/empty.csv")
check "--geoip-csv with no networks says so ($out)" bash -c 'grep -q "has no networks" <<<"$1" && grep -q "rc=1" <<<"$1"' _ "$out"
printf '127.1.0.0/16,ZZ\n' >"$T/zz.csv"
out=$(msg proxy --listen 127.0.0.1:1 --routes "$DB" --geoip-csv "$T/zz.csv")
check "a country code that is not ISO 3166 is named with its line ($out)" bash -c 'grep -q "line 1: .ZZ. is not an ISO 3166 country code" <<<"$1" && grep -q "rc=1" <<<"$1"' _ "$out"
out=$(msg proxy --listen 127.0.0.1:1 --routes "$DB" --geoip "$T/geo.csv")
check "a CSV given to --geoip points to --geoip-csv ($out)" bash -c 'grep -q -- "use --geoip-csv" <<<"$1" && grep -q "rc=1" <<<"$1"' _ "$out"
out=$(msg proxy routes remove --routes "$T/init.db" --id 1 --address ::1 --port 7000)
check "routes remove with --id and --address: not both, exit 2 ($out)" bash -c 'grep -q "not both" <<<"$1" && grep -q "rc=2" <<<"$1"' _ "$out"
out=$(msg proxy routes disable --routes "$T/init.db" --id 0)
check "routes disable --id 0: not a route id, exit 2 ($out)" bash -c 'grep -q "is not a route id" <<<"$1" && grep -q "rc=2" <<<"$1"' _ "$out"
out=$(msg proxy routes disable --routes "$T/init.db" --id 1)
check "routes disable says what it did ($out)" bash -c 'grep -q "route 1 disabled" <<<"$1" && grep -q "rc=0" <<<"$1"' _ "$out"
out=$(msg proxy routes add --routes "$T" --region lhr --address 127.0.0.1 --port 1)
check "routes add --routes on a directory says so ($out)" bash -c 'grep -q "is a directory; --routes takes the SQLite file" <<<"$1" && grep -q "rc=1" <<<"$1"' _ "$out"
head -c 3000 /dev/urandom >"$T/junk.db"
out=$(msg proxy --listen 127.0.0.1:1 --routes "$T/junk.db" --geoip-csv "$T/geo.csv")
check "a file that is not a routing table: not advised to run routes init on it ($out)" bash -c 'grep -q "not usable" <<<"$1" && grep -q "move it aside" <<<"$1" && ! grep -q "create it with" <<<"$1" && grep -q "rc=1" <<<"$1"' _ "$out"
out=$(msg proxy --listen 127.0.0.1:1 --routes "$DB" --geoip-csv "$T/geo.csv" --affinity-ttl 99999999999999999999)
check "a duration past a year is refused, not overflowed ($out)" bash -c 'grep -q "longer than a year" <<<"$1" && grep -q "rc=2" <<<"$1"' _ "$out"
printf '127.1.0.0/16,GB\n127.1.0.0/16,FR\n' >"$T/dup.csv"
out=$(msg proxy --listen 127.0.0.1:1 --routes "$DB" --geoip-csv "$T/dup.csv")
check "the same network twice in the geo CSV: both lines named ($out)" bash -c 'grep -q "line 2: the network of line 1 again (GB there, FR here)" <<<"$1" && grep -q "rc=1" <<<"$1"' _ "$out"
out=$(msg proxy --listen 127.0.0.1:1 --routes "$DB" --geoip-csv "$T/geo.csv" --app '')
check "--app '' is refused ($out)" bash -c 'grep -q "is empty" <<<"$1" && grep -q "rc=2" <<<"$1"' _ "$out"
