// The dtypes of the GEMM layer's products. float32 by default. Under --amp the training step turns on ATen's CPU
// autocast with bfloat16 (train/distill_step.cc); the GEMM layer reads that state, so float32 products then take
// bfloat16 operands, accumulate in float32 and return float32 (LayerNorm, softmax and the losses stay float32).
// A model held in bfloat16 (the teacher under --amp, model/bf16_replica.h) gets bfloat16 products throughout.
#pragma once
#include <ATen/ATen.h>

namespace mdistill::gemm {

// Whether ATen's CPU autocast is on with bfloat16 on this thread.
bool Bf16Wanted();

// The dtype both operands are converted to: float64 if either is float64; bfloat16 if either is bfloat16 or
// Bf16Wanted(); float32 otherwise.
at::ScalarType OperandType(const at::Tensor& a, const at::Tensor& b);

// The product's dtype: the operand dtype for float64, bfloat16 when the first operand (the activation) is
// bfloat16, float32 otherwise.
at::ScalarType ResultType(const at::Tensor& a, at::ScalarType operand);

}  // namespace mdistill::gemm
