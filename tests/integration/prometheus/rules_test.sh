#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# docs/prometheus/rules.yml: valid (promtool check rules), each alert's unit test passes
# (promtool test rules), every alert has a unit test and a runbook_url whose anchor is a
# `## AlertName` section of docs/troubleshooting.md.
set -euo pipefail
src=${1:?usage: rules_test.sh SOURCE_DIR}
command -v promtool >/dev/null || {
  echo "promtool not found: install the Debian package 'prometheus' (scripts/install-deps.sh)" >&2
  exit 1
}
cd "$src/docs/prometheus"
promtool check rules rules.yml
promtool test rules rules_test.yml
fail=0
alerts=$(sed -n 's/^ *- alert: *\([A-Za-z0-9]*\).*/\1/p' rules.yml)
[ -n "$alerts" ] || { echo "no alerts found in rules.yml" >&2; exit 1; }
for a in $alerts; do
  grep -q "alertname: $a\$" rules_test.yml || { echo "alert $a has no unit test in rules_test.yml" >&2; fail=1; }
  grep -q "^## $a\$" "$src/docs/troubleshooting.md" || { echo "alert $a has no '## $a' section in docs/troubleshooting.md" >&2; fail=1; }
  anchor=$(echo "$a" | tr 'A-Z' 'a-z')
  grep -q "runbook_url: \"docs/troubleshooting.md#$anchor\"" rules.yml || { echo "alert $a: runbook_url must be docs/troubleshooting.md#$anchor" >&2; fail=1; }
done
n_alerts=$(echo "$alerts" | wc -w)
n_urls=$(grep -c 'runbook_url:' rules.yml)
[ "$n_alerts" -eq "$n_urls" ] || { echo "$n_alerts alerts but $n_urls runbook_urls" >&2; fail=1; }
[ $fail -eq 0 ] && echo "rules: $n_alerts alerts, each tested and with a runbook"
exit $fail
