#!/usr/bin/env bash
# edgebench netlab with the files `edgebench overlay render` writes (mesh
# topology, the real hub/nat.sh) and the spokes' WireGuard UDP crossing
# `edgebench wan` links: handshakes, the DNAT path, the emulated RTT through
# the tunnel, a 1 MB result, and a clean teardown.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/netlab.sh"

netlab_require
export EDGEBENCH_STATE_DIR=$T/state

free_underlay 10.252
DBADDR=$B.2
PGPORT=$(free_port)

"$EB" overlay init --hub-endpoint "$B.254:51820" --db "$DBADDR:$PGPORT" --regions lhr,iad,syd \
  --topology mesh --dir "$T/plan" >"$T/init.out" 2>&1 || die "overlay init: $(cat "$T/init.out")"
"$EB" overlay render --dir "$T/plan" --out "$T/out" >"$T/render.out" 2>&1 || die "overlay render: $(cat "$T/render.out")"
O=$T/out

ids=()
snap() {
  local id
  iptables-save 2>/dev/null | grep '^-A' | sort
  for id in "${ids[@]}"; do
    ip netns list | grep "^eb$id-"
    ls /var/run/wireguard 2>/dev/null | grep "^ebw$id"
    ip -o link show type veth | grep "ebv$id"
  done
  ls "$EDGEBENCH_STATE_DIR" 2>/dev/null
}
s0=$(snap)

"$EB" netlab up --hub "$O/hub/wg0.conf" --nat "$O/hub/nat.sh" --spoke lhr="$O/spokes/lhr.conf" \
  --spoke iad="$O/spokes/iad.conf" --spoke syd="$O/spokes/syd.conf" --rtt lhr=20ms --rtt syd=60ms \
  --underlay "$underlay" --workdir "$T" >"$T/up" 2>"$T/up.err" &
LAB=$!
_pids+=("$LAB")
for _ in $(seq 1 400); do grep -q '^ready' "$T/up" && break; kill -0 $LAB 2>/dev/null || break; sleep 0.1; done
grep -q '^ready' "$T/up" || { cat "$T/up" "$T/up.err"; die "the lab did not come up"; }
id=$(awk '/^hub-namespace/{sub(/^eb/,"",$2); sub(/-hub$/,"",$2); print $2}' "$T/up")
ids+=("$id")
for r in lhr iad syd; do
  check "handshake with the hub for $r (mesh)" grep -Eq "^handshake $r +ebw${id}r[0-9] +<-> hub +[0-9]+ s ago" "$T/up"
done
check "the WAN links are up" grep -q "ready: 2 links" "$T/wan.log"

PGDIR=$T/pg
mkdir -p "$PGDIR"
chown postgres "$PGDIR"
as_pg "$PGBIN/initdb" -D "$PGDIR/data" -A trust -U postgres >"$PGDIR/initdb.log" 2>&1 || die "initdb failed"
echo "host all all $B.1/32 trust" >>"$PGDIR/data/pg_hba.conf"
as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/log" -w -t 30 \
  -o "-p $PGPORT -k $PGDIR -c listen_addresses=127.0.0.1,$DBADDR -c fsync=off" start >/dev/null ||
  die "PostgreSQL did not start: $(tail -n 5 "$PGDIR/log")"
on_exit "as_pg $PGBIN/pg_ctl -D $PGDIR/data -m immediate stop"

# Median of 7 `SELECT 1` round trips (ms) from a region, through its tunnel.
rtt_of() {
  ip netns exec "eb$id-$1" psql -h 10.50.0.1 -U postgres -AtX -c '\timing on' \
    -c 'select 1' -c 'select 1' -c 'select 1' -c 'select 1' -c 'select 1' -c 'select 1' \
    -c 'select 1' -c 'select 1' | awk '/^Time:/{print $2}' | tail -n 7 | sort -n | sed -n 4p
}
lhr=$(rtt_of lhr)
syd=$(rtt_of syd)
iad=$(rtt_of iad)
echo "round trips through the tunnel: lhr ${lhr} ms (20 configured), syd ${syd} ms (60), iad ${iad} ms (none)"
check "lhr's round trip pays its 20 ms" awk -v v="$lhr" 'BEGIN{exit !(v >= 19.5 && v < 45)}'
check "syd's round trip pays its 60 ms" awk -v v="$syd" 'BEGIN{exit !(v >= 59.5 && v < 90)}'
check "iad without a WAN link is fast" awk -v v="$iad" 'BEGIN{exit !(v < 15)}'
want=$(head -c 1048576 /dev/zero | tr '\0' y | md5sum | cut -d' ' -f1)
got=$(ip netns exec "eb$id-syd" psql -h 10.50.0.1 -U postgres -AtX -c "SELECT repeat('y', 1048576)" | tr -d '\n' | md5sum | cut -d' ' -f1)
check "a 1 MB result crosses a delayed tunnel intact" [ "$got" = "$want" ]
check "the rendered nat.sh clamps the MSS in the hub" \
  bash -c "ip netns exec eb$id-hub iptables-save -t mangle | grep -q 'TCPMSS --clamp-mss-to-pmtu'"
got=$(ip netns exec "eb$id-hub" timeout 5 bash -c 'exec 3<>/dev/tcp/10.50.3.1/9' 2>&1)
check "the hub reaches lhr's overlay address (refused by lhr, not lost: $got)" grep -q refused <<<"$got"

kill -INT $LAB
for _ in $(seq 1 150); do kill -0 $LAB 2>/dev/null || break; sleep 0.1; done
wait $LAB
check "netlab exits 0 after SIGINT" [ $? -eq 0 ]
check "nat.sh down ran" grep -q "rules removed" "$T/nat-down.log"
settled=no
for _ in $(seq 1 50); do [ "$(snap)" = "$s0" ] && { settled=yes; break; }; sleep 0.1; done
check "nothing left behind" [ $settled = yes ]
check "no sanitizer report" bash -c "! grep -q Sanitizer $T/up.err"
