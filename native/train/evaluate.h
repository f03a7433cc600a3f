// Evaluation of one validation batch: an eval-mode forward under inference mode, returning exact counts so the
// caller can sum them over a whole validation set (and over ranks).
#pragma once
#include <ATen/ATen.h>

#include <cstdint>

#include "model/model.h"

namespace mdistill::train {

struct EvalCounts {
  int64_t correct1 = 0, correct5 = 0, count = 0;
  double lossSum = 0;  // summed cross-entropy
};

// images [B, C, H, W] float (any device: moved to the model's), labels [B] integer. Top-5 is top-min(5, classes).
// Switches the model to eval mode.
EvalCounts EvaluateBatch(model::Model& model, const at::Tensor& images, const at::Tensor& labels);

}  // namespace mdistill::train
