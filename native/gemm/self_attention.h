// Multi-head self-attention's products and softmax over a fused qkv projection: softmax(scale·q·kᵀ)·v per head, with
// CaiT's talking heads (a heads×heads Linear before and after the softmax) when given.
#pragma once
#include <ATen/ATen.h>

namespace mdistill::gemm {

// The two heads-mixing Linears of talking-heads attention ([H, H] weights, [H] biases).
struct TalkingHeads {
  at::Tensor preWeight, preBias;    // proj_l, on the scaled scores
  at::Tensor postWeight, postBias;  // proj_w, on the softmax
};

// qkv [B, N, 3C] as timm's qkv Linear returns it (q, k, v one after another, heads inside each); returns the heads'
// outputs as [B, N, C], the layout the output projection reads. Differentiable in qkv (and the talking-heads
// parameters). With the oneDNN engine on CPU, q, k and v are read in place as strided views and the result is written
// in place, with no split or transpose copies; when autograd needs it and there are no talking heads, one autograd
// function keeps the softmax for backward and writes dq, dk and dv straight into one [B, N, 3C] gradient. Products
// take bfloat16 operands under --amp (precision.h) and the result is bfloat16 then (only the output projection
// reads it); the softmax runs in float32 whenever qkv is float32 or needs a gradient (a bfloat16 model in inference
// keeps bfloat16 scores). The ATen engine, CUDA, and talking heads under autograd compose Matmul and at::softmax.
at::Tensor SelfAttention(const at::Tensor& qkv, int64_t heads, double scale, const TalkingHeads* talking = nullptr);

}  // namespace mdistill::gemm
