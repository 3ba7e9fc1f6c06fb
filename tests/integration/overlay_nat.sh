#!/usr/bin/env bash
# The rendered hub/nat.sh in network namespaces: `up` twice adds nothing
# twice, `down` leaves iptables-save exactly as before, the database may be a
# name resolved when it runs, and a client on the overlay side really reaches
# the database through the DNAT + MASQUERADE path.
#   client ns (10.50.1.1/16) --veth-- hub ns (10.50.0.1 on OV; 192.0.2.1 on OUT) --veth-- db ns (192.0.2.10)
# The overlay interface is a veth here (nat.sh only needs its name).
. "$(dirname "$0")/../lib/harness.sh"
if [ "$(id -u)" -ne 0 ] || ! command -v iptables >/dev/null; then
  echo "skip: needs root and iptables"; exit 77
fi
cd "$T" || die "no temp dir"
EDGEBENCH_TEST_KEY_SEED=nat "$EB" overlay init --hub-endpoint 203.0.113.10:51820 \
  --db db.example.internal:5432 --regions lhr --dir plan >/dev/null 2>&1 || die "init failed"
"$EB" overlay render --dir plan --out out >/dev/null || die "render failed"
NAT=$T/out/hub/nat.sh

id=$$
HUB=ebnh$id CLI=ebnc$id DB=ebnd$id
OV=ebov$id OUT=ebou$id
for ns in $HUB $CLI $DB; do
  ip netns add "$ns" || die "ip netns add $ns"
  on_exit "ip netns del $ns"
  ip -n "$ns" link set lo up
done
# ip netns exec bind-mounts /etc/netns/NS/hosts over /etc/hosts: the hub
# resolves the database's name there, as it would with DNS.
etc_netns_new=0; [ -d /etc/netns ] || etc_netns_new=1
mkdir -p "/etc/netns/$HUB" && on_exit "rm -rf /etc/netns/$HUB"
[ $etc_netns_new = 1 ] && on_exit "rmdir /etc/netns"
echo "192.0.2.10 db.example.internal" >"/etc/netns/$HUB/hosts"

ip link add "$OV" netns "$HUB" type veth peer name c0 netns "$CLI" || die "veth"
ip link add "$OUT" netns "$HUB" type veth peer name d0 netns "$DB" || die "veth"
ip -n "$HUB" addr add 10.50.0.1/16 dev "$OV"; ip -n "$HUB" link set "$OV" up
ip -n "$HUB" addr add 192.0.2.1/24 dev "$OUT"; ip -n "$HUB" link set "$OUT" up
ip -n "$CLI" addr add 10.50.1.1/16 dev c0; ip -n "$CLI" link set c0 up
ip -n "$DB" addr add 192.0.2.10/24 dev d0; ip -n "$DB" link set d0 up
# The database side has no route back to the overlay: only MASQUERADE makes replies return.

hubx() { ip netns exec "$HUB" env WG_IFACE="$OV" NAT_STATE_DIR="$T/state" "$@"; }
save() { ip netns exec "$HUB" iptables-save | grep -v '^#' | sed 's/\[[0-9]*:[0-9]*\]//'; }

# Rules that were there before must stay untouched.
ip netns exec "$HUB" iptables -A FORWARD -i "$OUT" -p udp -j ACCEPT
ip netns exec "$HUB" iptables -t nat -A POSTROUTING -o lo -j RETURN
ip netns exec "$HUB" iptables -t mangle -A PREROUTING -p icmp -j RETURN
before=$(save)
fwd_before=$(ip netns exec "$HUB" cat /proc/sys/net/ipv4/ip_forward)

hubx "$NAT" up >up1.out 2>&1
check "nat.sh up exits 0 ($(cat up1.out))" [ $? -eq 0 ]
check "the outward interface is detected from the route" grep -q "via $OUT" up1.out
check "the database name is resolved at apply time" grep -q "192.0.2.10:5432" up1.out
once=$(save)
hubx "$NAT" up >up2.out 2>&1
check "nat.sh up again exits 0" [ $? -eq 0 ]
check "up twice adds nothing twice" [ "$once" = "$(save)" ]
check "DNAT of 10.50.0.1:5432 to the database" grep -Eq -- "-d 10.50.0.1/32 .*--dport 5432 -j DNAT --to-destination 192.0.2.10:5432" <<<"$once"
check "MASQUERADE toward the database" grep -q -- "-s 10.50.0.0/16 -d 192.0.2.10/32 -o $OUT -p tcp -m tcp --dport 5432 -j MASQUERADE" <<<"$once"
check "FORWARD accepts for the overlay interface" grep -q -- "-i $OV -o $OUT" <<<"$once"
check "MSS clamped to the path MTU" grep -q -- "--clamp-mss-to-pmtu" <<<"$once"
check "one jump per built-in chain" [ "$(grep -c -- "-j EB-$OV-" <<<"$once")" = 4 ]
check "ip_forward on" [ "$(ip netns exec "$HUB" cat /proc/sys/net/ipv4/ip_forward)" = 1 ]
hubx "$NAT" status >status.out 2>&1
check "status lists the DNAT rule" grep -q DNAT status.out

