#!/usr/bin/env bash
# run_with_venv.sh NAME COMMAND...: runs a check with the PyPI tools of the venv
# ~/.cache/llm-worker/NAME first on PATH (so `python` is its python): deploy-venv
# (scripts/setup-deploy-tools.sh) or test-venv (scripts/setup-test-tools.sh).
# Without that venv the check is skipped (exit 77), or fails under
# LLMW_REQUIRE_MODELS=1 as scripts/test.sh sets it.
VENV="${LLMW_CACHE_DIR:-$HOME/.cache/llm-worker}/$1"
shift
if [[ ! -x "$VENV/bin/python" ]]; then
  echo "tools missing in $VENV (scripts/setup-deploy-tools.sh or setup-test-tools.sh installs them)"
  [[ "${LLMW_REQUIRE_MODELS:-}" == "1" ]] && exit 1
  exit 77
fi
export PATH="$VENV/bin:$PATH"
exec "$@"
