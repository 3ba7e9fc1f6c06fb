#!/usr/bin/env bash
# `edgebench overlay`: golden files from a fixed plan with deterministic test
# keys, keys checked against `wg pubkey`, file modes, no private key leaks,
# idempotent init/render, stable add/remove, rotate, every `overlay check`
# failure, other subnets, mesh, and `wg setconf` on a wireguard-go interface
# accepting every config.
. "$(dirname "$0")/../lib/harness.sh"
GOLDEN=$EB_SRC/tests/golden/overlay
cd "$T" || die "no temp dir"
INIT=(overlay init --hub-endpoint 203.0.113.10:51820 --db db.example.internal:5432
      --regions nrt,lhr,iad,gru --dir plan)

# --- golden: deterministic keys (EDGEBENCH_TEST_KEY_SEED is for tests only)
EDGEBENCH_TEST_KEY_SEED=golden "$EB" "${INIT[@]}" >init.out 2>init.err
check "init exits 0" [ $? -eq 0 ]
check "test-key warning printed" grep -q "NOT secret" init.err
"$EB" overlay render --dir plan --out out >render.out 2>&1
check "render exits 0" [ $? -eq 0 ]
if [ "${EB_UPDATE_GOLDEN:-0}" = 1 ]; then
  rm -rf "$GOLDEN" && mkdir -p "$GOLDEN" && cp -r plan/plan.json out "$GOLDEN/" && echo "golden updated"
fi
check "plan.json matches golden" diff -u "$GOLDEN/plan.json" plan/plan.json
check "rendered tree matches golden" diff -ru "$GOLDEN/out" out

# --- keys: modes, derivation, format
check "keys dir 0700" [ "$(stat -c %a plan/keys)" = 700 ]
for n in hub gru iad lhr nrt; do
  check "$n.key is 0600" [ "$(stat -c %a plan/keys/$n.key)" = 600 ]
  check "wg pubkey of $n.key = $n.pub" [ "$(wg pubkey <plan/keys/$n.key)" = "$(cat plan/keys/$n.pub)" ]
done
for r in gru iad lhr nrt; do
  pub=$(jq -r --arg r $r '.regions[] | select(.code == $r) | .public_key' plan/plan.json)
  check "plan pubkey of $r matches its key" [ "$pub" = "$(wg pubkey <plan/keys/$r.key)" ]
done
check "hub pubkey in plan" [ "$(jq -r .hub.public_key plan/plan.json)" = "$(wg pubkey <plan/keys/hub.key)" ]
check "seed addresses" [ "$(jq -r '[.regions[] | .code + "=" + .address] | join(",")' plan/plan.json)" \
  = "gru=10.50.1.1,iad=10.50.2.1,lhr=10.50.3.1,nrt=10.50.4.1" ]

# --- modes of rendered files
check "hub/wg0.conf 0600" [ "$(stat -c %a out/hub/wg0.conf)" = 600 ]
check "spokes dir 0700" [ "$(stat -c %a out/spokes)" = 700 ]
for r in gru iad lhr nrt; do check "spokes/$r.conf 0600" [ "$(stat -c %a out/spokes/$r.conf)" = 600 ]; done
check "nat.sh executable" [ -x out/hub/nat.sh ]
check "entrypoint.sh executable" [ -x out/deploy/entrypoint.sh ]

# --- no private key where it must not be
leak=0
for n in hub gru iad lhr nrt; do
  k=$(cat plan/keys/$n.key)
  for f in $(find out plan -type f ! -path 'plan/keys/*'); do
    case $f in out/hub/wg0.conf) [ $n = hub ] && continue ;; out/spokes/$n.conf) continue ;; esac
    grep -qF "$k" "$f" && { echo "  $n's private key found in $f"; leak=1; }
  done
  grep -qF "$k" init.out init.err render.out && { echo "  $n's private key in the output"; leak=1; }
