// timm's VisionTransformer (DeiT) and VisionTransformerDistilled: cls (+ dist) token, learned pos_embed,
// pre-norm blocks, head (+ head_dist).
#pragma once
#include <memory>

#include "model/attention.h"
#include "model/layers.h"
#include "model/model.h"

namespace mdistill::model {

// timm's Block: x + attn(norm1(x)), then x + mlp(norm2(x)), each branch under drop-path.
class VitBlock : public torch::nn::Module {
 public:
  VitBlock(const ModelConfig& c, double dropPath, Init& init);
  at::Tensor Forward(const at::Tensor& x, bool train) const;

 private:
  double dropPath_;
  std::shared_ptr<LayerNorm> norm1_, norm2_;
  std::shared_ptr<Attention> attn_;
  std::shared_ptr<Mlp> mlp_;
};

class VisionTransformer : public Model {
 public:
  VisionTransformer(const ModelConfig& config, Init& init);
  ForwardOutput Forward(const at::Tensor& x, const std::vector<int64_t>& keepBlocks, bool train) const override;

 private:
  at::Tensor clsToken_, posEmbed_, distToken_;
  std::shared_ptr<PatchEmbed> patchEmbed_;
  std::shared_ptr<ModuleStack<VitBlock>> blocks_;
  std::shared_ptr<LayerNorm> norm_;
  std::shared_ptr<Linear> head_, headDist_;
};

}  // namespace mdistill::model
