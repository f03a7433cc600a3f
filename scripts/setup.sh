#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine for mdistill, idempotently: apt packages that are missing,
# then npm ci (which builds the native addon and the TypeScript). Safe to run again.
#   --peer   also install python3-torch and python3-torchvision (only the peer benchmarks need them)
set -euo pipefail
cd "$(dirname "$0")/.."

# chromium: the report's browser test; python3-onnx: the ONNX checker test; python3-pil: RandAugment's Pillow parity test.
# libdnnl-dev: oneDNN's headers for the matrix products (libtorch already links its libdnnl.so.2).
packages=(libtorch-dev libgloo-dev libdnnl-dev libopenblas0-openmp dataset-fashion-mnist cmake g++ ccache ninja-build
  chromium python3-onnx python3-pil)
for arg in "$@"; do
  case "$arg" in
    --peer) packages+=(python3-torch python3-torchvision) ;;
    *) echo "setup.sh: unknown option '$arg' (known: --peer)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then missing+=("$p"); fi
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "[setup] installing with apt: ${missing[*]}"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "[setup] apt packages already present"
fi

# Debian 13's libtorch-dev 2.x headers for scripts/check-libtorch.sh, unpacked into .cache/ (never installed).
bash scripts/check-libtorch.sh --fetch-only

# onnxruntime-node's install step downloads CUDA files; its CPU binaries ship inside the package.
export ONNXRUNTIME_NODE_INSTALL=skip
export ONNXRUNTIME_NODE_INSTALL_CUDA=skip
if [ -f package-lock.json ]; then
  npm ci --no-audit --no-fund
else
  npm install --no-audit --no-fund
fi
