#!/usr/bin/env bash
# The test command: installs what is missing, builds with -Werror under
# AddressSanitizer + UndefinedBehaviorSanitizer, checks formatting, and runs
# the whole suite (unit tests and integration tests against a real
# PostgreSQL, real processes and network namespaces) with ctest.
# Usage: scripts/test.sh [ctest args...]   e.g. scripts/test.sh -R backend
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh test
dir=build-test
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DEB_WERROR=ON -DEB_SANITIZE=ON >/dev/null
cmake --build "$dir" -j"$(nproc)"
cmake --build "$dir" --target format-check
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cd "$dir"
ctest --output-on-failure --timeout 300 -j2 "$@"
