#!/usr/bin/env bash
# The test command: installs what is missing, builds (warnings are errors), runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
BUILD_DIR=${BUILD_DIR:-build} scripts/build.sh -DKNOB_WERROR=ON
cd "${BUILD_DIR:-build}"
# Every test but the end-to-end ones runs once: a failure is a failure.
ctest --output-on-failure -j "${JOBS:-$(nproc)}" --timeout 300 -LE e2e
# The end-to-end tuning tests (ctest label e2e) measure a real service on a shared 2-core machine,
# where a neighbour's burst can swing one measurement: a failed one runs once more before it
# counts as failed. Both runs' output is kept; one that fails twice fails the build.
ctest --output-on-failure -j "${JOBS:-$(nproc)}" --timeout 300 -L e2e --repeat until-pass:2
# Coverage-guided fuzzing of every external-input parser (libFuzzer, clang-14, ASan+UBSan), a
# bounded KNOB_FUZZ_SECONDS per target from the checked-in seed corpora (issue 12).
cd - >/dev/null
scripts/fuzz.sh
