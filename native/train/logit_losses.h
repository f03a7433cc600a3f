// The losses on the logits: cross-entropy to (possibly soft) targets, and KD from the teacher.
#pragma once
#include <ATen/ATen.h>

namespace mdistill::train {

enum class KdType { kNone, kSoft, kHard };

// CE to integer labels [B] (int64), or to soft targets [B, classes] (float; mixup/cutmix/smoothing).
at::Tensor CrossEntropy(const at::Tensor& logits, const at::Tensor& targets);

// soft: KL(log_softmax(s/τ) ‖ log_softmax(t/τ)), batch mean, × τ². hard: CE to the teacher's argmax.
at::Tensor KdLoss(KdType type, const at::Tensor& studentLogits, const at::Tensor& teacherLogits, double tau);

}  // namespace mdistill::train
