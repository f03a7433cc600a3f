// The ATen engine's batched matrix product for attention: out[g] = a[g] @ b[g].
// Debian's libtorch runs at::bmm as one multi-threaded BLAS call per matrix; for attention-sized matrices
// (~200×64) the thread hand-off costs more than the math (5× slower than one thread, measured). Here the batch
// is split across threads instead, each matrix running single-threaded BLAS. Differentiable (custom autograd
// function whose backward uses the same kernel). at::matmul is the plain reference it is tested against.
#pragma once
#include <ATen/ATen.h>

namespace mdistill::gemm {

// a: [G, M, K], b: [G, K, N], any strides (transposed and expanded views work without a copy). Returns [G, M, N].
at::Tensor AtenBatchedMatmul(const at::Tensor& a, const at::Tensor& b);

}  // namespace mdistill::gemm
