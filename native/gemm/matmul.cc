#include "gemm/matmul.h"

#include <torch/csrc/autograd/custom_function.h>

#include "core/error.h"
#include "core/shape_text.h"
#include "gemm/aten_batched_matmul.h"
#include "gemm/gemm_engine.h"
#include "gemm/precision.h"
#include "gemm/product.h"

namespace mdistill::gemm {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// The product's sizes: the broadcast batch dims, then [M, N]. Throws when a and b do not fit.
std::vector<int64_t> ProductSizes(const at::Tensor& a, const at::Tensor& b) {
  bool ok = a.dim() >= 2 && a.dim() == b.dim() && a.size(-1) == b.size(-2);
  std::vector<int64_t> sizes;
  for (int64_t i = 0; ok && i < a.dim() - 2; ++i) {
    ok = a.size(i) == b.size(i) || a.size(i) == 1 || b.size(i) == 1;
    sizes.push_back(std::max(a.size(i), b.size(i)));
  }
  if (!ok) throw Error(codes::kShapeMismatch, "Matmul: cannot multiply " + ShapeText(a.sizes()) + " by " + ShapeText(b.sizes()));
  sizes.push_back(a.size(-2));
  sizes.push_back(b.size(-1));
  return sizes;
}

at::Tensor Product(const at::Tensor& a, const at::Tensor& b, double alpha, at::ScalarType result) {
  at::Tensor out = at::empty(ProductSizes(a, b), a.options().dtype(result));
  ProductInto(out, a, b, {at::Tensor(), false, alpha});
  return out;
}

// The gradient of one operand: the product over the full batch, summed down to the operand's (broadcast) sizes.
at::Tensor OperandGrad(const at::Tensor& x, const at::Tensor& y, double alpha, at::ScalarType type, at::IntArrayRef sizes) {
  at::Tensor full = Product(x, y, alpha, type);
  return full.sizes() == sizes ? full : full.sum_to_size(sizes);
}

class MatmulFunction : public torch::autograd::Function<MatmulFunction> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& a, const at::Tensor& b, double alpha) {
    const at::ScalarType operand = OperandType(a, b);
    // The operands as the products use them, kept for backward (under --amp: bfloat16, half the memory).
    const at::Tensor ac = a.to(operand), bc = b.to(operand);
    ctx->save_for_backward({ac, bc});
    ctx->saved_data["alpha"] = alpha;
    ctx->saved_data["a_sizes"] = a.sizes().vec();
    ctx->saved_data["b_sizes"] = b.sizes().vec();
    ctx->saved_data["a_type"] = static_cast<int64_t>(a.scalar_type());
    ctx->saved_data["b_type"] = static_cast<int64_t>(b.scalar_type());
    return Product(ac, bc, alpha, ResultType(a.scalar_type(), operand));
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor& a = saved[0];
    const at::Tensor& b = saved[1];
    const double alpha = ctx->saved_data["alpha"].toDouble();
    const auto type = [&](const char* key) { return static_cast<at::ScalarType>(ctx->saved_data[key].toInt()); };
    const at::Tensor g = grads[0].to(a.scalar_type());
    at::Tensor da, db;
    if (ctx->needs_input_grad(0)) da = OperandGrad(g, b.transpose(-2, -1), alpha, type("a_type"), ctx->saved_data["a_sizes"].toIntVector());
    if (ctx->needs_input_grad(1)) db = OperandGrad(a.transpose(-2, -1), g, alpha, type("b_type"), ctx->saved_data["b_sizes"].toIntVector());
    return {da, db, at::Tensor()};
  }
};

}  // namespace

at::Tensor Matmul(const at::Tensor& a, const at::Tensor& b, double alpha) {
  const std::vector<int64_t> sizes = ProductSizes(a, b);
  if (ActiveEngine() == Engine::kAten || !a.is_cpu()) {
    const at::Tensor scaled = alpha != 1.0 ? a * alpha : a;
    if (a.dim() != 3 || !a.is_cpu()) return at::matmul(scaled, b);
    // The thread-split kernel takes one batch size: broadcast operands as expanded views (no copy).
    return AtenBatchedMatmul(scaled.expand({sizes[0], a.size(1), a.size(2)}), b.expand({sizes[0], b.size(1), b.size(2)}));
  }
  const bool grad = at::GradMode::is_enabled() && (a.requires_grad() || b.requires_grad());
  if (grad) return MatmulFunction::apply(a, b, alpha);
  const at::ScalarType operand = OperandType(a, b);
  return Product(a.to(operand), b.to(operand), alpha, ResultType(a.scalar_type(), operand));
}

}  // namespace mdistill::gemm