done
check "private keys only in key files, hub/wg0.conf and the own spoke conf" [ $leak -eq 0 ]
check "cloud-init has the placeholder, not the key" grep -q "PrivateKey = @@HUB_PRIVATE_KEY@@" out/hub/cloud-init.yaml
check "deploy/wg confs carry no PrivateKey" bash -c '! grep -rq PrivateKey out/deploy'
check "secrets.sh: one fly secrets set per region" [ "$(grep -c '^fly secrets set' out/deploy/secrets.sh)" = 4 ]
if command -v shellcheck >/dev/null; then
  check "shellcheck accepts the scripts" shellcheck out/hub/nat.sh out/deploy/entrypoint.sh out/deploy/secrets.sh
fi
check "bash -n entrypoint.sh" bash -n out/deploy/entrypoint.sh
check "cloud-init is YAML with the hub config" python3 -c '
import sys, yaml
d = yaml.safe_load(open("out/hub/cloud-init.yaml"))
files = {f["path"]: f for f in d["write_files"]}
assert "wireguard-tools" in d["packages"] and "iptables" in d["packages"]
assert "ListenPort = 51820" in files["/etc/wireguard/wg0.conf"]["content"]
assert files["/etc/wireguard/wg0.conf"]["permissions"] == "0600"
assert "DNAT" in files["/usr/local/sbin/edgebench-nat"]["content"]
'
# secrets.sh runs with a stand-in `fly` that records what it is given.
mkdir -p fakebin && cat >fakebin/fly <<'F'
#!/bin/sh
echo "fly $*" >>"$FLYLOG"; cat >>"$FLYLOG.stdin"
F
chmod +x fakebin/fly
FLYLOG=$T/fly.log PATH=$T/fakebin:$PATH out/deploy/secrets.sh >secrets.out 2>&1
check "secrets.sh runs" [ $? -eq 0 ]
check "secrets.sh passes keys on stdin only" bash -c "! grep -qF '$(cat plan/keys/gru.key)' fly.log && grep -qF '$(cat plan/keys/gru.key)' fly.log.stdin"

# --- idempotence
sum() { (cd "$1" && find . -type f -exec sha256sum {} + | sort); }
p1=$(sum plan); o1=$(sum out)
"$EB" "${INIT[@]}" >/dev/null 2>&1
check "re-running init changes nothing" [ "$p1" = "$(sum plan)" ]
"$EB" overlay render --dir plan --out out >/dev/null 2>&1
check "re-rendering changes nothing" [ "$o1" = "$(sum out)" ]
"$EB" overlay init --hub-endpoint 203.0.113.10:51820 --db db.example.internal:5432 --regions lhr \
  --subnet 10.60.0.0/16 --dir plan >/dev/null 2>err.txt
check "init refuses to change the subnet of a plan" [ $? -eq 1 ]
check "  ...and says why" grep -q renumber err.txt

# --- add / remove / rotate keep addresses
"$EB" overlay add ord --dir plan >/dev/null && "$EB" overlay add jnb --dir plan >/dev/null
check "add ord -> 10.50.2.2, jnb -> 10.50.5.1" [ "$(jq -r '[.regions[] | .code + "=" + .address] | join(",")' plan/plan.json)" \
  = "gru=10.50.1.1,iad=10.50.2.1,ord=10.50.2.2,lhr=10.50.3.1,nrt=10.50.4.1,jnb=10.50.5.1" ]
