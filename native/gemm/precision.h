// The dtypes of the GEMM layer's products. float32 by default. Under --amp the training step turns on ATen's CPU
// autocast with bfloat16 (train/distill_step.cc); the GEMM layer reads that state, so float32 products then take
// bfloat16 operands and accumulate in float32. Their results are float32 where LayerNorm, the residual stream, the
// softmax or a loss reads them, and bfloat16 where only another product does (qkv, the heads' outputs, fc1 through
// GELU): the data those read is rounded to bfloat16 anyway, and half the bytes move.
// A model held in bfloat16 (the teacher under --amp, model/bf16_replica.h) gets bfloat16 products throughout.
#pragma once
#include <ATen/ATen.h>

namespace mdistill::gemm {

// Whether ATen's CPU autocast is on with bfloat16 on this thread.
bool Bf16Wanted();

// The dtype both operands are converted to: float64 if either is float64; bfloat16 if either is bfloat16 or
// Bf16Wanted(); float32 otherwise.
at::ScalarType OperandType(const at::Tensor& a, const at::Tensor& b);

// The product's dtype: float64 for float64 operands; bfloat16 in a bfloat16 model (`model`: a Linear's weight dtype,
// or the first operand's for a product of activations), or when the operands are bfloat16 and `productsReadIt` says
// only other products read the result; float32 otherwise.
at::ScalarType ResultType(at::ScalarType model, at::ScalarType operand, bool productsReadIt = false);

}  // namespace mdistill::gemm
