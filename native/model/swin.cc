#include "model/swin.h"

#include "core/error.h"
#include "model/swin_windows.h"
#include "model/token_permutation.h"

namespace mdistill::model {

namespace {
// timm's Swin uses nn.LayerNorm with PyTorch's default eps.
constexpr double kSwinNormEps = 1e-5;
}  // namespace

std::vector<SwinStageShape> SwinStageShapes(const ModelConfig& c) {
  std::vector<SwinStageShape> out;
  int64_t grid = c.GridSize(), dim = c.embedDim;
  const std::string input = "input size " + std::to_string(c.imgSize) + " (patch " + std::to_string(c.patchSize) + ")";
  for (size_t i = 0; i < c.depths.size(); ++i) {
    if (i > 0) {
      if (grid % 2 != 0) {
        throw Error(codes::kBadArgument, "model config: " + input + " gives a " + std::to_string(grid) + "x" + std::to_string(grid) +
                                             " grid at stage " + std::to_string(i - 1) + ", which patch merging cannot halve; pick an input size whose grid stays even until the last stage");
      }
      grid /= 2;
      dim *= 2;
    }
    SwinStageShape s;
    s.grid = grid;
    s.dim = dim;
    s.heads = c.stageHeads[i];
    if (grid <= c.windowSize) {
      s.window = grid;  // timm: the whole grid is one window, and nothing is shifted
      s.shift = 0;
    } else {
      if (grid % c.windowSize != 0) {
        throw Error(codes::kBadArgument, "model config: " + input + " gives a " + std::to_string(grid) + "x" + std::to_string(grid) +
                                             " grid at stage " + std::to_string(i) + ", which " + std::to_string(c.windowSize) + "x" +
                                             std::to_string(c.windowSize) + " windows do not tile; pick an input size whose grid at every stage is a multiple of windowSize " +
                                             std::to_string(c.windowSize) + " or no larger than it");
      }
      s.window = c.windowSize;
      s.shift = c.windowSize / 2;
    }
    out.push_back(s);
  }
  return out;
}

SwinBlock::SwinBlock(const SwinStageShape& stage, int64_t shift, double mlpRatio, bool qkvBias, double dropPath, Init& init)
    : dropPath_(dropPath), window_(stage.window) {
  const int64_t dim = stage.dim;
  norm1_ = register_module("norm1", std::make_shared<LayerNorm>(dim, kSwinNormEps));
  attn_ = register_module("attn", std::make_shared<WindowAttention>(dim, stage.heads, stage.window, qkvBias, init));
  norm2_ = register_module("norm2", std::make_shared<LayerNorm>(dim, kSwinNormEps));
  mlp_ = register_module("mlp", std::make_shared<Mlp>(dim, static_cast<int64_t>(static_cast<double>(dim) * mlpRatio), init));
  // One unshifted window over the whole grid keeps the token order: no permutation then.
  if (stage.window < stage.grid || shift > 0) {
    order_ = register_buffer("window_order", ShiftedWindowOrder(stage.grid, stage.window, shift));
    inverse_ = register_buffer("window_inverse", at::argsort(order_));
  }
  if (shift > 0) mask_ = register_buffer("attn_mask", ShiftedWindowMask(stage.grid, stage.window, shift));
}

at::Tensor SwinBlock::Forward(const at::Tensor& x, bool train) const {
  const int64_t B = x.size(0), L = x.size(1), C = x.size(2), area = window_ * window_;
  // The cyclic shift and the window partition together are one token permutation. LayerNorm is per token, so
  // normalising after it is timm's norm-then-partition.
  at::Tensor windows = order_.defined() ? PermuteTokens(x, order_, inverse_) : x;
  windows = norm1_->Forward(windows).view({B * (L / area), area, C});
  at::Tensor attended = attn_->Forward(windows, attn_->Bias(mask_)).view({B, L, C});
  if (order_.defined()) attended = PermuteTokens(attended, inverse_, order_);
  at::Tensor y = x + DropPath(attended, dropPath_, train);
  return y + DropPath(mlp_->Forward(norm2_->Forward(y)), dropPath_, train);
}

PatchMerging::PatchMerging(int64_t dim, Init& init) {
  norm_ = register_module("norm", std::make_shared<LayerNorm>(4 * dim, kSwinNormEps));
  reduction_ = register_module("reduction", std::make_shared<Linear>(4 * dim, 2 * dim, false, init));
}

at::Tensor PatchMerging::Forward(const at::Tensor& x, int64_t grid) const {
  const int64_t B = x.size(0), C = x.size(2), half = grid / 2;
  // timm: reshape(B, H/2, 2, W/2, 2, C).permute(0, 1, 3, 4, 2, 5).flatten(3): the column offset is the outer one.
  at::Tensor groups = x.reshape({B, half, 2, half, 2, C}).permute({0, 1, 3, 4, 2, 5}).reshape({B, half * half, 4 * C});
  return reduction_->Forward(norm_->Forward(groups));
}

SwinStage::SwinStage(const SwinStageShape& stage, int64_t depth, bool withDownsample, const ModelConfig& c,
                     const std::vector<double>& dropPaths, Init& init) {
  if (withDownsample) downsample = register_module("downsample", std::make_shared<PatchMerging>(stage.dim / 2, init));
  blocks = register_module("blocks", std::make_shared<ModuleStack<SwinBlock>>());
  for (int64_t j = 0; j < depth; ++j) {
    blocks->Add(std::make_shared<SwinBlock>(stage, j % 2 == 1 ? stage.shift : 0, c.mlpRatio, c.qkvBias, dropPaths[j], init));
  }
}

ClassifierHead::ClassifierHead(int64_t dim, int64_t classes, Init& init) {
  fc_ = register_module("fc", std::make_shared<Linear>(dim, classes, true, init));
}

SwinTransformer::SwinTransformer(const ModelConfig& c, Init& init) : Model(c), stages_(SwinStageShapes(c)) {
  patchEmbed_ = register_module("patch_embed", std::make_shared<PatchEmbed>(c.inChans, c.embedDim, c.patchSize, init, kSwinNormEps));
  layers_ = register_module("layers", std::make_shared<ModuleStack<SwinStage>>());
  // timm's stochastic-depth rule: rates rise linearly from 0 to dropPathRate over all blocks of all stages.
  const int64_t total = c.NumBlocks();
  int64_t block = 0;
  for (size_t i = 0; i < stages_.size(); ++i) {
    std::vector<double> rates;
    for (int64_t j = 0; j < c.depths[i]; ++j, ++block) {
      rates.push_back(total > 1 ? c.dropPathRate * static_cast<double>(block) / static_cast<double>(total - 1) : 0.0);
    }
    layers_->Add(std::make_shared<SwinStage>(stages_[i], c.depths[i], i > 0, c, rates, init));
  }
  norm_ = register_module("norm", std::make_shared<LayerNorm>(stages_.back().dim, kSwinNormEps));
  head_ = register_module("head", std::make_shared<ClassifierHead>(stages_.back().dim, c.numClasses, init));
}

TokenLayout SwinTransformer::BlockLayout(int64_t block) const {
  CheckBlocks({block});
  size_t stage = 0;
  for (int64_t first = 0; block >= first + config_.depths[stage]; first += config_.depths[stage], ++stage) {
  }
  return {0, stages_[stage].grid, stages_[stage].grid};
}

ForwardOutput SwinTransformer::Forward(const at::Tensor& x, const std::vector<int64_t>& keepBlocks, bool train) const {
  CheckInput(x);
  CheckBlocks(keepBlocks);
  ForwardOutput out;
  out.blocks.resize(keepBlocks.size());
  at::Tensor tokens = patchEmbed_->Forward(x);
  int64_t block = 0;
  for (size_t i = 0; i < stages_.size(); ++i) {
    const auto& stage = layers_->items()[i];
    if (stage->downsample) tokens = stage->downsample->Forward(tokens, stages_[i - 1].grid);
    for (const auto& b : stage->blocks->items()) {
      tokens = b->Forward(tokens, train);
      for (size_t k = 0; k < keepBlocks.size(); ++k) {
        if (keepBlocks[k] == block) out.blocks[k] = tokens;
      }
      ++block;
    }
  }
  out.logits = head_->Forward(norm_->Forward(tokens));
  return out;
}

}  // namespace mdistill::model
