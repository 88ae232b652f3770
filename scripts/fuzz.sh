#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/fuzz_*.cpp) in the `fuzz` preset (clang-14, ASan,
# UBSan) into build/fuzz and runs each for SECONDS (default 10) through ctest, seeded from
# tests/fuzz/corpus/<target>/. New corpus entries stay in build/fuzz/tests/fuzz/corpus/; a crash
# leaves its input in build/fuzz/tests/fuzz/artifacts/ and fails the run.
#
#   scripts/fuzz.sh [seconds]
set -euo pipefail

seconds=${1:-10}
[[ $seconds =~ ^[0-9]+$ && $seconds -gt 0 ]] || { echo "usage: $0 [seconds]" >&2; exit 2; }
cd "$(dirname "$0")/.."

cmake --preset fuzz -DDW_FUZZ_SECONDS="$seconds" >/dev/null
# Only the fuzz targets and what they link: the other folders play no part in fuzzing.
cmake --build --preset fuzz --target dw_fuzz
ctest --preset fuzz -L fuzz
