// Autograd through an eval-mode forward, for checking the backward path the training step relies on.
#pragma once
#include <ATen/ATen.h>

#include <string>
#include <utility>
#include <vector>

#include "model/model.h"

namespace mdistill::model {

// The gradient of sum(logits * gradLogits) for every parameter, under timm's names and in timm's order (zeros for
// a parameter the logits do not depend on). input [B, inChans, imgSize, imgSize], gradLogits [B, numClasses].
std::vector<std::pair<std::string, at::Tensor>> ParameterGradients(const Model& model, const at::Tensor& input,
                                                                   const at::Tensor& gradLogits);

}  // namespace mdistill::model
