#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Every source file names its license in its first lines (SPDX, https://spdx.org/licenses/):
#   // SPDX-License-Identifier: Apache-2.0     C and C++ (.cc .h .c .h.in)
#   # SPDX-License-Identifier: Apache-2.0      shell, Python, CMake, YAML, systemd files
# (after the #! line of a script). Test fixtures under tests/data/ are copies of kernel files
# and stay byte-exact.
#   scripts/spdx.sh --check   list the files without the line; exit 1 if any (scripts/check.sh)
#   scripts/spdx.sh --fix     add the line where it is missing
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-}
if [ "$mode" != --check ] && [ "$mode" != --fix ]; then
  echo "usage: scripts/spdx.sh --check | --fix" >&2
  exit 2
fi
tag="SPDX-License-Identifier: Apache-2.0"

comment_for() {  # prints the comment leader for FILE, or nothing when the file is not source
  local f=$1
  case "$f" in
    tests/data/* | tests/fuzz/corpus/*) return ;;  # kernel copies and fuzz seeds are data
    *.cc | *.h | *.c | *.h.in | *.go | *.rs) echo "//" ;;
    *.sh | *.py | *.cmake | */CMakeLists.txt | CMakeLists.txt | *.yaml | *.yml | *.service | \
      *.conf | *.pc.in | *.cmake.in) echo "#" ;;
    *)
      if head -c 2 "$f" 2>/dev/null | grep -q '^#!'; then echo "#"; fi
      ;;
  esac
}

missing=0
while IFS= read -r f; do
  [ -f "$f" ] || continue
  leader=$(comment_for "$f")
  [ -n "$leader" ] || continue
  head -n 3 "$f" | grep -q "SPDX-License-Identifier:" && continue
  if [ "$mode" = --check ]; then
    echo "$f" >&2
    missing=$((missing + 1))
    continue
  fi
  tmp=$(mktemp)
  if head -n 1 "$f" | grep -q '^#!'; then
    { head -n 1 "$f"; echo "$leader $tag"; tail -n +2 "$f"; } >"$tmp"
  else
    case "$f" in
      # A comment right above `package` would become the Go package's documentation.
      *.go) { echo "$leader $tag"; echo; cat "$f"; } >"$tmp" ;;
      *) { echo "$leader $tag"; cat "$f"; } >"$tmp" ;;
    esac
  fi
  chmod --reference="$f" "$tmp"
  mv "$tmp" "$f"
  echo "spdx: added to $f" >&2
done < <(git ls-files --cached --others --exclude-standard)

if [ "$mode" = --check ] && [ "$missing" -gt 0 ]; then
  echo "spdx: $missing file(s) above lack '$tag' in their first 3 lines: run scripts/spdx.sh --fix" >&2
  exit 1
fi
exit 0
