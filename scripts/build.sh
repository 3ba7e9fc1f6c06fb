#!/usr/bin/env bash
# Configures and builds edgebench. Usage: [EB_TARGET=edgebench] scripts/build.sh [BUILD_DIR] [cmake args...]
# Default: build/ in Release with -Werror.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DEB_WERROR=ON "$@" >/dev/null
# cmake's progress goes to a log, not the terminal: what is printed after is
# the lab's; on failure the end of the log says why. EB_TARGET builds one
# target (scripts/run.sh needs only edgebench, not the test programs).
log=$dir/build.log
if ! cmake --build "$dir" -j"$(nproc)" ${EB_TARGET:+--target "$EB_TARGET"} >"$log" 2>&1; then
  tail -n 40 "$log" >&2
  echo "build failed; the whole log is $log" >&2
  exit 1
fi
echo "built $dir/edgebench (cmake's output: $log)" >&2
