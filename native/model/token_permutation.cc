#include "model/token_permutation.h"

#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <cstring>

namespace mdistill::model {

namespace {

at::Tensor Gather(const at::Tensor& x, const at::Tensor& order) {
  TORCH_CHECK(x.dim() == 3 && order.dim() == 1 && order.size(0) == x.size(1), "PermuteTokens: cannot reorder ", x.sizes(),
              " by a permutation of ", order.sizes());
  if (!x.is_cpu()) return x.index_select(1, order);
  const at::Tensor src = x.contiguous();
  const at::Tensor idx = order.contiguous();
  const int64_t L = src.size(1), rows = src.size(0) * L;
  at::Tensor out = at::empty_like(src, at::MemoryFormat::Contiguous);
  const size_t rowBytes = static_cast<size_t>(src.size(2)) * src.element_size();
  const char* in = static_cast<const char*>(src.data_ptr());
  char* dst = static_cast<char*>(out.data_ptr());
  const int64_t* from = idx.data_ptr<int64_t>();
  const int64_t grain = std::max<int64_t>(1, 65536 / static_cast<int64_t>(rowBytes));
  at::parallel_for(0, rows, grain, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const int64_t image = r / L;
      std::memcpy(dst + r * rowBytes, in + (image * L + from[r - image * L]) * rowBytes, rowBytes);
    }
  });
  return out;
}

class PermuteTokensFunction : public torch::autograd::Function<PermuteTokensFunction> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, const at::Tensor& order,
                            const at::Tensor& inverse) {
    ctx->saved_data["inverse"] = inverse;
    return Gather(x, order);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::variable_list grads) {
    return {Gather(grads[0], ctx->saved_data["inverse"].toTensor()), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

at::Tensor PermuteTokens(const at::Tensor& x, const at::Tensor& order, const at::Tensor& inverse) {
  if (at::GradMode::is_enabled() && x.requires_grad()) return PermuteTokensFunction::apply(x, order, inverse);
  return Gather(x, order);
}

}  // namespace mdistill::model
