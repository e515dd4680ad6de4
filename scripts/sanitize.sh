#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The sanitizer runs meant for CI (issue 12), after the normal build and tests of .ci/run:
#   asan: every test but the end-to-end tuning ones (ctest label e2e), the other languages'
#         clients (clients) and the packaging/Prometheus tool checks (tools), built with ASan+UBSan
#         (LeakSanitizer included) in build-asan;
#   tsan: the threaded parts (daemon loop and collection worker, control server, C++ client,
#         metrics exposer, knobd run as a child process) built with TSan in build-tsan.
# Usage: scripts/sanitize.sh [asan] [tsan]   (no argument: both)
# They are not in scripts/test.sh, the README's test command: a developer's edit-test loop
# should not pay two more full builds. .ci/run runs both after it (docs/benchmarks.md
# "Sanitizer runs" has the times).
# Every process a test starts (knobd, knobctl, the example service) is instrumented too, and
# each writes its reports to its own file under the build dir's sanitizer-logs/ (log_path), so
# a report from a child whose exit status no test checks still fails the run.
# Suppressions (tests/sanitizers/*.supp) are for dependencies only, each with its reason.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
JOBS=${JOBS:-$(nproc)}
launcher=()
if command -v ccache >/dev/null; then
  export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$root}
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi

# The threaded parts: ctest runs only the tests of the directories named here.
TSAN_TEST_DIRS=(tests/unit/daemon tests/unit/client tests/integration/control
                tests/integration/daemon)
TSAN_TARGETS=(daemon_test client_test control_integration_test operator_integration_test
              daemon_integration_test adversarial_test state_fault_test soak_test knobd knobctl
              knob-example-service knob-loadgen knob_man)

# What the ASan run builds: everything its ctest runs (below) and the programs those tests start;
# not the adapters, the benchmarks' own programs or the other languages' clients, whose tests
# are left to the normal build (labels e2e, clients, tools; ctest's "X_NOT_BUILT" stand-ins for
# the test binaries not built here are skipped too).
ASAN_TARGETS=(client_test collectors_test collectors_integration_test config_test control_test
              control_integration_test core_test daemon_test daemon_integration_test
              adversarial_test state_fault_test soak_test socket_scale_test fuzz_smoke_test
              observed_mrc_test operator_integration_test optimizers_test override_hold_test
              protocol_test tuning_bar_met_test tuning_short_test knobd knobctl
              knob-example-service knob-loadgen knob_collectors_child knob_man)

# -O1: fast enough to run the suite, still a faithful stack; -g1: line numbers in reports.
# Warnings are the normal build's job (-Werror there): a sanitizer build fails on findings.
configure() {  # dir, options...
  local dir=$1; shift
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" \
    -DCMAKE_C_FLAGS_DEBUG="-O1 -g1" "${launcher[@]}" "$@" >/dev/null
}

# run_asan/run_tsan are called as `run_x || status=1`, where bash ignores set -e inside them:
# a failed configure or build must end the script here, not run the tests of a stale build.
die() { echo "sanitize: $*" >&2; exit 1; }

# Fails when any process left a report.
check_logs() {  # logdir, name
  local logs=$1 name=$2
  if compgen -G "$logs/*" >/dev/null; then
    echo "sanitize: $name reports:" >&2
    for f in "$logs"/*; do echo "--- $f" >&2; cat "$f" >&2; done
    return 1
  fi
}

run_asan() {
  local dir=build-asan logs
  # clang: its ASan+UBSan build of a translation unit takes ~30% less time than GCC's at -O1
  # (measured, docs/benchmarks.md "Sanitizer runs"), which is most of this run's cost.
  configure "$dir" -DKNOB_SANITIZE=ON -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 ||
    die "asan: configure failed"
  nice -n 10 cmake --build "$dir" -j "$JOBS" --target "${ASAN_TARGETS[@]}" ||
    die "asan: build failed"
  logs=$root/$dir/sanitizer-logs
  rm -rf "$logs" && mkdir -p "$logs"
  local rc=0
  ASAN_OPTIONS="log_path=$logs/asan:detect_leaks=1:strict_string_checks=1:check_initialization_order=1:detect_stack_use_after_return=0" \
  UBSAN_OPTIONS="log_path=$logs/ubsan:print_stacktrace=1" \
  LSAN_OPTIONS="suppressions=$root/tests/sanitizers/lsan.supp:print_suppressions=0" \
    ctest --test-dir "$dir" --output-on-failure -j "$JOBS" --timeout 300 \
      -LE 'e2e|tuning_bar|clients|tools' -E '_NOT_BUILT$' || rc=$?
  check_logs "$logs" asan || rc=1
  return $rc
}

run_tsan() {
  local dir=build-tsan logs
  configure "$dir" -DKNOB_TSAN=ON -DKNOB_WERROR=ON || die "tsan: configure failed"
  nice -n 10 cmake --build "$dir" -j "$JOBS" --target "${TSAN_TARGETS[@]}" || die "tsan: build failed"
  logs=$root/$dir/sanitizer-logs
  rm -rf "$logs" && mkdir -p "$logs"
  local rc=0 d
  for d in "${TSAN_TEST_DIRS[@]}"; do
    TSAN_OPTIONS="log_path=$logs/tsan:suppressions=$root/tests/sanitizers/tsan.supp:second_deadlock_stack=1:halt_on_error=0" \
      ctest --test-dir "$dir/$d" --output-on-failure -j "$JOBS" --timeout 300 -LE e2e || rc=$?
  done
  check_logs "$logs" tsan || rc=1
  return $rc
}

what=("$@")
[ ${#what[@]} -eq 0 ] && what=(asan tsan)
status=0
for w in "${what[@]}"; do
  case $w in
    asan) run_asan || status=1 ;;
    tsan) run_tsan || status=1 ;;
    *) echo "sanitize: unknown run '$w' (asan, tsan)" >&2; exit 2 ;;
  esac
done
exit $status
