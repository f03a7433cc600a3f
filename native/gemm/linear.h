// nn.Linear's product on the GEMM layer: y = x·weightᵀ + bias, optionally followed by exact GELU (timm's fc1).
#pragma once
#include <ATen/ATen.h>

namespace mdistill::gemm {

// x [..., in], weight [out, in], bias [out] or undefined; returns [..., out]. Differentiable in all three.
// productsReadIt: only other products read the result (qkv; fc1 through GELU), so under --amp it is bfloat16.
// With the oneDNN engine, CPU tensors go through our autograd function: dX = dY·W, dW = dYᵀ·X, db = ΣdY, each a
// product on the strides at hand (precision.h says in which dtype). Without autograd the bias and GELU are fused
// into the product; with it GELU runs after, on the kept pre-activation its backward needs. float64 takes the same
// function with ATen doing the products (gradient checks). The ATen engine and CUDA tensors use at::linear.
at::Tensor Linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, bool gelu = false,
                  bool productsReadIt = false);

}  // namespace mdistill::gemm
