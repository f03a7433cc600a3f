#include "model/parameter_gradients.h"

#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/grad_mode.h>

namespace mdistill::model {

std::vector<std::pair<std::string, at::Tensor>> ParameterGradients(const Model& model, const at::Tensor& input,
                                                                   const at::Tensor& gradLogits) {
  at::AutoGradMode enable(true);
  const auto params = model.NamedParameters();
  std::vector<at::Tensor> tensors;
  for (const auto& p : params) tensors.push_back(p.second);
  at::Tensor logits = model.Forward(input.to(model.device()), {}, /*train=*/false).logits;
  // The upstream gradient comes from the host; autograd wants it where the logits are.
  auto grads = torch::autograd::grad({logits}, tensors, {gradLogits.to(logits.device())}, /*retain_graph=*/false, /*create_graph=*/false,
                                     /*allow_unused=*/true);
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (size_t i = 0; i < params.size(); ++i) {
    out.emplace_back(params[i].first, grads[i].defined() ? grads[i] : at::zeros_like(tensors[i]));
  }
  return out;
}

}  // namespace mdistill::model
