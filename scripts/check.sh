#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The code-habit checks CI runs before the tests (issue 10):
#   1. clang-format: every C++ file is formatted (.clang-format);
#   2. the one-way folder dependencies (scripts/check_layers.py), and an SPDX license line in
#      every source file (scripts/spdx.sh, issue 13);
#   3. clang-tidy (.clang-tidy) on the C++ sources changed since KNOB_TIDY_BASE (default: the
#      previous commit), clean. KNOB_TIDY_BASE=all checks every source (slow: ~8 s a file).
# Needs a configured build directory (compile_commands.json) for step 3: run after scripts/build.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}

mapfile -t cxx < <(git ls-files '*.cc' '*.h' '*.c')
echo "check: clang-format on ${#cxx[@]} files" >&2
clang-format --dry-run -Werror "${cxx[@]}"

echo "check: include directions" >&2
python3 scripts/check_layers.py

echo "check: SPDX license lines" >&2
scripts/spdx.sh --check

base=${KNOB_TIDY_BASE:-HEAD~1}
if [ "$base" = all ]; then
  mapfile -t changed < <(git ls-files '*.cc' | grep -v '^tests/')
elif git rev-parse -q --verify "$base^{commit}" >/dev/null; then
  mapfile -t changed < <( { git diff --name-only --diff-filter=AMR "$base" -- '*.cc';
                            git ls-files --others --exclude-standard -- '*.cc'; } |
                          grep -v '^tests/' | sort -u)
else
  echo "check: no commit $base: clang-tidy skipped" >&2
  changed=()
fi
if [ ${#changed[@]} -gt 0 ]; then
  echo "check: clang-tidy on ${#changed[@]} changed sources" >&2
  run-clang-tidy -quiet -p "$BUILD_DIR" -j "${JOBS:-$(nproc)}" "${changed[@]/#/$PWD/}" >/tmp/knob-tidy.$$ 2>&1 || {
    grep -E 'error:|warning:' /tmp/knob-tidy.$$ | grep -v 'warnings generated' >&2 || cat /tmp/knob-tidy.$$ >&2
    rm -f /tmp/knob-tidy.$$; exit 1; }
  rm -f /tmp/knob-tidy.$$
fi
echo "check: ok" >&2
