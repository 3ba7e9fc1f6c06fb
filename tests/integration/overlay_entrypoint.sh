#!/usr/bin/env bash
# The rendered deploy/entrypoint.sh against a real hub: two network
# namespaces joined by a veth (the "internet"), a wireguard-go hub configured
# from the rendered hub/wg0.conf, and the entrypoint run in the spoke
# namespace with the key in WG_PRIVATE_KEY_LHR, as on Fly.io. It must bring
# the tunnel up with wireguard-go (no kernel module here), wait for the
# handshake and exec the backend (a stand-in that records what it got); fail
# loudly without a hub, or go on when WG_OPTIONAL=1. The hub also applies the
# rendered nat.sh toward a "database" in a third namespace, so the stand-in
# checks the whole seed path: spoke -> tunnel -> 10.50.0.1:5432 -> DNAT ->
# database, with 1 MB coming back through the tunnel (MTU and MSS clamp).
. "$(dirname "$0")/../lib/harness.sh"
if [ "$(id -u)" -ne 0 ] || [ ! -c /dev/net/tun ] || ! command -v wireguard-go >/dev/null; then
  echo "skip: needs root, /dev/net/tun and wireguard-go"; exit 77
fi
cd "$T" || die "no temp dir"
EDGEBENCH_TEST_KEY_SEED=entry "$EB" overlay init --hub-endpoint 192.0.2.1:51820 --db 192.0.2.50:5432 \
  --regions lhr,nrt --dir plan >/dev/null 2>&1 || die "init failed"
"$EB" overlay render --dir plan --out out >/dev/null || die "render failed"
EP=$T/out/deploy/entrypoint.sh

id=$$
HUB=ebeh$id SPK=ebes$id DBN=ebed$id HIF=ebeh$id SIF=ebes$id
# Deleting a namespace does not stop wireguard-go: delete its interfaces
# first (it exits then), and stop any survivor by its process id.
wg_cleanup() {
  local ns ifc pid
  for ns in $HUB $SPK; do
    for ifc in $HIF $SIF ${SIF}b ${SIF}c ${SIF}d ${SIF}e; do ip -n "$ns" link del "$ifc" 2>/dev/null; done
  done
  for ifc in $HIF $SIF ${SIF}b ${SIF}c ${SIF}d ${SIF}e; do
    for pid in $(pgrep -f "^wireguard-go $ifc\$"); do kill "$pid" 2>/dev/null; done
  done
  for ns in $HUB $SPK $DBN; do ip netns del "$ns" 2>/dev/null; done
}
on_exit wg_cleanup
for ns in $HUB $SPK $DBN; do
  ip netns add "$ns" || die "ip netns add $ns"
  ip -n "$ns" link set lo up
done
ip link add u0 netns "$HUB" type veth peer name u1 netns "$SPK" || die "veth"
ip -n "$HUB" addr add 192.0.2.1/24 dev u0 && ip -n "$HUB" link set u0 up
ip -n "$SPK" addr add 192.0.2.2/24 dev u1 && ip -n "$SPK" link set u1 up
ip link add v0 netns "$HUB" type veth peer name v1 netns "$DBN" || die "veth"
ip -n "$HUB" addr add 198.51.100.1/24 dev v0 && ip -n "$HUB" link set v0 up
ip -n "$DBN" addr add 198.51.100.10/24 dev v1 && ip -n "$DBN" link set v1 up

# The "database": sends 1 MB and the address it saw to every client.
ip netns exec "$DBN" python3 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("198.51.100.10", 5432)); s.listen(8); print("ready", flush=True)
while True:
    c, a = s.accept()
    try: c.sendall(("peer=%s\n" % a[0]).encode() + b"x" * 1048576)
    except OSError: pass
    c.close()
' >db.out 2>&1 &
_pids+=($!)
for _ in $(seq 50); do grep -q ready db.out && break; sleep 0.1; done

# The hub, as wg-quick would set it up from the rendered wg0.conf.
cp out/hub/wg0.conf "$T/$HIF.conf"
ip netns exec "$HUB" env WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 wireguard-go "$HIF" >/dev/null 2>&1 \
  || die "wireguard-go $HIF"
ip netns exec "$HUB" wg setconf "$HIF" <(wg-quick strip "$T/$HIF.conf" 2>/dev/null) || die "hub setconf"
ip -n "$HUB" addr add 10.50.0.1/16 dev "$HIF" && ip -n "$HUB" link set "$HIF" mtu 1420 up
ip netns exec "$HUB" env WG_IFACE="$HIF" NAT_DB_HOST=198.51.100.10 NAT_STATE_DIR="$T/state" \
  out/hub/nat.sh up >nat.out 2>&1 || die "nat.sh up: $(cat nat.out)"

