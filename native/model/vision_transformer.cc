#include "model/vision_transformer.h"

namespace mdistill::model {

VitBlock::VitBlock(const ModelConfig& c, double dropPath, Init& init) : dropPath_(dropPath) {
  norm1_ = register_module("norm1", std::make_shared<LayerNorm>(c.embedDim));
  attn_ = register_module("attn", std::make_shared<Attention>(c.embedDim, c.numHeads, c.qkvBias, false, init));
  norm2_ = register_module("norm2", std::make_shared<LayerNorm>(c.embedDim));
  mlp_ = register_module("mlp", std::make_shared<Mlp>(c.embedDim, c.MlpHidden(), init));
}

at::Tensor VitBlock::Forward(const at::Tensor& x, bool train) const {
  at::Tensor y = x + DropPath(attn_->Forward(norm1_->Forward(x)), dropPath_, train);
  return y + DropPath(mlp_->Forward(norm2_->Forward(y)), dropPath_, train);
}

VisionTransformer::VisionTransformer(const ModelConfig& c, Init& init) : Model(c) {
  const int64_t D = c.embedDim;
  // timm: cls_token ~ N(0, 1e-6), pos_embed and dist_token ~ trunc_normal(0.02). Registration order is timm's.
  clsToken_ = register_parameter("cls_token", init.TruncNormal({1, 1, D}, 1e-6));
  posEmbed_ = register_parameter("pos_embed", init.TruncNormal({1, c.NumPatches() + c.NumPrefixTokens(), D}, 0.02));
  if (c.distilled) distToken_ = register_parameter("dist_token", init.TruncNormal({1, 1, D}, 0.02));
  patchEmbed_ = register_module("patch_embed", std::make_shared<PatchEmbed>(c.inChans, D, c.patchSize, init));
  blocks_ = register_module("blocks", std::make_shared<ModuleStack<VitBlock>>());
  for (int64_t i = 0; i < c.depth; ++i) {
    // timm's stochastic-depth decay rule: rates rise linearly from 0 to dropPathRate.
    const double rate = c.depth > 1 ? c.dropPathRate * static_cast<double>(i) / static_cast<double>(c.depth - 1) : 0.0;
    blocks_->Add(std::make_shared<VitBlock>(c, rate, init));
  }
  norm_ = register_module("norm", std::make_shared<LayerNorm>(D));
  head_ = register_module("head", std::make_shared<Linear>(D, c.numClasses, true, init));
  if (c.distilled) headDist_ = register_module("head_dist", std::make_shared<Linear>(D, c.numClasses, true, init));
}

ForwardOutput VisionTransformer::Forward(const at::Tensor& x, const std::vector<int64_t>& keepBlocks, bool train) const {
  CheckInput(x);
  CheckBlocks(keepBlocks);
  const int64_t B = x.size(0);
  at::Tensor patches = patchEmbed_->Forward(x);
  std::vector<at::Tensor> parts{clsToken_.expand({B, -1, -1})};
  if (distToken_.defined()) parts.push_back(distToken_.expand({B, -1, -1}));
  parts.push_back(patches);
  at::Tensor tokens = at::cat(parts, 1) + posEmbed_;

  ForwardOutput out;
  tokens = RunBlocks(blocks_->items(), tokens, keepBlocks, train, out);
  // LayerNorm is per token, so normalising only the prefix tokens the heads read equals timm's norm(x)[:, i].
  const int64_t prefix = config_.NumPrefixTokens();
  at::Tensor normed = norm_->Forward(tokens.narrow(1, 0, prefix));
  out.logits = head_->Forward(normed.select(1, 0));
  if (headDist_) {
    at::Tensor dist = headDist_->Forward(normed.select(1, 1));
    if (train) {
      out.logitsDist = dist;
    } else {
      out.logits = (out.logits + dist) / 2;
    }
  }
  return out;
}

}  // namespace mdistill::model
