// timm's SwinTransformer (timm >= 0.9 layout): patch embedding with its norm, stages of (shifted) window-attention
// blocks, each stage after the first opening with patch merging (`layers.{i}.downsample`), then the final norm,
// average pooling and `head.fc`. Tokens stay [B, H*W, C] with the grid row-major (timm's NHWC, flattened).
#pragma once
#include <memory>
#include <vector>

#include "model/layers.h"
#include "model/model.h"
#include "model/window_attention.h"

namespace mdistill::model {

// The geometry of one stage, following timm's rule: a grid no larger than the window is one window, unshifted.
struct SwinStageShape {
  int64_t grid = 0;    // tokens per side
  int64_t dim = 0;     // channels
  int64_t heads = 0;
  int64_t window = 0;  // effective window side
  int64_t shift = 0;   // of the odd blocks (0: no shifted windows in this stage)
};

// Every stage's shape; throws Error(kBadArgument) naming the input size when a grid does not fit the windows
// or cannot be halved by patch merging.
std::vector<SwinStageShape> SwinStageShapes(const ModelConfig& c);

// timm's SwinTransformerBlock: x + attn(norm1(x)) over (shifted) windows, then x + mlp(norm2(x)), each branch under
// drop-path.
class SwinBlock : public torch::nn::Module {
 public:
  SwinBlock(const SwinStageShape& stage, int64_t shift, double mlpRatio, bool qkvBias, double dropPath, Init& init);
  at::Tensor Forward(const at::Tensor& x, bool train) const;  // x: [B, grid*grid, dim]

 private:
  double dropPath_;
  int64_t window_;
  std::shared_ptr<LayerNorm> norm1_, norm2_;
  std::shared_ptr<WindowAttention> attn_;
  std::shared_ptr<Mlp> mlp_;
  // Buffers: the window partition (with the cyclic shift) as a token permutation and its inverse (undefined when the
  // partition keeps the order), and the shift mask (undefined without a shift).
  at::Tensor order_, inverse_, mask_;
};

// timm's PatchMerging: each 2x2 group of tokens concatenated ((0,0), (1,0), (0,1), (1,1)), norm, then a bias-free
// Linear from 4*dim to 2*dim. [B, grid*grid, dim] -> [B, (grid/2)^2, 2*dim].
class PatchMerging : public torch::nn::Module {
 public:
  PatchMerging(int64_t dim, Init& init);
  at::Tensor Forward(const at::Tensor& x, int64_t grid) const;

 private:
  std::shared_ptr<LayerNorm> norm_;
  std::shared_ptr<Linear> reduction_;
};

// timm's SwinTransformerStage: the optional downsample, then the blocks.
class SwinStage : public torch::nn::Module {
 public:
  SwinStage(const SwinStageShape& stage, int64_t depth, bool downsample, const ModelConfig& c,
            const std::vector<double>& dropPaths, Init& init);

  std::shared_ptr<PatchMerging> downsample;
  std::shared_ptr<ModuleStack<SwinBlock>> blocks;
};

// timm's ClassifierHead over NHWC features: the average over the tokens, then `fc`.
class ClassifierHead : public torch::nn::Module {
 public:
  ClassifierHead(int64_t dim, int64_t classes, Init& init);
  at::Tensor Forward(const at::Tensor& tokens) const { return fc_->Forward(tokens.mean(1)); }

 private:
  std::shared_ptr<Linear> fc_;
};

class SwinTransformer : public Model {
 public:
  SwinTransformer(const ModelConfig& config, Init& init);
  ForwardOutput Forward(const at::Tensor& x, const std::vector<int64_t>& keepBlocks, bool train) const override;
  TokenLayout BlockLayout(int64_t block) const override;

 private:
  std::vector<SwinStageShape> stages_;
  std::shared_ptr<PatchEmbed> patchEmbed_;
  std::shared_ptr<ModuleStack<SwinStage>> layers_;
  std::shared_ptr<LayerNorm> norm_;
  std::shared_ptr<ClassifierHead> head_;
};

}  // namespace mdistill::model
