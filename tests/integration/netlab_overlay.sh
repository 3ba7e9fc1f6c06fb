#!/usr/bin/env bash
# edgebench netlab: three regions and a hub in network namespaces, wireguard-go
# configured from hand-made wg-quick files (keys from `wg genkey`), the hub's
# nat.sh DNAT to a real PostgreSQL on the host side of the hub's link; the
# DNAT path, a 1 MB result through the tunnel, and nothing left behind after a
# normal stop, SIGINT during set-up, a dead wireguard-go and a SIGKILLed run
# (then `netlab cleanup`).
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/netlab.sh"

netlab_require
export EDGEBENCH_STATE_DIR=$T/state

free_underlay 10.253
DBADDR=$B.2
PGPORT=$(free_port)

W=$T/w
mkdir -p "$W"
chmod 700 "$W"
umask 077
for n in hub lhr iad syd; do wg genkey >"$W/$n.key"; wg pubkey <"$W/$n.key" >"$W/$n.pub"; done
{
  echo "[Interface]"
  echo "Address = 10.50.0.1/16"
  echo "ListenPort = 51820"
  echo "PrivateKey = $(cat "$W/hub.key")"
  echo "MTU = 1420"
} >"$W/hub.conf"
i=1
for n in lhr iad syd; do
  printf '\n[Peer]\nPublicKey = %s\nAllowedIPs = 10.50.3.%d/32\n' "$(cat "$W/$n.pub")" $i >>"$W/hub.conf"
  cat >"$W/$n.conf" <<EOF
[Interface]
Address = 10.50.3.$i/32
PrivateKey = $(cat "$W/$n.key")
MTU = 1420

[Peer]
PublicKey = $(cat "$W/hub.pub")
Endpoint = $B.254:51820
AllowedIPs = 10.50.0.0/16
PersistentKeepalive = 25
EOF
  i=$((i + 1))
done
# The seed's hub recipe: DNAT 10.50.0.1:5432 to the database, MASQUERADE, MSS clamp.
cat >"$W/nat.sh" <<EOF
#!/bin/sh
set -eu
verb=\${1:-up}; out=\${2:-eth0}; wg=\${WG_IFACE:-wg0}
rules() {
  echo "nat PREROUTING -i \$wg -d 10.50.0.1 -p tcp --dport 5432 -j DNAT --to-destination $DBADDR:$PGPORT"
  echo "nat POSTROUTING -o \$out -j MASQUERADE"
  echo "mangle FORWARD -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu"
}
if [ "\$verb" = up ]; then
  sysctl -qw net.ipv4.ip_forward=1
  rules | while read -r t c r; do iptables -w -t \$t -C \$c \$r 2>/dev/null || iptables -w -t \$t -A \$c \$r; done
else
  rules | while read -r t c r; do iptables -w -t \$t -D \$c \$r 2>/dev/null || true; done
fi
EOF
chmod 755 "$W/nat.sh"
umask 022

# What this test's labs may leave, filtered to lab ids this test started.
ids=()
snap() {
  local id
  iptables-save 2>/dev/null | grep '^-A' | sort
  for id in "${ids[@]}"; do
    ip netns list | grep "^eb$id-"
    pgrep -x wireguard-go | while read -r p; do grep -l "ebw$id" /proc/"$p"/cmdline 2>/dev/null; done
    ls /var/run/wireguard 2>/dev/null | grep "^ebw$id"
    ip -o link show type veth | grep "ebv$id"
  done
  ls "$EDGEBENCH_STATE_DIR" 2>/dev/null | grep -v lock
}
s0=$(snap)

