// timm's Cait: patch tokens (pos_embed covers patches only) through LayerScale blocks with talking-heads
// attention, then class-attention blocks (blocks_token_only) that update the cls token alone.
#pragma once
#include <memory>

#include "model/attention.h"
#include "model/layers.h"
#include "model/model.h"

namespace mdistill::model {

// timm's LayerScaleBlock: x + gamma_1 * attn(norm1(x)), then x + gamma_2 * mlp(norm2(x)).
class CaitBlock : public torch::nn::Module {
 public:
  CaitBlock(const ModelConfig& c, double dropPath, Init& init);
  at::Tensor Forward(const at::Tensor& x, bool train) const;

 private:
  double dropPath_;
  at::Tensor gamma1_, gamma2_;
  std::shared_ptr<LayerNorm> norm1_, norm2_;
  std::shared_ptr<Attention> attn_;
  std::shared_ptr<Mlp> mlp_;
};

// timm's LayerScaleBlockClassAttn: cls + gamma_1 * attn(norm1([cls, x])), then cls + gamma_2 * mlp(norm2(cls)).
class ClassAttentionBlock : public torch::nn::Module {
 public:
  ClassAttentionBlock(const ModelConfig& c, Init& init);
  at::Tensor Forward(const at::Tensor& x, const at::Tensor& cls) const;

 private:
  at::Tensor gamma1_, gamma2_;
  std::shared_ptr<LayerNorm> norm1_, norm2_;
  std::shared_ptr<ClassAttention> attn_;
  std::shared_ptr<Mlp> mlp_;
};

class Cait : public Model {
 public:
  Cait(const ModelConfig& config, Init& init);
  ForwardOutput Forward(const at::Tensor& x, const std::vector<int64_t>& keepBlocks, bool train) const override;

 private:
  at::Tensor clsToken_, posEmbed_;
  std::shared_ptr<PatchEmbed> patchEmbed_;
  std::shared_ptr<ModuleStack<CaitBlock>> blocks_;
  std::shared_ptr<ModuleStack<ClassAttentionBlock>> blocksTokenOnly_;
  std::shared_ptr<LayerNorm> norm_;
  std::shared_ptr<Linear> head_;
};

}  // namespace mdistill::model
