#!/usr/bin/env bash
# Installs the PyPI tools the structured-output checks use into a venv under
# ~/.cache/llm-worker/test-venv and prints its path: jsonschema (Draft 2020-12
# validation of generated JSON) with rfc3339-validator (its format checker needs it
# for "date-time" and "time"; "date", "uuid", "email" and "ipv4" use the standard
# library) and lark (an Earley parser that checks grammar-constrained output
# against an independent copy of each grammar). Their dependencies are pinned too,
# so every machine validates with the same code.
set -euo pipefail

PACKAGES=(jsonschema==4.26.0 rfc3339-validator==0.1.4 lark==1.3.1 attrs==26.1.0
  jsonschema-specifications==2025.9.1 referencing==0.37.0 rpds-py==2026.9.1 six==1.17.0
  typing_extensions==4.16.0)
exec "$(dirname "$0")/setup-venv.sh" test-venv "${PACKAGES[@]}"
