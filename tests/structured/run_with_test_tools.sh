#!/usr/bin/env bash
# Runs a structured-output check with the tools scripts/setup-test-tools.sh
# installs (their venv first on PATH, so `python` is its python). Without them the
# check is skipped (exit 77), or fails under LLMW_REQUIRE_MODELS=1 as
# scripts/test.sh sets it.
VENV="${LLMW_CACHE_DIR:-$HOME/.cache/llm-worker}/test-venv"
if [[ ! -x "$VENV/bin/python" ]]; then
  echo "test tools missing in $VENV (scripts/setup-test-tools.sh installs them)"
  [[ "${LLMW_REQUIRE_MODELS:-}" == "1" ]] && exit 1
  exit 77
fi
export PATH="$VENV/bin:$PATH"
exec "$@"
