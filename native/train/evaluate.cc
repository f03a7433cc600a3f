#include "train/evaluate.h"

#include <c10/core/InferenceMode.h>

#include <algorithm>

namespace mdistill::train {

EvalCounts EvaluateBatch(model::Model& model, const at::Tensor& images, const at::Tensor& labels) {
  c10::InferenceMode inference;
  model.eval();
  at::Tensor logits = model.Forward(images.to(model.device()), {}, false).logits.to(at::kFloat);
  at::Tensor target = labels.to(logits.device(), at::kLong);
  EvalCounts c;
  c.count = logits.size(0);
  c.lossSum = at::nll_loss(at::log_softmax(logits, 1), target, {}, at::Reduction::Sum).item<double>();
  const int64_t k = std::min<int64_t>(5, logits.size(1));
  at::Tensor top = std::get<1>(logits.topk(k, 1));
  at::Tensor hits = top.eq(target.unsqueeze(1));
  c.correct1 = hits.select(1, 0).sum().item<int64_t>();
  c.correct5 = hits.any(1).sum().item<int64_t>();
  return c;
}

}  // namespace mdistill::train
