#!/usr/bin/env bash
# The whole test suite, as CI runs it: install dependencies, build with -Werror (assertions
# on), run unit and integration tests (real PostgreSQL 15 servers on loopback), then a short
# libFuzzer smoke run of every fuzz target. Long load and soak runs live in bench/.
#   scripts/test.sh            everything
#   scripts/test.sh unit       unit tests only (no PostgreSQL needed)
#   DW_FUZZ_SECONDS=0          skip the fuzz smoke run
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

jobs=$(nproc)
cmake --preset ci >/dev/null
cmake --build --preset ci -j "$jobs"

label=${1:-}
if [[ -n $label ]]; then
  ctest --preset ci -L "$label"
else
  ctest --preset ci
fi

fuzz_seconds=${DW_FUZZ_SECONDS:-10}
if [[ -z $label && $fuzz_seconds != 0 ]]; then
  scripts/fuzz.sh "$fuzz_seconds"
fi
