#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The test command: installs what is missing, builds, runs every test. Warnings are errors in CI
# (CI=1, set by .ci/run, or KNOB_WERROR=ON), not in a user's run: a newer compiler's new warning
# must not stop someone from testing knobd.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
if [ "${CI:-}" = 1 ] || [ "${CI:-}" = true ]; then KNOB_WERROR=${KNOB_WERROR:-ON}; fi
BUILD_DIR=${BUILD_DIR:-build} scripts/build.sh -DKNOB_WERROR="${KNOB_WERROR:-OFF}"
cd "${BUILD_DIR:-build}"
# Every test but the end-to-end ones runs once: a failure is a failure. knobd's bar on the tuning
# benchmark's scenarios it does not meet yet (label tuning_bar, issue 11) are left out: ctest -L tuning_bar.
ctest --output-on-failure -j "${JOBS:-$(nproc)}" --timeout 300 -LE 'e2e|tuning_bar'
# The end-to-end tuning tests (ctest label e2e) measure a real service on a shared 2-core machine,
# where a neighbour's burst can swing one measurement: a failed one runs once more before it
# counts as failed. Both runs' output is kept; one that fails twice fails the build.
ctest --output-on-failure -j "${JOBS:-$(nproc)}" --timeout 300 -L e2e --repeat until-pass:2
# Coverage-guided fuzzing of every external-input parser (libFuzzer, clang-14, ASan+UBSan), a
# bounded KNOB_FUZZ_SECONDS per target from the checked-in seed corpora (issue 12).
cd - >/dev/null
scripts/fuzz.sh
