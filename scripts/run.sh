#!/usr/bin/env bash
# The main job: installs what is missing, builds, and runs `edgebench lab`
# (the whole benchmark on a local world). Extra arguments go to the lab,
# e.g. scripts/run.sh --profile seed --mode compat2rtt
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh run
EB_TARGET=edgebench scripts/build.sh build
exec build/edgebench lab "$@"
