// timm's WindowAttention (Swin): multi-head self-attention inside each window, plus a learned relative position
// bias. The table `relative_position_bias_table` [(2w-1)^2, heads] is the parameter; the index into it is derived
// from the window size (as timm derives its non-persistent buffer), so the state dict holds the table alone.
#pragma once
#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include <memory>

#include "model/layers.h"

namespace mdistill::model {

class WindowAttention : public torch::nn::Module {
 public:
  WindowAttention(int64_t dim, int64_t heads, int64_t window, bool qkvBias, Init& init);

  // The additive attention bias [1 or windows, heads, w^2, w^2]: the gathered relative position bias, plus `mask`
  // ([windows, w^2, w^2], shifted windows) when it is defined. Differentiable with respect to the table.
  at::Tensor Bias(const at::Tensor& mask) const;

  // windows: [B * windows, w^2, C], grouped by image (all windows of image 0 first); bias from Bias().
  at::Tensor Forward(const at::Tensor& windows, const at::Tensor& bias) const;

  const at::Tensor& table() const { return table_; }

 private:
  int64_t heads_, window_;
  at::Tensor table_, index_;  // index_: int64 [w^4], a buffer (it follows the module across devices)
  std::shared_ptr<Linear> qkv_, proj_;
};

}  // namespace mdistill::model
