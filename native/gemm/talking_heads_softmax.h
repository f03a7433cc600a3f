// CaiT's talking-heads softmax in one pass over the attention maps, for inference (the teacher's forward): at each
// position (image b, query i, key j) the heads are mixed by proj_l, each head's row is softmaxed over j, and the
// heads are mixed again by proj_w. The composition makes five memory-bound passes over the [B, H, N, N] maps (two
// head-mixing products, two bias additions, the softmax); here each query row's H×N block is read once, kept in
// cache through the three steps, and written back in place.
#pragma once
#include <ATen/ATen.h>

namespace mdistill::gemm {

// Whether TalkingHeadsSoftmaxInPlace takes these maps: a contiguous float32 or bfloat16 CPU tensor [B, H, N, N].
bool TalkingHeadsSoftmaxApplies(const at::Tensor& maps);

// maps ← postWeight·softmax_j(preWeight·maps + preBias) + postBias, mixing over the head axis; computed in float32
// whatever the maps' dtype. Weights [H, H], biases [H]. No autograd: call it where no gradient is needed. Throws
// Error(kShapeMismatch) when the maps or the weights do not fit.
void TalkingHeadsSoftmaxInPlace(const at::Tensor& maps, const at::Tensor& preWeight, const at::Tensor& preBias,
                                const at::Tensor& postWeight, const at::Tensor& postBias);

}  // namespace mdistill::gemm