# Real traffic: client -> 10.50.0.1:5432 -> DNAT -> database, reply via MASQUERADE.
ip netns exec "$DB" python3 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("192.0.2.10", 5432)); s.listen(1); print("ready", flush=True)
c, a = s.accept(); c.sendall(("peer=%s\n" % a[0]).encode()); c.close()
' >db.out 2>&1 &
_pids+=($!)
for _ in $(seq 50); do grep -q ready db.out && break; sleep 0.1; done
reply=$(ip netns exec "$CLI" python3 -c '
import socket
s = socket.create_connection(("10.50.0.1", 5432), timeout=5); print(s.recv(100).decode().strip())
' 2>&1)
check "client reaches the database through the hub ($reply)" [ "$reply" = "peer=192.0.2.1" ]

# An explicit outward interface, and a database given by address in the environment.
hubx env NAT_DB_HOST=192.0.2.10 "$NAT" up "$OUT" >up3.out 2>&1
check "explicit OUT_IFACE argument" grep -q "via $OUT" up3.out
check "still nothing added twice" [ "$once" = "$(save)" ]

hubx "$NAT" down >down.out 2>&1
check "nat.sh down exits 0" [ $? -eq 0 ]
after=$(save)
check "iptables-save identical before up and after down" [ "$before" = "$after" ]
[ "$before" = "$after" ] || diff <(echo "$before") <(echo "$after")
check "ip_forward restored" [ "$(ip netns exec "$HUB" cat /proc/sys/net/ipv4/ip_forward)" = "$fwd_before" ]
hubx "$NAT" down >down2.out 2>&1
check "down twice is harmless" [ $? -eq 0 ] && [ "$before" = "$(save)" ]

# Errors: an unknown interface name and a name that does not resolve.
hubx "$NAT" up nosuchif0 >err1.out 2>&1
check "a missing outward interface is refused" [ $? -ne 0 ] && grep -q "does not exist" err1.out
hubx env NAT_DB_HOST=no-such-host.invalid NAT_RESOLVE_TRIES=1 "$NAT" up >err2.out 2>&1
check "an unresolvable database is refused" [ $? -ne 0 ] && grep -q "cannot resolve" err2.out
ip netns exec "$HUB" env WG_IFACE='bad name' "$NAT" up >err3.out 2>&1
check "a bad WG_IFACE is refused" [ $? -ne 0 ] && grep -q "not an interface name" err3.out
check "failed runs left nothing" [ "$before" = "$(save)" ]

# A fresh namespace with no table at all: after up and down, iptables-save is
# still empty (the tables up created are deleted again; needs nft).
FR=ebnf$id
ip netns add "$FR" && on_exit "ip netns del $FR"
ip -n "$FR" link set lo up
ip -n "$FR" link add f0 type veth peer name f1
ip -n "$FR" addr add 192.0.2.1/24 dev f0 && ip -n "$FR" link set f0 up && ip -n "$FR" link set f1 up
frx() { ip netns exec "$FR" env WG_IFACE=wgfresh NAT_DB_HOST=192.0.2.10 NAT_STATE_DIR="$T/state-fresh" "$@"; }
fsave() { ip netns exec "$FR" iptables-save | grep -v '^#' | sed 's/\[[0-9]*:[0-9]*\]//'; }
fbefore=$(fsave)
frx "$NAT" up >/dev/null 2>&1 && frx "$NAT" up >/dev/null 2>&1
check "fresh namespace: up twice works" [ $? -eq 0 ] && [ -n "$(fsave)" ]
frx "$NAT" down >/dev/null 2>&1
if command -v nft >/dev/null && iptables -V | grep -q nf_tables; then
  check "fresh namespace: iptables-save identical before and after" [ "$fbefore" = "$(fsave)" ]
else
  check "fresh namespace: no rule left" bash -c "! ip netns exec $FR iptables-save | grep -q -- '^-A'"
fi
check "state files removed" [ -z "$(ls -A "$T/state-fresh" 2>/dev/null)" ] && [ -z "$(ls -A "$T/state" 2>/dev/null)" ]
