#include "gemm/linear.h"

#include <torch/csrc/autograd/custom_function.h>

#include "core/error.h"
#include "core/shape_text.h"
#include "gemm/gemm_engine.h"
#include "gemm/precision.h"
#include "gemm/product.h"

namespace mdistill::gemm {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

void CheckShapes(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
  const bool ok = x.dim() >= 1 && weight.dim() == 2 && x.size(-1) == weight.size(1) &&
                  (!bias.defined() || (bias.dim() == 1 && bias.size(0) == weight.size(0)));
  if (!ok) {
    throw Error(codes::kShapeMismatch, "Linear: input " + ShapeText(x.sizes()) + ", weight " + ShapeText(weight.sizes()) +
                                           (bias.defined() ? ", bias " + ShapeText(bias.sizes()) : "") + " do not fit");
  }
}

std::vector<int64_t> OutputSizes(const at::Tensor& x, const at::Tensor& weight) {
  std::vector<int64_t> sizes = x.sizes().vec();
  sizes.back() = weight.size(0);
  return sizes;
}

// The forward product on [M, in] rows; `preActivation` (when given) receives x·Wᵀ + b before GELU.
at::Tensor Forward(const at::Tensor& x2, const at::Tensor& w, const at::Tensor& bias, bool gelu, at::ScalarType result,
                   at::Tensor* preActivation) {
  at::Tensor y = at::empty({x2.size(0), w.size(0)}, x2.options().dtype(result));
  ProductInto(y, x2, w.t(), {bias, gelu && !preActivation});
  if (!gelu || !preActivation) return y;
  *preActivation = y;
  return at::gelu(y);
}

// libtorch 1.13's custom functions take no undefined tensor argument: a Linear without bias passes this instead.
at::Tensor NoBias(const at::Tensor& weight) { return at::empty({0}, weight.options().requires_grad(false)); }

class LinearFunction : public torch::autograd::Function<LinearFunction> {
 public:
  // bias: [out], or NoBias().
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& weight, const at::Tensor& biasArg,
                            bool gelu, bool productsReadIt) {
    const at::Tensor bias = biasArg.numel() > 0 ? biasArg : at::Tensor();
    const at::ScalarType operand = OperandType(x, weight);
    // The operands as the products use them, kept for backward (under --amp: bfloat16, half the memory).
    const at::Tensor x2 = x.reshape({-1, x.size(-1)}).to(operand);
    const at::Tensor w = weight.to(operand);
    at::Tensor h;
    at::Tensor y = Forward(x2, w, bias, gelu, ResultType(weight.scalar_type(), operand, productsReadIt), gelu ? &h : nullptr);
    ctx->save_for_backward({x2, w, h});
    ctx->saved_data["x_sizes"] = x.sizes().vec();
    ctx->saved_data["x_type"] = static_cast<int64_t>(x.scalar_type());
    ctx->saved_data["weight_type"] = static_cast<int64_t>(weight.scalar_type());
    ctx->saved_data["bias_type"] = static_cast<int64_t>(bias.defined() ? bias.scalar_type() : weight.scalar_type());
    return y.view(OutputSizes(x, weight));
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor& x2 = saved[0];
    const at::Tensor& w = saved[1];
    const at::Tensor& h = saved[2];
    const auto type = [&](const char* key) { return static_cast<at::ScalarType>(ctx->saved_data[key].toInt()); };
    at::Tensor g = grads[0].reshape({-1, w.size(0)});
    if (h.defined()) g = at::gelu_backward(g, h);
    const at::Tensor gOperand = g.to(x2.scalar_type());
    at::Tensor dx, dw, db;
    if (ctx->needs_input_grad(0)) {
      dx = at::empty({x2.size(0), x2.size(1)}, g.options().dtype(type("x_type")));
      ProductInto(dx, gOperand, w);  // dX = dY·W
      dx = dx.view(ctx->saved_data["x_sizes"].toIntVector());
    }
    if (ctx->needs_input_grad(1)) {
      dw = at::empty({w.size(0), w.size(1)}, g.options().dtype(type("weight_type")));
      ProductInto(dw, gOperand.t(), x2);  // dW = dYᵀ·X
    }
    if (ctx->needs_input_grad(2)) db = g.sum(0, false, type("bias_type"));  // never for NoBias(), which needs no gradient
    return {dx, dw, db, at::Tensor(), at::Tensor()};
  }
};

}  // namespace

at::Tensor Linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, bool gelu, bool productsReadIt) {
  if (ActiveEngine() == Engine::kAten || !x.is_cpu()) {
    at::Tensor y = at::linear(x, weight, bias);
    if (!gelu) return y;
    // Without autograd the widest activation can be overwritten in place (with it, GELU's backward needs its input).
    return at::GradMode::is_enabled() ? at::gelu(y) : at::gelu_(y);
  }
  CheckShapes(x, weight, bias);
  const bool grad = at::GradMode::is_enabled() &&
                    (x.requires_grad() || weight.requires_grad() || (bias.defined() && bias.requires_grad()));
  if (grad) return LinearFunction::apply(x, weight, bias.defined() ? bias : NoBias(weight), gelu, productsReadIt);
  const at::ScalarType operand = OperandType(x, weight);
  at::Tensor y = Forward(x.reshape({-1, x.size(-1)}).to(operand), weight.to(operand), bias, gelu,
                         ResultType(weight.scalar_type(), operand, productsReadIt), nullptr);
  return y.view(OutputSizes(x, weight));
}

}  // namespace mdistill::gemm
