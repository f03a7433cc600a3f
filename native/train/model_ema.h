// An exponential moving average of the student's weights (timm's ModelEmaV2): ema = d·ema + (1−d)·model.
#pragma once
#include <ATen/ATen.h>

#include <string>
#include <utility>
#include <vector>

namespace mdistill::train {

class ModelEma {
 public:
  // `ema` and `model` hold the same names in the same order (two instances of one architecture).
  ModelEma(std::vector<std::pair<std::string, at::Tensor>> ema, std::vector<std::pair<std::string, at::Tensor>> model);
  // Copies the model's weights into the EMA (at start, before any step).
  void Reset();
  void Update(double decay);

 private:
  std::vector<at::Tensor> ema_, model_;
};

}  // namespace mdistill::train
