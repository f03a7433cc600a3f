// The common face of the native models (ViT/DeiT, CaiT and Swin). The training step holds a student and a
// teacher through this interface and calls Forward directly in C++.
#pragma once
#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/token_layout.h"
#include "model/model_config.h"

namespace mdistill::model {

struct ForwardOutput {
  // Eval, or a model without a distillation token: the logits ([B, classes]; distilled: the mean of both heads).
  // Training a distilled model: the cls head here and the dist head in logitsDist.
  at::Tensor logits;
  at::Tensor logitsDist;  // undefined unless distilled and train
  // Token outputs [B, tokens, dim] of the requested self-attention blocks, in the order requested (Swin: NHWC
  // flattened, [B, H*W, dim]). BlockLayout says how their tokens lie.
  std::vector<at::Tensor> blocks;
};

class Model : public torch::nn::Module {
 public:
  explicit Model(const ModelConfig& config) : config_(config) {}

  // x: [B, inChans, imgSize, imgSize] float. `train` turns on drop-path and the two-head output of distilled
  // models; it does not switch autograd: wrap a teacher call in c10::InferenceMode.
  // keepBlocks: indices into the self-attention blocks whose outputs to return; others are not retained.
  virtual ForwardOutput Forward(const at::Tensor& x, const std::vector<int64_t>& keepBlocks, bool train) const = 0;

  const ModelConfig& config() const { return config_; }
  // Where the parameters live; inputs are moved there before Forward.
  at::Device device() const { return parameters().front().device(); }

  // The parameters under timm's state-dict names, in timm's state-dict order.
  std::vector<std::pair<std::string, at::Tensor>> NamedParameters() const;
  int64_t NumParameters() const;

  // Throws Error(kShapeMismatch) naming both shapes when x is not [B, inChans, imgSize, imgSize].
  void CheckInput(const at::Tensor& x) const;
  // Throws Error(kBadArgument) for an index outside 0..NumBlocks()-1.
  void CheckBlocks(const std::vector<int64_t>& keepBlocks) const;

  // How the tokens of block `block`'s output lie: ViT's cls (+ dist) tokens then the patch grid; CaiT's and Swin's
  // patch grid alone (Swin's halves at every stage).
  virtual TokenLayout BlockLayout(int64_t block) const;

 protected:
  // Runs the self-attention blocks over `tokens`, keeping the outputs of the requested blocks (in request order)
  // in out.blocks; returns the last block's output.
  template <typename Blocks>
  at::Tensor RunBlocks(const Blocks& blocks, at::Tensor tokens, const std::vector<int64_t>& keepBlocks, bool train,
                       ForwardOutput& out) const {
    out.blocks.resize(keepBlocks.size());
    for (size_t i = 0; i < blocks.size(); ++i) {
      tokens = blocks[i]->Forward(tokens, train);
      for (size_t k = 0; k < keepBlocks.size(); ++k) {
        if (keepBlocks[k] == static_cast<int64_t>(i)) out.blocks[k] = tokens;
      }
    }
    return tokens;
  }

  ModelConfig config_;
};

// Builds a ViT/DeiT, CaiT or Swin with timm's initialisation, drawn from `seed`.
std::shared_ptr<Model> CreateModel(const ModelConfig& config, uint64_t seed);

}  // namespace mdistill::model
