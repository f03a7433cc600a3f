// Reorders the tokens of [B, L, C] features by one permutation shared by every image: out[b, j] = x[b, order[j]].
// Swin's window partition with its cyclic shift, and the reverse, are such permutations. On the CPU this is one
// pass of row copies (ATen's index_select along dim 1, and its index_add backward, pay a TensorIterator per row);
// the backward is the same pass with the inverse permutation.
#pragma once
#include <ATen/ATen.h>

namespace mdistill::model {

// order and inverse: int64 [L] permutations, inverse[order[j]] == j, on the features' device. Differentiable.
at::Tensor PermuteTokens(const at::Tensor& x, const at::Tensor& order, const at::Tensor& inverse);

}  // namespace mdistill::model
