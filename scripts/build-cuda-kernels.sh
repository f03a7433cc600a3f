#!/usr/bin/env bash
# Builds the fused CUDA manifold kernels (native/cuda) and their standalone test program with nvcc, whether or not
# the libtorch in use has CUDA. Output: build-cuda/manifold_cuda_test (run it; it reports "skipped" without a GPU).
# Env: MDISTILL_CUDA_ARCH (default 80), MDISTILL_CUDA_BUILD_DIR (default build-cuda), CUDACXX (default: nvcc on PATH).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${MDISTILL_CUDA_BUILD_DIR:-$root/build-cuda}"
arch="${MDISTILL_CUDA_ARCH:-80}"
nvcc_bin="${CUDACXX:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}"
if [ ! -x "$nvcc_bin" ]; then
  echo "build-cuda-kernels: nvcc not found (set CUDACXX or put nvcc on PATH)" >&2
  exit 2
fi
mkdir -p "$build"
cmake -S "$root/native/cuda" -B "$build" -DCMAKE_CUDA_COMPILER="$nvcc_bin" -DCMAKE_CUDA_ARCHITECTURES="$arch" \
  -DCMAKE_BUILD_TYPE=Release > "$build/configure.log" 2>&1 || { cat "$build/configure.log" >&2; exit 1; }
cmake --build "$build" --parallel "${MDISTILL_BUILD_JOBS:-2}"
echo "$build/manifold_cuda_test"
