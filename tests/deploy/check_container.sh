#!/usr/bin/env bash
# The Dockerfile passes hadolint, and its runtime packages match the libraries
# the built binaries link (scripts/check-image-libs.sh); broken copies fail both.
#   usage: check_container.sh SOURCE_DIR LLM_WORKER LLMW
set -uo pipefail
source_dir="$1"
binaries=("$2" "$3")
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

(cd "$source_dir" && hadolint Dockerfile) || fail "hadolint Dockerfile"
printf 'FROM ubuntu\nRUN apt-get update && apt-get install curl\n' >"$work/Dockerfile.bad"
(cd "$source_dir" && hadolint "$work/Dockerfile.bad" >/dev/null) &&
  fail "hadolint accepted an untagged base image and an unconfirmed apt-get install"

"$source_dir/scripts/check-image-libs.sh" "$source_dir/Dockerfile" "${binaries[@]}" ||
  fail "the runtime packages do not match the linked libraries"
sed 's/ libutf8proc3//' "$source_dir/Dockerfile" >"$work/missing"
"$source_dir/scripts/check-image-libs.sh" "$work/missing" "${binaries[@]}" >/dev/null 2>&1 &&
  fail "check-image-libs accepted a runtime stage without utf8proc"
sed 's/ libutf8proc3/ libutf8proc3 libcurl4t64/' "$source_dir/Dockerfile" >"$work/extra"
"$source_dir/scripts/check-image-libs.sh" "$work/extra" "${binaries[@]}" >/dev/null 2>&1 &&
  fail "check-image-libs accepted a runtime package nothing links"

((failures == 0)) || exit 1
echo "all checks passed"
