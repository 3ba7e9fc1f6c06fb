# Shared set-up of the bench/wan_*.sh scripts (sourced): the binary, a
# private temporary directory, process cleanup, and the python3 peers.
set -u
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
B=$(mktemp -d "${TMPDIR:-/tmp}/ebbench.XXXXXX")
chmod 755 "$B"
PIDS=()
bench_exit() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  [ -n "${BENCH_CLEANUP:-}" ] && eval "$BENCH_CLEANUP" >/dev/null 2>&1
  rm -rf "$B"
}
trap bench_exit EXIT
trap 'exit 130' INT TERM
if [ -z "${EB_BIN:-}" ]; then
  echo "building a release binary (set EB_BIN to skip)..." >&2
  cmake -S "$SRC" -B "$B/build" -DCMAKE_BUILD_TYPE=Release -DEB_TESTS=OFF >/dev/null &&
    cmake --build "$B/build" -j2 >/dev/null || { echo "build failed" >&2; exit 1; }
  EB_BIN=$B/build/edgebench
fi
EB=$EB_BIN
TOOL="python3 $SRC/tests/lib/wan_tool.py"
free_port() {
  python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'
}
# start NAME CMD...: background process, killed at exit; waits for a line
# matching READY (default 'listening|ready:') on its stdout.
start() {
  local name=$1 i
  shift
  "$@" >"$B/$name.out" 2>"$B/$name.err" &
  PIDS+=($!)
  for i in $(seq 200); do
    grep -Eq "${READY:-listening|ready:}" "$B/$name.out" && return 0
    sleep 0.05
  done
  echo "$name did not start: $(cat "$B/$name.err")" >&2
  exit 1
}
calc() { python3 -c "print($1)"; }
