#!/usr/bin/env bash
# Configures and builds edgebench. Usage: scripts/build.sh [BUILD_DIR] [cmake args...]
# Default: build/ in Release with -Werror.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DEB_WERROR=ON "$@" >/dev/null
# build output goes to stderr: stdout is the lab's table
cmake --build "$dir" -j"$(nproc)" >&2
