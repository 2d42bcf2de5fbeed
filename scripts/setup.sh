#!/usr/bin/env bash
# Installs every Debian package the build and the tests need. Idempotent: runs
# apt-get update and install only when something is missing.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git ca-certificates curl openssl
  python3 python3-venv python3-pip
  libabsl-dev libgtest-dev libgmock-dev libbenchmark-dev
  libutf8proc-dev nlohmann-json3-dev libspdlog-dev
  protobuf-compiler libprotobuf-dev libgrpc++-dev protobuf-compiler-grpc
  prometheus-cpp-dev prometheus
  clang libclang-rt-dev llvm
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
echo "setup: installing ${missing[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
