#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Reproduces the tuning benchmark of docs/benchmarks.md: builds knob-tuning-bench, runs every
# tuner on every scenario (--short: the three short-mode scenarios), writes the table and the
# series to OUT (default build/tuning) and draws one PNG per scenario with gnuplot (Debian
# gnuplot-nox, installed by scripts/install-deps.sh).
#   [DOCS=1] bench/tuning/run.sh [--full | --short] [OUT]
set -euo pipefail
cd "$(dirname "$0")/../.."
MODE=--full
if [ "${1:-}" = "--full" ] || [ "${1:-}" = "--short" ]; then MODE=$1; shift; fi
OUT=${1:-build/tuning}
BUILD_DIR=${BUILD_DIR:-build}
if ! command -v gnuplot >/dev/null; then
  echo "bench/tuning/run.sh: gnuplot is missing (scripts/install-deps.sh installs gnuplot-nox)" >&2
  exit 1
fi
if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$BUILD_DIR" -j"$(nproc)" --target knob-tuning-bench >/dev/null
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
start=$(date +%s.%N)
"$BUILD_DIR/bench/tuning/knob-tuning-bench" "$MODE" --out "$OUT" | tee "$OUT/run.log"
for gp in "$OUT"/plots/*.gp; do gnuplot "$gp"; done
# DOCS=1: refresh the plots docs/benchmarks.md shows.
if [ "${DOCS:-0}" = 1 ]; then mkdir -p docs/img && cp "$OUT"/plots/tuning-*.png docs/img/; fi
end=$(date +%s.%N)
printf 'tuning benchmark %s: %.1f s (run and plots); table %s/tuning-results.md, plots %s/plots/\n' \
  "$MODE" "$(awk "BEGIN{print $end - $start}")" "$OUT" "$OUT" | tee -a "$OUT/run.log"
