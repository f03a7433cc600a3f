#include "train/logit_losses.h"

#include "core/error.h"

namespace mdistill::train {

at::Tensor CrossEntropy(const at::Tensor& logits, const at::Tensor& targets) {
  at::Tensor logProbs = at::log_softmax(logits.to(at::kFloat), 1);
  if (targets.scalar_type() == at::kLong) return at::nll_loss(logProbs, targets);
  if (!targets.sizes().equals(logits.sizes())) {
    throw Error(codes::kShapeMismatch, "soft targets are " + c10::str(targets.sizes()) + " but the logits are " + c10::str(logits.sizes()));
  }
  return (-targets * logProbs).sum(1).mean();
}

at::Tensor KdLoss(KdType type, const at::Tensor& studentLogits, const at::Tensor& teacherLogits, double tau) {
  at::Tensor s = studentLogits.to(at::kFloat);
  at::Tensor t = teacherLogits.to(at::kFloat);
  switch (type) {
    case KdType::kNone:
      return at::zeros({}, s.options());
    case KdType::kSoft: {
      at::Tensor logP = at::log_softmax(s / tau, 1);
      at::Tensor logQ = at::log_softmax(t / tau, 1);
      // KL(q ‖ p) with log-space target, summed over classes, averaged over the batch.
      return (logQ.exp() * (logQ - logP)).sum() / s.size(0) * (tau * tau);
    }
    case KdType::kHard:
      return at::nll_loss(at::log_softmax(s, 1), t.argmax(1));
  }
  return at::Tensor();
}

}  // namespace mdistill::train