check "add is idempotent" "$EB" overlay add ord --dir plan
"$EB" overlay remove iad --dir plan >/dev/null
check "remove iad keeps ord at 10.50.2.2" [ "$(jq -r '.regions[] | select(.code == "ord") | .address' plan/plan.json)" = 10.50.2.2 ]
check "remove deletes iad's keys" [ ! -e plan/keys/iad.key ] && [ ! -e plan/keys/iad.pub ]
"$EB" overlay add sea --dir plan >/dev/null
check "a later add reuses only a free address" [ "$(jq -r '.regions[] | select(.code == "sea") | .address' plan/plan.json)" = 10.50.2.1 ]
check "remove of an absent region fails" bash -c "! '$EB' overlay remove iad --dir plan 2>/dev/null"
"$EB" overlay render --dir plan --out out >/dev/null 2>&1
check "render drops the stale iad files" [ ! -e out/spokes/iad.conf ] && [ ! -e out/deploy/wg/iad.conf ]
old=$(cat plan/keys/lhr.pub)
"$EB" overlay rotate lhr --dir plan >rotate.out 2>&1
check "rotate replaces lhr's key" [ "$old" != "$(cat plan/keys/lhr.pub)" ]
check "rotated key 0600 and derived" [ "$(stat -c %a plan/keys/lhr.key)" = 600 ] && [ "$(wg pubkey <plan/keys/lhr.key)" = "$(jq -r '.regions[] | select(.code == "lhr") | .public_key' plan/plan.json)" ]
check "rotate keeps lhr's address" [ "$(jq -r '.regions[] | select(.code == "lhr") | .address' plan/plan.json)" = 10.50.3.1 ]
check "rotate does not print the private key" bash -c "! grep -qF '$(cat plan/keys/lhr.key)' rotate.out"
oldhub=$(jq -r .hub.public_key plan/plan.json)
"$EB" overlay rotate hub --dir plan >/dev/null 2>&1
check "rotate hub replaces the hub's key" [ "$oldhub" != "$(jq -r .hub.public_key plan/plan.json)" ] && [ "$(wg pubkey <plan/keys/hub.key)" = "$(jq -r .hub.public_key plan/plan.json)" ]
check "rotate of a region not in the plan fails" bash -c "! '$EB' overlay rotate syd --dir plan 2>/dev/null"
check "check passes after the changes" "$EB" overlay check --dir plan
"$EB" overlay render --dir plan --out out >/dev/null 2>&1
"$EB" overlay show --dir plan >show.out
check "show lists regions with location and IP" grep -q "| lhr | London, GB | 10.50.3.1 |" show.out

# --- real (random) keys: `wg pubkey` agrees
"$EB" overlay init --hub-endpoint hub.example.com:51820 --db 172.31.5.9 --regions syd --dir rnd >/dev/null 2>rnd.err
check "random keys: no test warning" bash -c "! grep -q 'NOT secret' rnd.err"
check "random keys derived like wg" [ "$(wg pubkey <rnd/keys/syd.key)" = "$(cat rnd/keys/syd.pub)" ]
check "--db without port means 5432" [ "$(jq -r .db.port rnd/plan.json)" = 5432 ]

