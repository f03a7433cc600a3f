#include "train/model_ema.h"

#include "core/error.h"

namespace mdistill::train {

ModelEma::ModelEma(std::vector<std::pair<std::string, at::Tensor>> ema, std::vector<std::pair<std::string, at::Tensor>> model) {
  if (ema.size() != model.size()) throw Error(codes::kBadArgument, "EMA model and student differ in their parameters");
  for (size_t i = 0; i < ema.size(); ++i) {
    if (ema[i].first != model[i].first || !ema[i].second.sizes().equals(model[i].second.sizes())) {
      throw Error(codes::kShapeMismatch, "EMA parameter '" + ema[i].first + "' does not match the student's '" + model[i].first + "'");
    }
    ema_.push_back(ema[i].second);
    model_.push_back(model[i].second);
  }
}

void ModelEma::Reset() {
  at::NoGradGuard noGrad;
  for (size_t i = 0; i < ema_.size(); ++i) ema_[i].copy_(model_[i]);
}

void ModelEma::Update(double decay) {
  at::NoGradGuard noGrad;
  for (size_t i = 0; i < ema_.size(); ++i) ema_[i].mul_(decay).add_(model_[i], 1.0 - decay);
}

}  // namespace mdistill::train
