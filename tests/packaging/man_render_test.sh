#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Issue 13: every generated man page renders without a single groff warning, with groff
# directly (-ww: all warnings, -z: no output) and through man -l as a reader would see it, and
# knobd.yaml(5) names every policy key of docs/policy.md's tables.
# Usage: man_render_test.sh MAN_DIR SOURCE_DIR
set -euo pipefail
man_dir=$1
src=$2
fail() { echo "man_render_test: FAIL: $*" >&2; exit 1; }
command -v groff >/dev/null || fail "groff is not installed (scripts/install-deps.sh: groff-base)"
command -v man >/dev/null || fail "man is not installed (scripts/install-deps.sh: man-db)"
pages=("$man_dir/man8/knobd.8" "$man_dir/man8/knobctl.8" "$man_dir/man5/knobd.yaml.5")
for page in "${pages[@]}"; do
  [ -s "$page" ] || fail "$page was not generated (target knob_man)"
  [ -s "$page.gz" ] || fail "$page.gz was not generated"
  warnings=$(groff -man -t -Tutf8 -ww -z "$page" 2>&1) || fail "groff failed on $page: $warnings"
  [ -z "$warnings" ] || fail "groff warns on $page:
$warnings"
  text=$(MANWIDTH=80 LC_ALL=C.UTF-8 man -l "$page" 2>"$page.stderr") || fail "man -l $page failed"
  [ ! -s "$page.stderr" ] || fail "man -l warns on $page: $(cat "$page.stderr")"
  rm -f "$page.stderr"
  for section in NAME SYNOPSIS DESCRIPTION; do
    [ "$section" = SYNOPSIS ] && [[ $page == *knobd.yaml.5 ]] && continue
    grep -q "^$section" <<<"$text" || fail "$page has no $section section"
  done
  [ "$(zcat "$page.gz" | md5sum)" = "$(md5sum <"$page")" ] || fail "$page.gz is stale"
done
# Every key in a policy.md table row (| `key` | ...) appears in knobd.yaml(5).
yaml_text=$(MANWIDTH=200 man -l "$man_dir/man5/knobd.yaml.5" 2>/dev/null)
missing=()
keys=0
while read -r key; do
  keys=$((keys + 1))
  grep -qF -- "$key" <<<"$yaml_text" || missing+=("$key")
done < <(sed -n 's/^| `\([a-z_][a-z0-9_.]*\)` |.*/\1/p' "$src/docs/policy.md" | sort -u)
[ "$keys" -gt 50 ] || fail "found only $keys policy keys in docs/policy.md's tables: is the pattern stale?"
[ ${#missing[@]} -eq 0 ] || fail "knobd.yaml(5) lacks policy keys: ${missing[*]}"
echo "man_render_test: ${#pages[@]} pages render cleanly; knobd.yaml(5) names all $keys policy keys" >&2
