#include "gemm/aten_batched_matmul.h"

#include <ATen/Parallel.h>
#include <ATen/ThreadLocalState.h>
#include <torch/csrc/autograd/custom_function.h>

namespace mdistill::gemm {

namespace {

at::Tensor Kernel(const at::Tensor& a, const at::Tensor& b) {
  TORCH_CHECK(a.dim() == 3 && b.dim() == 3 && a.size(0) == b.size(0) && a.size(2) == b.size(1),
              "AtenBatchedMatmul: cannot multiply ", a.sizes(), " by ", b.sizes());
  const int64_t G = a.size(0);
  at::Tensor out = at::empty({G, a.size(1), b.size(2)}, a.options());
  // Worker threads start with default thread-local state (grad mode, inference mode); carry the caller's.
  const at::ThreadLocalState state;
  at::parallel_for(0, G, 1, [&](int64_t begin, int64_t end) {
    at::ThreadLocalStateGuard guard(state);
    for (int64_t g = begin; g < end; ++g) {
      at::Tensor o = out.select(0, g);
      at::mm_out(o, a.select(0, g), b.select(0, g));
    }
  });
  return out;
}

class BatchedMatmulFunction : public torch::autograd::Function<BatchedMatmulFunction> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& a, const at::Tensor& b) {
    ctx->save_for_backward({a, b});
    return Kernel(a, b);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor& grad = grads[0];
    at::Tensor gradA, gradB;
    if (ctx->needs_input_grad(0)) gradA = Kernel(grad, saved[1].transpose(1, 2));
    if (ctx->needs_input_grad(1)) gradB = Kernel(saved[0].transpose(1, 2), grad);
    return {gradA, gradB};
  }
};

}  // namespace

at::Tensor AtenBatchedMatmul(const at::Tensor& a, const at::Tensor& b) {
  // The thread split is for CPU BLAS; other devices have good batched kernels of their own.
  if (!a.is_cpu() || !b.is_cpu()) return at::matmul(a, b);
  if (at::GradMode::is_enabled() && (a.requires_grad() || b.requires_grad())) return BatchedMatmulFunction::apply(a, b);
  return Kernel(a, b);
}

}  // namespace mdistill::gemm
