#!/usr/bin/env bash
# Runs a deployment check with the tools scripts/setup-deploy-tools.sh installs
# (their venv first on PATH). Without them the check is skipped (exit 77), or
# fails under LLMW_REQUIRE_MODELS=1 as scripts/test.sh sets it.
VENV="${LLMW_CACHE_DIR:-$HOME/.cache/llm-worker}/deploy-venv"
if [[ ! -x "$VENV/bin/python" ]]; then
  echo "deployment tools missing in $VENV (scripts/setup-deploy-tools.sh installs them)"
  [[ "${LLMW_REQUIRE_MODELS:-}" == "1" ]] && exit 1
  exit 77
fi
export PATH="$VENV/bin:$PATH"
exec "$@"
