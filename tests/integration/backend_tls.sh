#!/usr/bin/env bash
# TLS to the database: DB_SSLMODE=verify-full with DB_SSLROOTCERT works and
# the response says so (tls.enabled, protocol); a wrong CA is refused and
# db check explains it; a server that only accepts SSL (hostssl, like RDS with
# rds.force_ssl=1) refuses an unencrypted connection and db check says to use
# DB_SSLMODE=require, which then works.
. "$(dirname "$0")/../lib/harness.sh"
command -v openssl >/dev/null || die "openssl is needed"
pg_start
C="$T/certs"; mkdir -p "$C"
mkcert() { # dir name cn
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=$2 CA" -keyout "$1/$2-ca.key" -out "$1/$2-ca.crt" 2>/dev/null
}
mkcert "$C" good && mkcert "$C" other || die "openssl CA"
openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$C/server.key" -out "$C/server.csr" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$C/ext"
openssl x509 -req -in "$C/server.csr" -CA "$C/good-ca.crt" -CAkey "$C/good-ca.key" -CAcreateserial \
  -days 2 -extfile "$C/ext" -out "$C/server.crt" 2>/dev/null || die "openssl server cert"
cp "$C/server.crt" "$C/server.key" "$PGDIR/data/"
[ "$(id -u)" -eq 0 ] && chown postgres "$PGDIR/data/server.crt" "$PGDIR/data/server.key"
chmod 600 "$PGDIR/data/server.key"
printf "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n" >>"$PGDIR/data/postgresql.conf"
cat >"$PGDIR/data/pg_hba.conf" <<'HBA'
local all all trust
hostssl all all 127.0.0.1/32 trust
HBA
pg_stop && pg_again || die "restart with ssl: $(tail -n 5 "$PGDIR/log")"
psqlc -c "create database contacts" >/dev/null 2>&1 || psql -h "$PGDIR" -p "$PGPORT" -U postgres -c "create database contacts" >/dev/null
export DB_HOST=localhost DB_PORT=$PGPORT DB_USER=postgres DB_NAME=contacts
DB_SSLMODE=require "$EB" db init >/dev/null || die "db init over ssl"

rc=$(DB_SSLMODE=disable "$EB" db check >"$T/c1.txt" 2>&1; echo $?)
check "ssl-only server, DB_SSLMODE=disable: db check says to use DB_SSLMODE=require ($rc)" \
  bash -c '[ $2 = 1 ] && grep -q "no encryption" "$1" && grep -q "DB_SSLMODE=require" "$1"' _ "$T/c1.txt" "$rc"
rc=$(DB_SSLMODE=require "$EB" db check >"$T/c2.txt" 2>&1; echo $?)
check "DB_SSLMODE=require: db check all good, TLS named ($rc)" bash -c '[ $2 = 0 ] && grep -q "TLS TLSv1" "$1"' _ "$T/c2.txt" "$rc"
rc=$(DB_SSLMODE=verify-full DB_SSLROOTCERT="$C/other-ca.crt" "$EB" db check >"$T/c3.txt" 2>&1; echo $?)
check "verify-full with the wrong CA is refused and explained ($rc)" \
  bash -c '[ $2 = 1 ] && grep -q "DB_SSLROOTCERT" "$1"' _ "$T/c3.txt" "$rc"

P=$(free_port)
spawn env PORT=$P DB_SSLMODE=verify-full DB_SSLROOTCERT="$C/good-ca.crt" "$EB" backend --listen 127.0.0.1 2>"$T/backend.log"
wait_http "http://127.0.0.1:$P/healthz" || die "backend did not start"
J=$(curl -s "http://127.0.0.1:$P/api/rds/benchmark?iterations=3&warmup=0")
check "verify-full with DB_SSLROOTCERT: benchmark runs over TLS" \
  jqt '.insert_samples==3 and .tls.enabled==true and (.tls.protocol|test("^TLSv1"))' "$J"
check "health connected over TLS" jqt '.status=="connected"' "$(curl -s "http://127.0.0.1:$P/api/rds/health")"
P2=$(free_port)
spawn env PORT=$P2 DB_SSLMODE=verify-full DB_SSLROOTCERT="$C/other-ca.crt" "$EB" backend --listen 127.0.0.1 2>"$T/b2.log"
wait_http "http://127.0.0.1:$P2/healthz" || die "backend 2 did not start"
code=$(curl -s -o "$T/bad.json" -w '%{http_code}' "http://127.0.0.1:$P2/api/rds/benchmark?iterations=2")
check "wrong CA: 502 with the certificate error, no latencies" \
  bash -c '[ "$1" = 502 ] && jq -e ".insert_samples==0 and (.insert_error|test(\"certificate\"))" "$2" >/dev/null' _ "$code" "$T/bad.json"
