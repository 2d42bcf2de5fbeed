#!/usr/bin/env bash
# setup-venv.sh NAME PACKAGE==VERSION...: makes the venv
# ~/.cache/llm-worker/NAME with exactly these PyPI packages once (a stamp
# remembers the list) and prints its path. scripts/setup-deploy-tools.sh and
# scripts/setup-test-tools.sh say which packages and why.
set -euo pipefail

VENV="${LLMW_CACHE_DIR:-$HOME/.cache/llm-worker}/$1"
shift
STAMP="$VENV/llmw-packages"

if [[ -x "$VENV/bin/python" && "$(cat "$STAMP" 2>/dev/null)" == "$*" ]]; then
  echo "$VENV"
  exit 0
fi

python3 -m venv "$VENV"
echo "setup-venv: installing $* into $VENV" >&2
"$VENV/bin/pip" install --quiet --disable-pip-version-check "$@" >&2
echo "$*" > "$STAMP"
echo "$VENV"
