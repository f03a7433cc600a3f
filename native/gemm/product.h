// One matrix product written into a given tensor, by whichever engine can do it: the building block of the GEMM
// layer's differentiable ops (linear.h, matmul.h) and of the GEMM benchmark. Not differentiable itself.
#pragma once
#include <ATen/ATen.h>

namespace mdistill::gemm {

struct ProductOptions {
  at::Tensor bias;     // [N], added to every row; or undefined
  bool gelu = false;   // exact GELU after the bias
  double alpha = 1.0;  // scales the product (not combined with a bias)
};

// out = gelu?(alpha·a·b + bias), written into out.
//   a [..., M, K] and b [..., K, N]: one dtype (float32, bfloat16 or float64), any strides (a transpose is a
//   transposed view), batch dims equal to out's or 1 (also as expanded views);
//   out [..., M, N]: float32, or the operands' dtype.
// oneDNN runs it when the thread's engine is oneDNN and it has an optimised kernel for the case; ATen otherwise
// (float64, CUDA, layouts oneDNN declines), computing bfloat16 operands in float32 when out is float32.
void ProductInto(const at::Tensor& out, const at::Tensor& a, const at::Tensor& b, const ProductOptions& options = {});

}  // namespace mdistill::gemm
