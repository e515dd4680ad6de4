#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Configures and builds knobd into ${BUILD_DIR:-build}. Extra args go to cmake configure.
# KNOB_TARGETS="knobd knobctl" builds only those targets (the run command uses it: no tests).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
JOBS=${JOBS:-$(nproc)}
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo} "$@" >/dev/null
if [ -n "${KNOB_TARGETS:-}" ]; then
  # shellcheck disable=SC2086  # a space-separated list on purpose
  cmake --build "$BUILD_DIR" -j "$JOBS" --target ${KNOB_TARGETS}
else
  cmake --build "$BUILD_DIR" -j "$JOBS"
fi