# --- every check failure, each named with a fix
cp -r plan base
expect_check() { # description jq-filter-or-shell expected-text
  rm -rf bad && cp -r base bad
  if [ "${2:0:1}" = "!" ]; then (cd bad && eval "${2:1}"); else jq "$2" base/plan.json >bad/plan.json; fi
  "$EB" overlay check --dir bad >check.out 2>&1; local rc=$?
  if [ $rc -eq 1 ] && grep -q -- "$3" check.out && grep -q "fix:" check.out; then ok "check: $1"
  else fail "check: $1 (rc $rc): $(cat check.out)"; fi
}
expect_check "duplicate address" '(.regions[] | select(.code == "ord") | .address) = "10.50.1.1"' "same address 10.50.1.1"
expect_check "out-of-subnet address" '(.regions[] | select(.code == "ord") | .address) = "10.99.2.2"' "ord.*outside the subnet"
expect_check "address equal to the hub's" '(.regions[0].address) = "10.50.0.1"' "hub's address"
expect_check "public key not matching" '.regions[0].public_key = "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo="' "does not match its private key"
expect_check "hub key not matching" '.hub.public_key = "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo="' "hub: the public key"
expect_check "region without keys" '!rm keys/ord.key' "region 'ord' has no private key"
expect_check "key file with a bad mode" '!chmod 644 keys/ord.key' "mode 0644"
expect_check "keys dir with a bad mode" '!chmod 755 keys' "chmod 700"
expect_check "MTU 9000" '.mtu = 9000' "MTU 9000 is out of 1280..1500"
expect_check "MTU 1200" '.mtu = 1200' "MTU 1200"
expect_check "subnet overlapping the hub network" '.hub.network = "10.0.0.0/8"' "overlaps the hub's own network"
expect_check "database inside the subnet" '.db.host = "10.50.9.9"' "database address 10.50.9.9 is inside"
expect_check "hub endpoint inside the subnet" '.hub.endpoint = "10.50.0.1:51820"' "hub endpoint 10.50.0.1:51820 is inside"
expect_check "hub endpoint without port" '.hub.endpoint = "203.0.113.10"' "is not HOST:PORT"
expect_check "hub endpoint port 0" '.hub.endpoint = "203.0.113.10:0"' "is not HOST:PORT"
expect_check "database host with shell syntax" '.db.host = "x}$(touch /tmp/ebpwn)"' "is not an IP address or a DNS name"
expect_check "hub endpoint with shell syntax" '.hub.endpoint = "a$(id):51820"' "is not HOST:PORT"
expect_check "unknown region code" '.regions += [{"code":"xyz","address":"10.50.2.9","public_key":"hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo="}]' "unknown region code"
expect_check "duplicate region" '.regions += [.regions[0] | .address = "10.50.1.9"]' "listed twice"
expect_check "bad subnet" '.subnet = "10.50.0.0/33"' "subnet '10.50.0.0/33'"
expect_check "subnet too small" '.subnet = "10.50.0.0/28"' "from /8 to /26"
expect_check "unknown topology" '.topology = "star"' "topology 'star'"
"$EB" overlay check --dir base >/dev/null
check "the unmodified copy still passes" [ $? -eq 0 ]
rm -rf bad && cp -r base bad && echo '{"tool":"edgebench-overlay","format":1,' >bad/plan.json
"$EB" overlay check --dir bad >check.out 2>&1
check "a truncated plan.json is reported" [ $? -eq 1 ]
check "render refuses a broken plan" bash -c "cd '$T' && cp -r base b2 && jq '.mtu = 9000' base/plan.json >b2/plan.json && ! '$EB' overlay render --dir b2 --out o2 2>/dev/null && [ ! -e o2 ]"

# --- init rejects bad options before writing anything
bad_init() { "$EB" overlay init --hub-endpoint "${2:-203.0.113.10:51820}" --db db:5432 --regions "${3:-lhr}" --dir "b-$1" ${4:-} >/dev/null 2>err.txt; }
"$EB" overlay init --db 10.0.0.1 --dir b-miss >/dev/null 2>err.txt
check "init names the missing flags" [ $? -eq 2 ] && grep -q "missing --hub-endpoint, --regions" err.txt && [ ! -e b-miss ]
for lo in 127.0.0.1 127.1.2.3:6543 localhost '[::1]:5432'; do
  "$EB" overlay init --hub-endpoint 203.0.113.10:51820 --db "$lo" --regions lhr --dir b-lo >/dev/null 2>err.txt
  check "init --db $lo (loopback: the hub cannot forward to it) rejected with the fix" \
    [ $? -eq 2 ] && grep -q "loopback address" err.txt && grep -q "fix:" err.txt && [ ! -e b-lo ]
done
bad_init mtu "" "" "--mtu 9000"; check "init --mtu 9000 rejected (2)" [ $? -eq 2 ] && [ ! -e b-mtu ]
bad_init ep "203.0.113.10"; check "init --hub-endpoint without port rejected" [ $? -eq 2 ] && [ ! -e b-ep ]
bad_init reg "" "lhr,xyz"; check "init unknown region rejected" [ $? -eq 2 ] && grep -q "xyz" err.txt && [ ! -e b-reg ]
bad_init sub "" "" "--subnet 10.50.0.0/27"; check "init --subnet /27 rejected" [ $? -eq 2 ] && [ ! -e b-sub ]
"$EB" overlay init --hub-endpoint 203.0.113.10:51820 --db 'x;rm -rf /' --regions lhr --dir b-dbsh >/dev/null 2>err.txt
check "init --db with shell syntax rejected before anything is written" [ $? -eq 2 ] && [ ! -e b-dbsh ]
bad_init top "" "" "--topology star"; check "init --topology star rejected" [ $? -eq 2 ]
check "usage error exits 2" bash -c "'$EB' overlay init --bogus >/dev/null 2>&1; [ \$? -eq 2 ]"

