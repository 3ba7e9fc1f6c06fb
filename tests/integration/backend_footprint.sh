#!/usr/bin/env bash
# The backend maps none of the libraries only other subcommands use (libcurl,
# SQLite, libmaxminddb, libsodium: opened with dlopen where needed), and the
# subcommands that do need them still find them.
. "$(dirname "$0")/../lib/harness.sh"
P=$(free_port)
spawn env PORT=$P "$EB" backend --listen 127.0.0.1 2>"$T/backend.log"
BPID=$LAST_PID
wait_http "http://127.0.0.1:$P/healthz" || die "backend did not start: $(cat "$T/backend.log")"
curl -s "http://127.0.0.1:$P/api/info" >/dev/null
for lib in libcurl libsqlite3 libmaxminddb libsodium; do
  check "backend does not map $lib" bash -c '! grep -q "/$1\.so" "/proc/$2/maps"' _ "$lib" "$BPID"
done
check "proxy routes (SQLite) still works" bash -c '"$1" proxy routes add --routes "$2/r.db" --region lhr --address 127.0.0.1 --port 9 >/dev/null && "$1" proxy routes list --routes "$2/r.db" | grep -q lhr' _ "$EB" "$T"
check "overlay keys (libsodium) still work" bash -c '"$1" overlay init --hub-endpoint 203.0.113.10:51820 --db 10.0.0.5:5432 --regions lhr --dir "$2/ov" >/dev/null && [ "$(wc -c <"$2/ov/keys/lhr.pub")" -ge 44 ]' _ "$EB" "$T"
