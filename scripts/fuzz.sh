#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Coverage-guided fuzzing in the test command (issue 12): builds the libFuzzer targets of
# tests/fuzz/ with clang-14 (Debian's clang and libclang-rt-14-dev), ASan and UBSan in
# build-fuzz, and runs each for KNOB_FUZZ_SECONDS (default 10) from its checked-in seed corpus
# tests/fuzz/corpus/<target>/. New inputs go to build-fuzz/corpus/<target>/, never into the
# repository; a crash, leak, timeout or out-of-memory fails the run and leaves its input in
# build-fuzz/artifacts/ (turn it into a test in tests/fuzz/findings_test.cc).
# Usage: scripts/fuzz.sh [TARGET...]   (default: every target)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
dir=${FUZZ_BUILD_DIR:-build-fuzz}
seconds=${KNOB_FUZZ_SECONDS:-10}
JOBS=${JOBS:-$(nproc)}
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(proc_parsers protocol policy netlink)
for tool in clang-14 clang++-14; do
  command -v "$tool" >/dev/null || {
    echo "fuzz: $tool not found: scripts/install-deps.sh installs clang-14 and libclang-rt-14-dev" >&2
    exit 1; }
done
launcher=()
if command -v ccache >/dev/null; then
  export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$root}
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
cmake -S . -B "$dir" -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
  -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" -DCMAKE_C_FLAGS_DEBUG="-O1 -g1" \
  -DKNOB_LIBFUZZER=ON -DKNOB_SANITIZE=ON -DKNOB_BUILD_BENCH=OFF "${launcher[@]}" >/dev/null
nice -n 10 cmake --build "$dir" -j "$JOBS" --target "${targets[@]/%/_fuzzer}"
mkdir -p "$dir/artifacts"
status=0
for t in "${targets[@]}"; do
  mkdir -p "$dir/corpus/$t"
  log=$dir/fuzz-$t.log
  if "$dir/tests/fuzz/${t}_fuzzer" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
       -print_final_stats=1 -artifact_prefix="$dir/artifacts/$t-" \
       "$dir/corpus/$t" "tests/fuzz/corpus/$t" >"$log" 2>&1; then
    echo "fuzz: $t: $(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$') runs in ${seconds} s, ok" >&2
  else
    echo "fuzz: $t FAILED (log $log):" >&2
    tail -n 40 "$log" >&2
    status=1
  fi
done
exit $status
