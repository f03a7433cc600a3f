// oneDNN's matmul primitive on tensors as libtorch holds them: dims and strides become oneDNN memory descriptors
// (transposes and expanded batch dims are strides, never copies), and primitives are cached by shape, strides,
// dtypes, post-ops and thread count. Runs on libtorch's intra-op thread count (both use the same OpenMP runtime).
// Without oneDNN in the build every call reports "not available" and the caller uses ATen.
#pragma once
#include <ATen/ATen.h>

#include <cstdint>
#include <string>

namespace mdistill::gemm::onednn {

// Whether the build links oneDNN (CMake found its headers and libdnnl).
bool Compiled();
// The loaded library's version ("2.6.3") and effective ISA ("avx512_core_bf16"); empty without oneDNN.
std::string Version();
std::string IsaName();
bool IsaHasAvx512();
bool IsaHasBf16();

struct MatmulCall {
  at::Tensor out;   // [..., M, N] float32, or bfloat16 with bfloat16 operands; written in place
  at::Tensor a, b;  // [..., M, K] and [..., K, N], one dtype (float32 or bfloat16), batch dims equal to out's or 1
  at::Tensor bias;  // [N] contiguous (float32, or bfloat16 with bfloat16 operands), or undefined
  bool gelu = false;   // exact GELU after the bias
  double alpha = 1.0;  // scales the product; not combined with a bias
};

// out = gelu?(alpha·a·b + bias). Returns false, leaving out untouched, when oneDNN is not compiled in or has no
// optimised kernel for this case (its reference implementation is never used); the caller then uses ATen.
bool TryMatmul(const MatmulCall& call);

// How many products oneDNN has run in this process (tests check that a path really reached oneDNN).
uint64_t ProductsRun();

// The oneDNN implementation TryMatmul runs for this case ("brg:avx512_core", "gemm:jit", ...), or "" when it
// would decline. For benchmarks and tests.
std::string ImplementationFor(const MatmulCall& call);

}  // namespace mdistill::gemm::onednn
