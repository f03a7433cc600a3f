#include "loss/standalone_manifold_loss.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/csrc/autograd/autograd.h>

#include "loss/manifold_loss.h"

namespace mdistill::loss {

StandaloneManifoldResult StandaloneManifoldLoss(std::vector<at::Tensor> student, std::vector<at::Tensor> teacher,
                                                const StandaloneManifoldRequest& request) {
  const bool backward = request.backward || request.returnGrad;
  auto convert = [&](at::Tensor x) {
    if (request.dtype) x = x.to(*request.dtype);
    return x.to(request.device);
  };
  for (auto& s : student) {
    s = convert(s);
    if (backward) s = s.detach().requires_grad_(true);
  }
  for (auto& t : teacher) t = convert(t);
  ManifoldTerms terms =
      request.perms ? ManifoldLossWithPerms(student, teacher, request.options, *request.perms)
                    : ManifoldLoss(student, teacher, request.options, at::make_generator<at::CPUGeneratorImpl>(request.seed));
  StandaloneManifoldResult r;
  r.sample = terms.sample.item<double>();
  r.patch = terms.patch.item<double>();
  r.rand = terms.rand.item<double>();
  r.total = terms.total.item<double>();
  r.perms = terms.perms;
  if (!backward) return r;
  const auto& up = request.upstream;
  at::Tensor objective = up[0] == 1 && up[1] == 1 && up[2] == 1
                             ? terms.total
                             : terms.sample * up[0] + terms.patch * up[1] + terms.rand * up[2];
  auto grads = torch::autograd::grad({objective}, student, {}, false, false, /*allow_unused=*/true);
  for (size_t i = 0; i < grads.size(); ++i) {
    at::Tensor g = grads[i].defined() ? grads[i] : at::zeros_like(student[i]);
    const double norm = g.norm().item<double>();  // a reduction: no gradient-sized temporary
    r.gradNormSq.push_back(norm * norm);
    if (request.returnGrad) r.grads.push_back(g.to(at::kCPU));
  }
  return r;
}

}  // namespace mdistill::loss
