# Shared helpers for integration tests (sourced). Each test gets:
#   EB        the edgebench binary under test (ctest sets EB_BIN)
#   T         a private temporary directory, removed at exit
#   pg_start  a throwaway PostgreSQL (initdb in $T, free port, run as the
#             `postgres` user when root); sets PGPORT PGHOST PGDIR PGBIN
#   ok/fail   assertions; the test exits non-zero if any failed (77: it
#             skipped itself, for want of something optional; ctest says so)
#   spawn     start a background process that is killed at exit
set -u
EB=${EB_BIN:?EB_BIN must point at the edgebench binary}
EB_SRC=${EB_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
T=$(mktemp -d "${TMPDIR:-/tmp}/ebtest.XXXXXX")
chmod 755 "$T"
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
_pids=()
_cleanups=()
_failed=0
_passed=0

_harness_exit() {
  local rc=$?
  local p
  for p in "${_pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${_pids[@]}"; do
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null
  done
  local c
  for c in "${_cleanups[@]}"; do eval "$c" >/dev/null 2>&1; done
  rm -rf "$T"
  if [ "$_failed" -gt 0 ]; then
    echo "$_passed passed, $_failed failed"
    exit 1
  fi
  echo "$_passed passed, 0 failed"
  exit $rc
}
trap _harness_exit EXIT
trap 'exit 130' INT TERM

ok() { _passed=$((_passed + 1)); echo "ok: $*"; }
fail() { _failed=$((_failed + 1)); echo "FAIL: $*"; }
# check "description" command...   (runs the command; ok if it exits 0)
check() { local d=$1; shift; if "$@"; then ok "$d"; else fail "$d"; fi; }
die() { echo "FATAL: $*"; _failed=$((_failed + 1)); exit 1; }
on_exit() { _cleanups+=("$1"); }

# A free TCP port below the kernel's ephemeral range (32768 and up), so an
# outgoing connection of another test cannot take it between our check and
# the server's bind.
free_port() {
  python3 - <<'PY'
import random, socket
for _ in range(200):
    p = random.randint(20000, 32000)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        s.close()
    print(p)
    break
PY
}

spawn() { "$@" & _pids+=($!); LAST_PID=$!; }

as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

# pg_start [extra initdb args]: trust auth on the unix socket and 127.0.0.1.
pg_start() {
  [ -n "$PGBIN" ] || die "PostgreSQL server binaries not found (run scripts/deps.sh)"
  PGDIR="$T/pg"
  mkdir -p "$PGDIR"
  [ "$(id -u)" -eq 0 ] && chown postgres "$PGDIR"
  PGPORT=$(free_port)
  PGHOST=127.0.0.1
  as_pg "$PGBIN/initdb" -D "$PGDIR/data" -A trust -U postgres "$@" >"$PGDIR/initdb.log" 2>&1 \
    || die "initdb failed: $(tail -n 5 "$PGDIR/initdb.log")"
  local try
  for try in 1 2 3; do
    pg_again && break
    [ "$try" -eq 3 ] && die "PostgreSQL did not start: $(tail -n 5 "$PGDIR/log")"
    PGPORT=$(free_port) # the port was taken meanwhile: another one
  done
  on_exit "as_pg $PGBIN/pg_ctl -D $PGDIR/data -m immediate stop"
  export PGPORT PGHOST
}
pg_again() {
  as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/log" -w -t 30 \
    -o "-p $PGPORT -k $PGDIR -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
}
pg_stop() { as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -m fast -w stop >/dev/null; }
psqlc() { psql -h 127.0.0.1 -p "$PGPORT" -U postgres -AtX -v ON_ERROR_STOP=1 "$@"; }

# wait_http URL [tries of 0.1 s]
wait_http() {
  local u=$1 n=${2:-100} i
  for ((i = 0; i < n; i++)); do
    curl -s -m 2 -o /dev/null "$u" && return 0
    sleep 0.1
  done
  return 1
}

# http_code URL [curl args]
http_code() { local u=$1; shift; curl -s -o /dev/null -w '%{http_code}' "$@" "$u"; }
# wait_line FILE PATTERN [TRIES]: until FILE has a line matching PATTERN
# (grep basic regex), polling every 0.1 s, 100 times unless told
wait_line() {
  local i
  for ((i = 0; i < ${3:-100}; i++)); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}
# jqt FILTER JSON: the JSON text satisfies the jq filter
jqt() { jq -e "$1" >/dev/null 2>&1 <<<"$2"; }
# wait_lock: until another session holds the exclusive lock on table contacts
wait_lock() {
  local i
  for i in $(seq 100); do
    [ "$(psqlc -d contacts -c "select count(*) from pg_locks where relation = 'contacts'::regclass and mode = 'AccessExclusiveLock' and granted")" -gt 0 ] && return 0
    sleep 0.05
  done
  return 1
}
