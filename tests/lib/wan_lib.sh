# Helpers for the `edgebench wan` integration tests (sourced after harness.sh).
WAN_TOOL="python3 $EB_SRC/tests/lib/wan_tool.py"

# wan_start NAME ARGS...: starts `edgebench wan ARGS` in the background, waits
# for its "ready:" line; sets WAN_PID. Output in $T/NAME.out and $T/NAME.err.
wan_start() {
  local name=$1 i
  shift
  spawn "$EB" wan "$@" >"$T/$name.out" 2>"$T/$name.err"
  WAN_PID=$LAST_PID
  for i in $(seq 200); do
    grep -q '^ready: ' "$T/$name.out" && return 0
    kill -0 "$WAN_PID" 2>/dev/null || break
    sleep 0.05
  done
  echo "wan $name did not start: $(cat "$T/$name.err")"
  return 1
}

# peer_start NAME MODE PORT: starts a wan_tool.py server and waits for it.
peer_start() {
  local name=$1 i
  shift
  spawn $WAN_TOOL "$@" >"$T/$name.out" 2>"$T/$name.err"
  for i in $(seq 200); do
    grep -q listening "$T/$name.out" && return 0
    sleep 0.05
  done
  echo "peer $name did not start: $(cat "$T/$name.err")"
  return 1
}

# fcmp EXPR: true when the floating-point comparison holds (python3).
fcmp() { python3 -c "import sys; sys.exit(0 if ($1) else 1)"; }