# up_bg OUTFILE [extra args]: start a lab in the background; sets LAB_PID.
up_bg() {
  local out=$1
  shift
  "$EB" netlab up --hub "$W/hub.conf" --nat "$W/nat.sh" --spoke lhr="$W/lhr.conf" \
    --spoke iad="$W/iad.conf" --spoke syd="$W/syd.conf" --underlay "$underlay" "$@" \
    >"$out" 2>"$out.err" &
  LAB_PID=$!
  _pids+=("$LAB_PID")
}
wait_lab_line() { # FILE WORD [tries of 0.1 s]: a line starting with WORD, while the lab lives
  local i
  for ((i = 0; i < ${3:-300}; i++)); do
    grep -q "^$2" "$1" 2>/dev/null && return 0
    kill -0 "$LAB_PID" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
wait_gone() {
  local i
  for ((i = 0; i < 150; i++)); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  wait "$1" 2>/dev/null
}
lab_id() { awk '/^hub-namespace/{sub(/^eb/,"",$2); sub(/-hub$/,"",$2); print $2}' "$1"; }
# The set-up is checked against a quiescent snapshot of our own resources.
settle() { local i; for ((i = 0; i < 50; i++)); do [ "$(snap)" = "$s0" ] && return 0; sleep 0.1; done; return 1; }

# ---- a normal run ---------------------------------------------------------
up_bg "$T/up1"
wait_lab_line "$T/up1" ready 400 || { cat "$T/up1" "$T/up1.err"; die "the lab did not come up"; }
id=$(lab_id "$T/up1")
ids+=("$id")
for r in lhr iad syd; do
  check "handshake reported for $r" grep -Eq "^handshake $r +ebw${id}r[0-9] +<-> hub +[0-9]+ s ago" "$T/up1"
done
check "hub reports 3 of 3 peers" grep -q "3 of 3 peers" "$T/up1"
check "interface names are unique per lab (ebw<id>...)" test -S /var/run/wireguard/ebw${id}h.sock
check "state file lists what was created" grep -q "^ns eb$id-hub" "$EDGEBENCH_STATE_DIR/eb$id.state"

# PostgreSQL on the host side of the hub's link (reachable from the hub only).
PGDIR=$T/pg
mkdir -p "$PGDIR"
chown postgres "$PGDIR"
as_pg "$PGBIN/initdb" -D "$PGDIR/data" -A trust -U postgres >"$PGDIR/initdb.log" 2>&1 || die "initdb failed"
echo "host all all $underlay trust" >>"$PGDIR/data/pg_hba.conf"
as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/log" -w -t 30 \
  -o "-p $PGPORT -k $PGDIR -c listen_addresses=127.0.0.1,$DBADDR -c fsync=off" start >/dev/null ||
  die "PostgreSQL did not start: $(tail -n 5 "$PGDIR/log")"
on_exit "as_pg $PGBIN/pg_ctl -D $PGDIR/data -m immediate stop"
psqlc -c "CREATE TABLE t (region text, at timestamptz default now())" >/dev/null

in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
for r in lhr iad syd; do
  got=$(in_ns "eb$id-$r" psql -h 10.50.0.1 -p 5432 -U postgres -AtX -c "INSERT INTO t(region) VALUES ('$r') RETURNING inet_client_addr()" 2>&1 | head -n1)
  check "$r reaches PostgreSQL at 10.50.0.1:5432 through the hub's DNAT (client $got)" [ "$got" = "$B.1" ]
done
check "rows from every region landed in the real database" [ "$(psqlc -c 'SELECT count(DISTINCT region) FROM t')" = 3 ]
want=$(head -c 1048576 /dev/zero | tr '\0' x | md5sum | cut -d' ' -f1)
got=$(in_ns "eb$id-syd" psql -h 10.50.0.1 -U postgres -AtX -c "SELECT repeat('x', 1048576)" | tr -d '\n' | md5sum | cut -d' ' -f1)
check "a 1 MB result crosses the tunnel intact" [ "$got" = "$want" ]
check "a spoke cannot reach PostgreSQL over the underlay" \
  bash -c "! ip netns exec eb$id-lhr psql -h $DBADDR -p $PGPORT -U postgres -c 'select 1' >/dev/null 2>&1"
check "the hub's nat.sh rules are in the hub's namespace" \
  bash -c "ip netns exec eb$id-hub iptables-save | grep -q 'DNAT --to-destination $DBADDR:$PGPORT'"
check "the host's iptables are untouched" [ "$(iptables-save 2>/dev/null | grep '^-A' | sort)" = "$(echo "$s0" | grep '^-A')" ]

kill -INT "$LAB_PID"
wait_gone "$LAB_PID"
check "nothing left after a normal stop" settle

# ---- SIGINT while it is being set up -------------------------------------
up_bg "$T/up2"
wait_lab_line "$T/up2" hub-namespace 100
ids+=("$(lab_id "$T/up2")")
sleep 0.4
kill -INT "$LAB_PID"
wait_gone "$LAB_PID"
check "nothing left after SIGINT during set-up" settle

# ---- a wireguard-go that dies takes the lab down --------------------------
up_bg "$T/up3"
wait_lab_line "$T/up3" ready 400 || die "the lab did not come up (3)"
id=$(lab_id "$T/up3")
ids+=("$id")
kill -KILL $(ip netns pids "eb$id-iad")
wait_gone "$LAB_PID"
check "a dead wireguard-go is reported" grep -q "wireguard-go ebw${id}r1 (iad) exited" "$T/up3.err"
check "nothing left after a component died" settle

# ---- a lab killed with SIGKILL, then `netlab cleanup` ---------------------
up_bg "$T/up4"
wait_lab_line "$T/up4" ready 400 || die "the lab did not come up (4)"
id=$(lab_id "$T/up4")
ids+=("$id")
kill -KILL "$LAB_PID"
wait "$LAB_PID" 2>/dev/null
check "a killed lab leaves its namespaces (before cleanup)" bash -c "ip netns list | grep -q '^eb$id-hub'"
"$EB" netlab cleanup >"$T/cleanup.out" 2>&1
check "cleanup names what it removed" grep -q "deleted namespace eb$id-hub" "$T/cleanup.out"
check "nothing left after netlab cleanup" settle
check "no sanitizer report from any run" bash -c "! grep -l Sanitizer $T/up*.err $T/cleanup.out"
