#!/usr/bin/env bash
# Fan-out: `edgebench run` over 10 regions whose backends answer in very
# different times, against (a) the slowest single target asked alone and
# (b) a sequential curl loop over the same targets (the seed's section 5.3).
# Target: run's wall time at most 1.15 x the slowest single target.
#
# World: when this edgebench has `backend` (contract 1), a real PostgreSQL and
# one real backend per region, each reaching the database through an
# `edgebench wan` link with the seed's measured RTT for that region. Without
# `backend`, stand-in backends (tests/lib/standin_backend.py) answer behind WAN
# links with the same RTTs and take iterations x 3 x RTT to answer, as a
# backend would. The mode used is printed.
# usage: EB_BIN=path/to/edgebench bench/collector_fanout.sh [ITERATIONS]
set -u
here=$(cd "$(dirname "$0")" && pwd)
export EB_BIN=${EB_BIN:?set EB_BIN to the edgebench binary} EB_SRC=${EB_SRC:-$(dirname "$here")}
. "$EB_SRC/tests/lib/harness.sh"
ITER=${1:-3}
# The seed's published read latencies (one round trip each) as RTTs.
RTTS="lhr:11.89 cdg:18.48 fra:26.69 iad:86.10 ord:121.68 lax:138.19 sin:165.96 gru:197.72 nrt:261.36 syd:268.85"
wait_port() { local i; for i in $(seq 100); do (echo >/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }

links=$T/links
: >"$links"
declare -A url
if "$EB" backend --help >/dev/null 2>&1; then
  world="real PostgreSQL + real backends, each behind an edgebench wan link to the database"
  pg_start
  psqlc -c "create database contacts" >/dev/null
  for rr in $RTTS; do
    r=${rr%%:*}; rtt=${rr#*:}
    lp=$(free_port); bp=$(free_port)
    echo "--listen 127.0.0.1:$lp --to 127.0.0.1:$PGPORT --rtt ${rtt}ms --name $r" >>"$links"
    eval "lport_$r=$lp bport_$r=$bp"
  done
  spawn "$EB" wan --links "$links" --quiet >/dev/null
  sleep 0.5
  DB_HOST=127.0.0.1 DB_PORT=$PGPORT DB_USER=postgres DB_NAME=contacts "$EB" db init >/dev/null 2>&1 || die "db init"
  for rr in $RTTS; do
    r=${rr%%:*}; eval "lp=\$lport_$r bp=\$bport_$r"
    FLY_REGION=$r PORT=$bp DB_HOST=127.0.0.1 DB_PORT=$lp DB_USER=postgres DB_NAME=contacts \
      spawn "$EB" backend >"$T/b-$r.log" 2>&1
    url[$r]=http://127.0.0.1:$bp
  done
  for rr in $RTTS; do r=${rr%%:*}; wait_http "${url[$r]}/api/info" 200 || die "backend $r"; done
else
  world="stand-in backends (no 'edgebench backend' in this build) behind edgebench wan links; each answers in (iterations+1) x 3 x RTT"
  for rr in $RTTS; do
    r=${rr%%:*}; rtt=${rr#*:}
    sp=$(free_port); lp=$(free_port)
    delay=$(echo "($ITER + 1) * 3 * $rtt / 1000" | bc -l)
    spawn python3 "$EB_SRC/tests/lib/standin_backend.py" "$sp" "$r" ok "$delay"
    echo "--listen 127.0.0.1:$lp --to 127.0.0.1:$sp --rtt ${rtt}ms --name $r" >>"$links"
    url[$r]=http://127.0.0.1:$lp
    wait_port "$sp" || die "standin $r"
  done
  spawn "$EB" wan --links "$links" --quiet >/dev/null
  sleep 0.5
fi
echo "world: $world"
args=()
for rr in $RTTS; do r=${rr%%:*}; args+=(--target "$r=${url[$r]}"); done
now() { date +%s.%N; }

# warm every backend once (connections to the database, page cache)
"$EB" run "${args[@]}" --iterations 1 --quiet >/dev/null 2>&1

# (b) the seed's way: one curl after the other
slowest=0 slowest_r= seq_start=$(now)
for rr in $RTTS; do
  r=${rr%%:*}
  s=$(now)
  curl -s --connect-timeout 10 -X POST "${url[$r]}/api/rds/benchmark?iterations=$ITER" >/dev/null
  d=$(echo "$(now) - $s" | bc -l)
  if [ "$(echo "$d > $slowest" | bc -l)" = 1 ]; then slowest=$d; slowest_r=$r; fi
done
seq_wall=$(echo "$(now) - $seq_start" | bc -l)

# (a) the slowest target alone, through the collector
s=$(now)
"$EB" run --target "$slowest_r=${url[$slowest_r]}" --iterations "$ITER" --quiet >/dev/null
alone=$(echo "$(now) - $s" | bc -l)

# the fan-out
s=$(now)
"$EB" run "${args[@]}" --iterations "$ITER" --quiet --out "$T/out" >"$T/table"; rc=$?
fan=$(echo "$(now) - $s" | bc -l)
cat "$T/table"
base=$(echo "if ($alone > $slowest) $alone else $slowest" | bc -l)
printf '\nregions: 10, iterations: %s, exit %s\n' "$ITER" "$rc"
printf 'sequential curl loop (seed): %7.3f s (slowest single target %s: %.3f s)\n' "$seq_wall" "$slowest_r" "$slowest"
printf 'slowest target alone via run: %6.3f s\n' "$alone"
printf 'edgebench run, 10 at once:  %7.3f s\n' "$fan"
printf 'ratio run / slowest single target: %.3f (target <= 1.15)\n' "$(echo "$fan / $base" | bc -l)"
printf 'ratio sequential loop / run:       %.2f x\n' "$(echo "$seq_wall / $fan" | bc -l)"
