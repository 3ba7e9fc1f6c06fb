#!/usr/bin/env bash
# edgebench run --via through the real proxy: three real backends on a real
# PostgreSQL, `edgebench proxy` with a geo CSV in front of them. The collector
# connects from 127.0.0.1 (it has no flag to choose its source address), so
# each proxy maps 127.0.0.1 to one country: US must be answered by iad, AU by
# syd. The row is the region in the backend's response, never a guess.
. "$(dirname "$0")/../lib/harness.sh"
jqe() { jq -e "$@" >/dev/null; }
pg_start
psqlc -c "create database contacts" >/dev/null
export DB_HOST=127.0.0.1 DB_PORT=$PGPORT DB_USER=postgres DB_NAME=contacts
"$EB" db init >"$T/init.log" 2>&1 || die "db init: $(cat "$T/init.log")"

# each backend reaches the database through its own `edgebench wan` link
declare -A port dbport rtt=([lhr]=4 [iad]=20 [syd]=40)
: >"$T/links"
for r in lhr iad syd; do
  dbport[$r]=$(free_port)
  echo "--listen 127.0.0.1:${dbport[$r]} --to 127.0.0.1:$PGPORT --rtt ${rtt[$r]}ms" >>"$T/links"
done
spawn "$EB" wan --links "$T/links" >"$T/wan.out" 2>"$T/wan.err"
for _ in $(seq 200); do grep -q '^ready: ' "$T/wan.out" && break; sleep 0.05; done
grep -q '^ready: 3 links' "$T/wan.out" || die "wan did not start: $(cat "$T/wan.err")"
for r in lhr iad syd; do
  port[$r]=$(free_port)
  FLY_REGION=$r PORT=${port[$r]} DB_PORT=${dbport[$r]} spawn "$EB" backend --listen 127.0.0.1 \
    >"$T/b-$r.log" 2>&1
done
for r in lhr iad syd; do
  wait_http "http://127.0.0.1:${port[$r]}/api/info" || die "backend $r did not start: $(tail -n 3 "$T/b-$r.log")"
  "$EB" proxy routes add --routes "$T/routing.db" --region $r --address 127.0.0.1 \
    --port "${port[$r]}" >/dev/null || die "routes add $r"
done

# start_proxy COUNTRY: a proxy whose geo CSV puts 127.0.0.1 in COUNTRY; sets PP
start_proxy() {
  printf 'cidr,country\n127.0.0.1/32,%s\n' "$1" >"$T/geo-$1.csv"
  PP=$(free_port)
  spawn "$EB" proxy --listen 127.0.0.1:"$PP" --routes "$T/routing.db" --geoip-csv "$T/geo-$1.csv" \
    --pop lhr --health http:/api/rds/health --affinity-ttl 0 >"$T/access-$1.log" 2>"$T/proxy-$1.err"
  local i
  for i in $(seq 100); do grep -q "listening on" "$T/proxy-$1.err" && return 0; sleep 0.1; done
  die "proxy ($1) did not start: $(cat "$T/proxy-$1.err")"
}

for pair in US:iad:Virginia AU:syd:Sydney; do
  IFS=: read -r cc want city <<<"$pair"
  start_proxy "$cc"
  "$EB" run --via "http://127.0.0.1:$PP" --iterations 3 --columns rtt,rt --out "$T/r-$cc" \
    >"$T/out-$cc" 2>"$T/err-$cc"; rc=$?
  J=$T/r-$cc/results.json
  check "$cc: run --via exits 0 ($rc)" [ "$rc" -eq 0 ]
  [ "$rc" -eq 0 ] || cat "$T/err-$cc"
  cat "$T/out-$cc"
  check "$cc: one row, the answering region $want ($city), ranked 1 in bold" \
    bash -c "[ \$(grep -Ec '^\| ' '$T/out-$cc') -eq 2 ] &&
             grep -Eq '^\| [^|]* \| $want \| $city \| \*\*[0-9]+\.[0-9]{2}\*\* \| \*\*[0-9]+\.[0-9]{2}\*\* \| [0-9]+\.[0-9]{2} \| [0-9]+\.[0-9]{2} \| [0-9]+\.[0-9]{2} \| 1 \|$' '$T/out-$cc'"
  # between VALUE LOW HIGH (loose: the machine is loaded)
  read -r ins rd rmin irt rrt < <(jq -r '.regions[0] | "\(.insert_avg_ms) \(.read_avg_ms) \(.rtt_min_ms) \(.insert_round_trips_min) \(.read_round_trips_min)"' "$J")
  lo=${rtt[$want]} hi=$((rtt[$want] * 2 + 15))
  check "$cc: $want's latencies follow its ${rtt[$want]} ms link (insert $ins, read $rd, rtt min $rmin)" \
    bash -c "[ \$(echo '$ins >= $lo && $ins <= $hi && $rd >= $lo && $rd <= $hi && $rmin >= $lo' | bc -l) = 1 ]"
  check "$cc: one round trip per insert and per read in the table's min/min ($irt, $rrt)" \
    bash -c "[ \$(echo '$irt >= 0.8 && $irt <= 1.5 && $rrt >= 0.8 && $rrt <= 1.5' | bc -l) = 1 ]"
  check "$cc: footer counts 1 of 1 answered" grep -q '1 of 1 regions answered; 3 iterations' "$T/out-$cc"
  check "$cc: results.json region and answered_by come from the response ($want)" \
    jqe --arg w "$want" '.regions | length == 1 and .[0].region == $w and .[0].answered_by == $w
      and .[0].response.region == $w and .[0].status == "ok" and .[0].insert_samples == 3' "$J"
  check "$cc: the recorded URL is the proxy, via recorded in options" \
    jqe --arg u "http://127.0.0.1:$PP" '.options.via == $u and (.regions[0].url | startswith($u))' "$J"
  check "$cc: the proxy routed 127.0.0.1 as $cc to $want" \
    wait_line "$T/access-$cc.log" "country=$cc backend=$want/127.0.0.1:${port[$want]}" 50
  "$EB" report "$J" | cmp -s - "$T/out-$cc"
  check "$cc: report re-renders the table byte for byte" [ $? -eq 0 ]
done

# With a target, the request still goes through the proxy; another region
# answering is recorded and said under the table.
"$EB" run --via "http://127.0.0.1:$PP" --target lhr=http://unused.invalid:1 --iterations 2 \
  --out "$T/r-t" >"$T/out-t" 2>"$T/err-t"; rc=$?
check "target through the proxy: exit 0 ($rc)" [ "$rc" -eq 0 ]
check "target through the proxy: answered_by syd recorded" \
  jqe '.regions[0].region == "lhr" and .regions[0].answered_by == "syd"' "$T/r-t/results.json"
check "target through the proxy: the note names the answering region" \
  grep -q '^- lhr: answered by region syd' "$T/out-t"
