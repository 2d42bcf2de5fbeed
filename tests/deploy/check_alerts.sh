#!/usr/bin/env bash
# promtool checks the alert rules and runs their unit tests (each alert fires
# and clears); a copy with a raised threshold must fail those tests.
#   usage: check_alerts.sh SOURCE_DIR
set -uo pipefail
rules="$1/deploy/prometheus"
if ! command -v promtool >/dev/null; then
  echo "promtool is not installed (scripts/setup.sh installs it)"
  [[ "${LLMW_REQUIRE_MODELS:-}" == "1" ]] && exit 1
  exit 77
fi
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

promtool check rules "$rules/alerts.yaml" || fail "promtool check rules"
(cd "$rules" && promtool test rules alerts_test.yaml) || fail "promtool test rules"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
sed 's/llmw_requests_waiting > 32/llmw_requests_waiting > 1000/' "$rules/alerts.yaml" >"$work/alerts.yaml"
cp "$rules/alerts_test.yaml" "$work/"
cmp -s "$rules/alerts.yaml" "$work/alerts.yaml" && fail "the guard's edit changed nothing"
(cd "$work" && promtool test rules alerts_test.yaml >/dev/null 2>&1) &&
  fail "promtool test rules passed with the queue alert's threshold raised"

((failures == 0)) || exit 1
echo "all checks passed"
