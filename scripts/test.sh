#!/usr/bin/env bash
# The whole test suite, as CI runs it: install dependencies, build with -Werror (assertions
# on), run unit and integration tests (real PostgreSQL 15 servers on loopback), run the
# integration tests again against an ASan+UBSan build of the proxy, then a short libFuzzer
# smoke run of every fuzz target. Long load and soak runs live in bench/.
#   scripts/test.sh            everything
#   scripts/test.sh LABEL      only ctest's LABEL (unit, integration, drivers)
#   DW_ASAN=0                  skip the sanitizer run
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

if [[ -z $label && ${DW_ASAN:-1} != 0 ]]; then
  # A sanitizer error or leak makes the proxy exit non-zero or die, which fails the tests.
  cmake --preset asan >/dev/null
  cmake --build --preset asan --target dwproxy dwctl integration_tests -j "$jobs"
  ASAN_OPTIONS=detect_leaks=1:halt_on_error=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    build/asan/tests/integration_tests --gtest_brief=1
  # And through the dual-write relay in phase 2 (every read sampled), as ctest's
  # integration_dual_relay does.
  DW_IT_PHASE=2 ASAN_OPTIONS=detect_leaks=1:halt_on_error=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    build/asan/tests/integration_tests --gtest_brief=1 \
    --gtest_filter='-control.*:dual_write.*:table_compare.*:shadow_read.*:backfill.*:verify_repair.*'
fi

fuzz_seconds=${DW_FUZZ_SECONDS:-10}
if [[ -z $label && $fuzz_seconds != 0 ]]; then
  scripts/fuzz.sh "$fuzz_seconds"
fi
