// The GEMM layer (native/gemm/) against ATen, one op at a time: Linear and Matmul forward and backward on odd shapes
// and strided views, on oneDNN in float32 (1e-5 relative) and bfloat16 (against the same bfloat16-rounded operands
// in float32, and against float32 within a bfloat16 tolerance); float64 gradient checks through the fallback; the
// bfloat16 replica's refresh. Reports through check_report.h.
#pragma once

namespace mdistill::tests {

void RunGemmChecks();

}  // namespace mdistill::tests
