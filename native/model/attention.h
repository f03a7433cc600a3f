// Multi-head self-attention (timm's Attention; with talking heads it is CaiT's TalkingHeadAttn)
// and CaiT's class attention (only the cls token queries).
#pragma once
#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include <memory>

#include "model/layers.h"

namespace mdistill::model {

class Attention : public torch::nn::Module {
 public:
  // talkingHeads adds proj_l (before the softmax) and proj_w (after it), each a heads×heads Linear.
  Attention(int64_t dim, int64_t heads, bool qkvBias, bool talkingHeads, Init& init);
  at::Tensor Forward(const at::Tensor& x) const;

 private:
  int64_t heads_;
  std::shared_ptr<Linear> qkv_, proj_, projL_, projW_;
};

class ClassAttention : public torch::nn::Module {
 public:
  ClassAttention(int64_t dim, int64_t heads, bool qkvBias, Init& init);
  // u = [cls, patches] of shape [B, 1+N, C]; returns the update of the cls token, [B, 1, C].
  at::Tensor Forward(const at::Tensor& u) const;

 private:
  int64_t heads_;
  std::shared_ptr<Linear> q_, k_, v_, proj_;
};

}  // namespace mdistill::model