# --- other subnets: a /24 (eight blocks of 32) and a /8
"$EB" overlay init --hub-endpoint 198.51.100.1:51820 --db 172.31.0.10:5432 --regions gru,iad,ord,lhr,nrt \
  --subnet 192.168.50.0/24 --dir s24 >/dev/null 2>&1
check "/24 layout" [ "$(jq -r '.hub.address + " " + ([.regions[] | .code + "=" + .address] | join(","))' s24/plan.json)" \
  = "192.168.50.1 gru=192.168.50.33,iad=192.168.50.65,ord=192.168.50.66,lhr=192.168.50.97,nrt=192.168.50.129" ]
"$EB" overlay init --hub-endpoint 198.51.100.1:51820 --db 172.31.0.10:5432 --regions gru,jnb \
  --subnet 10.0.0.0/8 --dir s8 >/dev/null 2>&1
check "/8 layout" [ "$(jq -r '[.regions[] | .address] | join(",")' s8/plan.json)" = "10.0.1.1,10.0.5.1" ]

# --- mesh: direct peers where an endpoint is known
"$EB" overlay init --hub-endpoint 203.0.113.10:51820 --db db:5432 --regions gru,iad,lhr --topology mesh \
  --dir mesh >/dev/null 2>&1
"$EB" overlay add lhr --endpoint 198.51.100.7:51820 --dir mesh >/dev/null
"$EB" overlay render --dir mesh --out mesh-out >/dev/null 2>&1
check "mesh render exits 0" [ $? -eq 0 ]
check "mesh: gru has a direct peer lhr with its endpoint" grep -q "Endpoint = 198.51.100.7:51820" mesh-out/spokes/gru.conf
check "mesh: lhr listens on its endpoint port" grep -q "ListenPort = 51820" mesh-out/spokes/lhr.conf
check "mesh: gru reaches iad through the hub" grep -q "reached through the hub" mesh-out/spokes/gru.conf
check "mesh: lhr lists both other spokes" [ "$(grep -c '^\[Peer\]' mesh-out/spokes/lhr.conf)" = 3 ]

# --- the real tools accept every config
if [ "$(id -u)" -eq 0 ] && [ -c /dev/net/tun ] && command -v wireguard-go >/dev/null; then
  ifc=ebov$$
  WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 wireguard-go "$ifc" >/dev/null 2>&1
  on_exit "ip link del $ifc"
  for f in out/hub/wg0.conf out/spokes/*.conf mesh-out/hub/wg0.conf mesh-out/spokes/*.conf out/deploy/wg/*.conf; do
    cp "$f" "$T/$ifc.conf"
    if wg setconf "$ifc" <(wg-quick strip "$T/$ifc.conf" 2>/dev/null) 2>wg.err; then ok "wg setconf accepts $f"
    else fail "wg setconf rejects $f: $(cat wg.err)"; fi
  done
  cp out/hub/wg0.conf "$T/$ifc.conf"
  wg setconf "$ifc" <(wg-quick strip "$T/$ifc.conf" 2>/dev/null)
  check "wg shows the hub's public key" [ "$(wg show "$ifc" public-key)" = "$(jq -r .hub.public_key plan/plan.json)" ]
  check "wg shows the hub's peers" [ "$(wg show "$ifc" peers | wc -l)" = "$(jq '.regions | length' plan/plan.json)" ]
else
  echo "skip: wg setconf checks need root, /dev/net/tun and wireguard-go"
fi
