#include "model/cait.h"

namespace mdistill::model {

CaitBlock::CaitBlock(const ModelConfig& c, double dropPath, Init& init) : dropPath_(dropPath) {
  gamma1_ = register_parameter("gamma_1", at::full({c.embedDim}, c.initValues));
  gamma2_ = register_parameter("gamma_2", at::full({c.embedDim}, c.initValues));
  norm1_ = register_module("norm1", std::make_shared<LayerNorm>(c.embedDim));
  attn_ = register_module("attn", std::make_shared<Attention>(c.embedDim, c.numHeads, c.qkvBias, true, init));
  norm2_ = register_module("norm2", std::make_shared<LayerNorm>(c.embedDim));
  mlp_ = register_module("mlp", std::make_shared<Mlp>(c.embedDim, c.MlpHidden(), init));
}

at::Tensor CaitBlock::Forward(const at::Tensor& x, bool train) const {
  at::Tensor y = x + DropPath(gamma1_ * attn_->Forward(norm1_->Forward(x)), dropPath_, train);
  return y + DropPath(gamma2_ * mlp_->Forward(norm2_->Forward(y)), dropPath_, train);
}

ClassAttentionBlock::ClassAttentionBlock(const ModelConfig& c, Init& init) {
  gamma1_ = register_parameter("gamma_1", at::full({c.embedDim}, c.initValues));
  gamma2_ = register_parameter("gamma_2", at::full({c.embedDim}, c.initValues));
  norm1_ = register_module("norm1", std::make_shared<LayerNorm>(c.embedDim));
  attn_ = register_module("attn", std::make_shared<ClassAttention>(c.embedDim, c.numHeads, c.qkvBias, init));
  norm2_ = register_module("norm2", std::make_shared<LayerNorm>(c.embedDim));
  mlp_ = register_module("mlp", std::make_shared<Mlp>(c.embedDim, c.MlpHidden(), init));
}

at::Tensor ClassAttentionBlock::Forward(const at::Tensor& x, const at::Tensor& cls) const {
  // timm builds these blocks with drop_path 0, so they have no stochastic depth.
  at::Tensor u = at::cat({cls, x}, 1);
  at::Tensor c = cls + gamma1_ * attn_->Forward(norm1_->Forward(u));
  return c + gamma2_ * mlp_->Forward(norm2_->Forward(c));
}

Cait::Cait(const ModelConfig& c, Init& init) : Model(c) {
  const int64_t D = c.embedDim;
  clsToken_ = register_parameter("cls_token", init.TruncNormal({1, 1, D}, 0.02));
  posEmbed_ = register_parameter("pos_embed", init.TruncNormal({1, c.NumPatches(), D}, 0.02));
  patchEmbed_ = register_module("patch_embed", std::make_shared<PatchEmbed>(c.inChans, D, c.patchSize, init));
  blocks_ = register_module("blocks", std::make_shared<ModuleStack<CaitBlock>>());
  // timm's CaiT uses the same drop-path rate in every self-attention block (no linear decay).
  for (int64_t i = 0; i < c.depth; ++i) blocks_->Add(std::make_shared<CaitBlock>(c, c.dropPathRate, init));
  blocksTokenOnly_ = register_module("blocks_token_only", std::make_shared<ModuleStack<ClassAttentionBlock>>());
  for (int64_t i = 0; i < c.depthTokenOnly; ++i) blocksTokenOnly_->Add(std::make_shared<ClassAttentionBlock>(c, init));
  norm_ = register_module("norm", std::make_shared<LayerNorm>(D));
  head_ = register_module("head", std::make_shared<Linear>(D, c.numClasses, true, init));
}

ForwardOutput Cait::Forward(const at::Tensor& x, const std::vector<int64_t>& keepBlocks, bool train) const {
  CheckInput(x);
  CheckBlocks(keepBlocks);
  at::Tensor tokens = patchEmbed_->Forward(x) + posEmbed_;
  ForwardOutput out;
  tokens = RunBlocks(blocks_->items(), tokens, keepBlocks, train, out);
  at::Tensor cls = clsToken_.expand({x.size(0), -1, -1});
  for (const auto& block : blocksTokenOnly_->items()) cls = block->Forward(tokens, cls);
  // The head reads only the cls token after the final norm (per-token, so normalising it alone is the same).
  out.logits = head_->Forward(norm_->Forward(cls.select(1, 0)));
  return out;
}

}  // namespace mdistill::model