cat >backend <<'F'
#!/usr/bin/env bash
{ echo "args: $*"; echo "key vars: $(env | grep -c '^WG_PRIVATE_KEY')"
  echo "handshakes: $(wg show "$WG_IFACE" latest-handshakes | awk '$2 > 0' | wc -l)"
  echo "address: $(ip -4 -o addr show dev "$WG_IFACE" 2>/dev/null | awk '{print $4}')"
  echo "mtu: $(cat /sys/class/net/"$WG_IFACE"/mtu 2>/dev/null)"
  echo "db: $(timeout 10 python3 -c '
import socket
s = socket.create_connection(("10.50.0.1", 5432), timeout=5)
data = b""
while True:
    b = s.recv(65536)
    if not b: break
    data += b
head, _, body = data.partition(b"\n")
print(head.decode(), len(body))
' 2>&1)"
} >"$OUTFILE"
F
chmod +x backend
key=$(cat plan/keys/lhr.key)
spoke() { # extra env..., then runs the entrypoint in the spoke namespace
  ip netns exec "$SPK" env -i PATH="$PATH" FLY_REGION=lhr WG_CONF_DIR="$T/out/deploy/wg" \
    EDGEBENCH_BIN="$T/backend" OUTFILE="$T/backend.out" DB_HOST=10.50.0.1 "$@" \
    bash "$EP" --port 8080
}

rm -f backend.out
spoke WG_IFACE="$SIF" WG_PRIVATE_KEY_LHR="$key" WG_HANDSHAKE_TIMEOUT=20 >ep1.out 2>&1
check "entrypoint execs the backend after the handshake (rc $?)" [ -s backend.out ]
cat ep1.out
check "backend gets its arguments" grep -q "^args: backend --port 8080$" backend.out
check "no WG_PRIVATE_KEY* left in the backend's environment" grep -q "^key vars: 0$" backend.out
check "a handshake happened before the backend started" grep -q "^handshakes: 1$" backend.out
check "overlay address 10.50.3.1/32 on the interface" grep -q "^address: 10.50.3.1/32$" backend.out
check "MTU from the config" grep -q "^mtu: 1420$" backend.out
check "1 MB from the database through the tunnel, DNAT and MASQUERADE" grep -q "^db: peer=198.51.100.1 1048576$" backend.out || cat backend.out
check "it says it used wireguard-go" grep -q "wireguard-go" ep1.out
check "the key is not in the entrypoint's output" bash -c "! grep -qF '$key' ep1.out"
check "hub sees lhr's handshake" [ "$(ip netns exec "$HUB" wg show "$HIF" latest-handshakes | awk -v k="$(cat plan/keys/lhr.pub)" '$1 == k && $2 > 0' | wc -l)" = 1 ]
mss=$(ip netns exec "$HUB" iptables -t mangle -L "EB-$HIF-MSS" -v -n -x | awk 'NR > 2 { s += $1 } END { print s + 0 }')
check "the MSS clamp saw the SYNs ($mss packets)" [ "$mss" -gt 0 ]
ip -n "$SPK" link del "$SIF" 2>/dev/null

# No hub: fail loudly, remove the interface, never start the backend.
ip -n "$HUB" link set u0 down   # the hub unreachable: its underlay cut
rm -f backend.out
spoke WG_IFACE="${SIF}b" WG_PRIVATE_KEY_LHR="$key" WG_HANDSHAKE_TIMEOUT=3 >ep2.out 2>&1
rc=$?
check "no handshake: exit 1 (rc $rc)" [ $rc -eq 1 ]
check "no handshake: FATAL message naming the cause" grep -q "FATAL: no handshake with the hub" ep2.out
check "no handshake: backend not started" [ ! -e backend.out ]
check "no handshake: interface removed" bash -c "! ip -n $SPK link show ${SIF}b >/dev/null 2>&1"

# WG_OPTIONAL=1: warn, then start the backend anyway.
spoke WG_IFACE="${SIF}c" WG_PRIVATE_KEY_LHR="$key" WG_HANDSHAKE_TIMEOUT=2 WG_OPTIONAL=1 >ep3.out 2>&1
check "WG_OPTIONAL=1: backend started without the tunnel" [ -s backend.out ] && grep -q "WITHOUT the WireGuard tunnel" ep3.out
rm -f backend.out

# Missing secret, bad secret, unknown region.
spoke WG_IFACE="${SIF}d" >ep4.out 2>&1
check "missing key: exit 1 with the secret's name" [ $? -eq 1 ] && grep -q "WG_PRIVATE_KEY_LHR" ep4.out
spoke WG_IFACE="${SIF}e" WG_PRIVATE_KEY=not-a-key >ep5.out 2>&1
check "bad key: exit 1" [ $? -eq 1 ] && grep -q "not a base64 WireGuard key" ep5.out
ip netns exec "$SPK" env -i PATH="$PATH" FLY_REGION=syd WG_CONF_DIR="$T/out/deploy/wg" WG_PRIVATE_KEY="$key" \
  EDGEBENCH_BIN="$T/backend" bash "$EP" >ep6.out 2>&1
check "region without a config: exit 1" [ $? -eq 1 ] && grep -q "no WireGuard config for region 'syd'" ep6.out
check "no backend started by the failures" [ ! -e backend.out ]

wg_cleanup
sleep 0.3
check "no wireguard-go left running" bash -c "! pgrep -f '^wireguard-go ebe[hs]$id' >/dev/null"
check "no control socket left" bash -c "! ls /var/run/wireguard/ 2>/dev/null | grep -q 'ebe[hs]$id'"
