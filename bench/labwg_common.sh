# Shared by bench/labwg_*.sh (sourced): the binary (EB_BIN, else a Release
# build), a work directory, and `lab_json OUT ARGS...` running `edgebench lab`.
set -u
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
W=$(mktemp -d "${TMPDIR:-/tmp}/eblabwg.XXXXXX")
trap 'rm -rf "$W"' EXIT
if [ "$(id -u)" -ne 0 ]; then echo "bench/labwg: needs root (network namespaces)" >&2; exit 1; fi
if [ -z "${EB_BIN:-}" ]; then
  echo "building a Release edgebench into $W/build ..." >&2
  cmake -S "$SRC" -B "$W/build" -DCMAKE_BUILD_TYPE=Release -DEB_TESTS=OFF >/dev/null &&
    cmake --build "$W/build" -j2 --target edgebench >/dev/null || { echo "build failed" >&2; exit 1; }
  EB_BIN=$W/build/edgebench
fi
EB=$EB_BIN
"$EB" netlab check >/dev/null || { "$EB" netlab check; exit 1; }
# lab_json NAME ARGS...: runs the lab, results in $W/NAME/results.json.
lab_json() {
  local name=$1; shift
  "$EB" lab --out "$W/$name" "$@" >"$W/$name.out" 2>"$W/$name.err" ||
    { echo "edgebench lab $* failed:" >&2; tail -n 20 "$W/$name.err" >&2; exit 1; }
}
# field FILE REGION KEY
field() { jq -r --arg r "$2" --arg k "$3" '.regions[] | select(.region == $r) | .[$k]' "$1"; }
