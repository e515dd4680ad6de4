#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs the end-to-end tuning scenario by hand (the same code as the ctest
# TuningE2eTest.ApplyModeRaisesThroughputWithinConstraintsAndSurvivesRestart) and keeps its
# temporary directory: knobd.yaml, knobd-1.log / knobd-2.log, service and load generator output,
# state/brain-state.json. The summary lines start with "[ e2e ]".
#
#   tests/integration/e2e/run_e2e.sh                 # as in CI: stop after 3 verified raises
#   RAISES=100 TUNE_SECONDS=90 tests/integration/e2e/run_e2e.sh   # let it run to its plateau
#
# BUILD_DIR (default build) is configured and built if needed.
set -euo pipefail
cd "$(dirname "$0")/../../.."
BUILD_DIR=${BUILD_DIR:-build}
[ -f "$BUILD_DIR/CMakeCache.txt" ] || cmake -S . -B "$BUILD_DIR" -DKNOB_WERROR=ON
cmake --build "$BUILD_DIR" -j2 --target e2e_integration_test knobd knobctl knob-example-service knob-loadgen
KNOB_E2E_KEEP=1 KNOB_E2E_RAISES=${RAISES:-3} KNOB_E2E_TUNE_SECONDS=${TUNE_SECONDS:-50} \
  "$BUILD_DIR/tests/integration/e2e/e2e_integration_test"
