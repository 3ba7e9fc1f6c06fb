# Helpers for the lab's integration tests, sourced after harness.sh.

# The lab runs backend, db, wan and run: skip when this build lacks one.
lab_needs() {
  local s
  for s in backend db wan run; do
    if ! "$EB" --help 2>&1 | grep -qE "^  $s "; then
      echo "SKIP: this build has no 'edgebench $s', which the lab runs"
      exit 0
    fi
  done
}

# Pids of the children a `lab --verbose` logged ("started NAME (pid N)").
lab_pids() { sed -n 's/.*started .* (pid \([0-9]*\)).*/\1/p' "$1"; }

# Processes of a finished lab still alive: its children and every member of
# their process groups (PostgreSQL's own processes, grandchildren). Zombies
# waiting for a reaper do not count.
lab_leftovers() {
  local p q left=""
  for p in $(lab_pids "$1"); do
    for q in $p $(ps -eo pid=,pgid= | awk -v g="$p" '$2 == g { print $1 }'); do
      if [ -r "/proc/$q/status" ] && ! grep -q '^State:[[:space:]]*[ZX]' "/proc/$q/status" 2>/dev/null; then
        left+="$q($(cat "/proc/$q/comm" 2>/dev/null)) "
      fi
    done
  done
  echo "$left"
}

# wait_for_line FILE REGEX [tenths of a second]
wait_for_line() {
  local f=$1 re=$2 n=${3:-300} i
  for ((i = 0; i < n; i++)); do
    grep -qE "$re" "$f" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# wait_exit PID [tenths of a second]: waits for a background job; sets RC.
wait_exit() {
  local p=$1 n=${2:-300} i
  for ((i = 0; i < n; i++)); do
    kill -0 "$p" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$p" 2>/dev/null; then RC=timeout; kill -9 "$p"; fi
  wait "$p"
  local rc=$?
  [ "${RC:-}" = timeout ] || RC=$rc
}

# The ranked region order of a Markdown table on stdout.
table_order() { grep -Eo '^\| *[^|]* *\| *(\*\*)?[a-z]{3}(\*\*)? *\|' "$1" | awk -F'|' '{ gsub(/[* ]/, "", $3); print $3 }' | tr '\n' ' '; }
