#include "model/model.h"

#include <ATen/CPUGeneratorImpl.h>

#include "core/error.h"
#include "core/shape_text.h"
#include "model/cait.h"
#include "model/vision_transformer.h"

namespace mdistill::model {

void ValidateModelConfig(const ModelConfig& c) {
  auto positive = [](int64_t v, const char* key) {
    if (v <= 0) throw Error(codes::kBadArgument, std::string("model config: ") + key + " must be a positive integer, got " + std::to_string(v));
  };
  positive(c.imgSize, "imgSize");
  positive(c.patchSize, "patchSize");
  positive(c.inChans, "inChans");
  positive(c.numClasses, "numClasses");
  positive(c.embedDim, "embedDim");
  positive(c.depth, "depth");
  positive(c.numHeads, "numHeads");
  if (!(c.mlpRatio > 0)) throw Error(codes::kBadArgument, "model config: mlpRatio must be positive");
  if (c.imgSize % c.patchSize != 0) {
    throw Error(codes::kBadArgument, "model config: imgSize " + std::to_string(c.imgSize) + " is not a multiple of patchSize " + std::to_string(c.patchSize));
  }
  if (c.embedDim % c.numHeads != 0) {
    throw Error(codes::kBadArgument, "model config: embedDim " + std::to_string(c.embedDim) + " is not divisible by numHeads " + std::to_string(c.numHeads));
  }
  if (c.arch == Arch::kCait && c.distilled) throw Error(codes::kBadArgument, "model config: CaiT has no distillation token (distilled must be false)");
  if (c.arch == Arch::kCait && c.depthTokenOnly < 1) throw Error(codes::kBadArgument, "model config: CaiT needs depthTokenOnly >= 1");
  if (!(c.dropPathRate >= 0 && c.dropPathRate < 1)) throw Error(codes::kBadArgument, "model config: dropPathRate must be in [0, 1)");
}

std::vector<std::pair<std::string, at::Tensor>> Model::NamedParameters() const {
  // Parameters are registered in timm's order (own tensors before submodules, submodules in timm's order),
  // so the pre-order walk of named_parameters() is already timm's state-dict order.
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (const auto& item : named_parameters(true)) out.emplace_back(item.key(), item.value());
  return out;
}

int64_t Model::NumParameters() const {
  int64_t n = 0;
  for (const auto& p : parameters(true)) n += p.numel();
  return n;
}

void Model::CheckInput(const at::Tensor& x) const {
  const auto& c = config_;
  if (x.dim() != 4 || x.size(1) != c.inChans || x.size(2) != c.imgSize || x.size(3) != c.imgSize) {
    throw Error(codes::kShapeMismatch, "model input has shape " + ShapeText(x.sizes()) + " but the model expects [B, " +
                                           std::to_string(c.inChans) + ", " + std::to_string(c.imgSize) + ", " +
                                           std::to_string(c.imgSize) + "]");
  }
  if (x.size(0) < 1) throw Error(codes::kShapeMismatch, "model input has an empty batch, shape " + ShapeText(x.sizes()));
}

void Model::CheckBlocks(const std::vector<int64_t>& keepBlocks) const {
  for (int64_t i : keepBlocks) {
    if (i < 0 || i >= config_.depth) {
      throw Error(codes::kBadArgument, "block index " + std::to_string(i) + " is outside 0.." + std::to_string(config_.depth - 1) +
                                           " (the model has " + std::to_string(config_.depth) + " self-attention blocks)");
    }
  }
}

std::shared_ptr<Model> CreateModel(const ModelConfig& config, uint64_t seed) {
  ValidateModelConfig(config);
  Init init{at::detail::createCPUGenerator(seed)};
  if (config.arch == Arch::kCait) return std::make_shared<Cait>(config, init);
  return std::make_shared<VisionTransformer>(config, init);
}

}  // namespace mdistill::model
