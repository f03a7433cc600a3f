// Batched matrix products on the GEMM layer: attention's q·kᵀ and attn·v, CaiT's talking heads and class attention.
#pragma once
#include <ATen/ATen.h>

namespace mdistill::gemm {

// alpha·a·b for a [..., M, K] and b [..., K, N] of the same rank (2 or more), batch dims equal or 1 in one of
// them (broadcast); any strides, so kᵀ is k.transpose(-2, -1) with no copy. Differentiable in a and b.
// With the oneDNN engine, CPU tensors go through our autograd function (dA = alpha·dC·bᵀ, dB = alpha·aᵀ·dC, summed
// over broadcast batch dims), each a product on the strides at hand (precision.h says in which dtype); float64 takes
// the same function with ATen doing the products. The ATen engine splits 3-D batches across threads
// (aten_batched_matmul.h); CUDA tensors use at::matmul.
at::Tensor Matmul(const at::Tensor& a, const at::Tensor& b, double alpha = 1.0);

}  // namespace mdistill::gemm
