# Shared by bench/backend_*.sh (sourced): the binary, a throwaway PostgreSQL,
# cleanup. EB_BIN may point at a Release build; otherwise one is built.
set -u
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
W=$(mktemp -d "${TMPDIR:-/tmp}/ebbench.XXXXXX")
chmod 755 "$W"
PIDS=()
bench_exit() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  [ -n "${PGDIR:-}" ] && as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -m immediate stop >/dev/null 2>&1
  rm -rf "$W"
}
trap bench_exit EXIT
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
if [ -z "${EB_BIN:-}" ]; then
  echo "building a Release edgebench into $W/build ..." >&2
  cmake -S "$SRC" -B "$W/build" -DCMAKE_BUILD_TYPE=Release -DEB_TESTS=OFF >/dev/null &&
    cmake --build "$W/build" -j2 --target edgebench >/dev/null || { echo "build failed" >&2; exit 1; }
  EB_BIN=$W/build/edgebench
fi
EB=$EB_BIN
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
pg_up() {
  PGDIR="$W/pg"; mkdir -p "$PGDIR"; [ "$(id -u)" -eq 0 ] && chown postgres "$PGDIR"
  PGPORT=$(free_port)
  as_pg "$PGBIN/initdb" -D "$PGDIR/data" -A trust -U postgres >/dev/null 2>&1 || { echo "initdb failed" >&2; exit 1; }
  as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/log" -w \
    -o "-p $PGPORT -k $PGDIR -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null || { echo "pg start failed" >&2; exit 1; }
  psql -h 127.0.0.1 -p "$PGPORT" -U postgres -AtX -c "create database contacts" >/dev/null
  DB_HOST=127.0.0.1 DB_PORT=$PGPORT DB_USER=postgres DB_NAME=contacts "$EB" db init >/dev/null
}
wait_http() { local i; for i in $(seq 1 100); do curl -s -m 2 -o /dev/null "$1" && return 0; sleep 0.1; done; return 1; }
median() { sort -g | awk '{a[NR]=$1} END{ if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2 }'; }
