#include "model/model.h"

#include <ATen/CPUGeneratorImpl.h>

#include "core/error.h"
#include "core/shape_text.h"
#include "model/cait.h"
#include "model/swin.h"
#include "model/vision_transformer.h"

namespace mdistill::model {

int64_t ModelConfig::NumBlocks() const {
  if (arch != Arch::kSwin) return depth;
  int64_t n = 0;
  for (int64_t d : depths) n += d;
  return n;
}

namespace {
void ValidateSwin(const ModelConfig& c) {
  if (c.depths.empty()) throw Error(codes::kBadArgument, "model config: Swin needs depths (blocks per stage), e.g. [2, 2, 6, 2]");
  if (c.stageHeads.size() != c.depths.size()) {
    throw Error(codes::kBadArgument, "model config: stageHeads has " + std::to_string(c.stageHeads.size()) + " entries but depths has " +
                                         std::to_string(c.depths.size()) + "; give the heads of every stage");
  }
  if (c.windowSize < 1) throw Error(codes::kBadArgument, "model config: windowSize must be a positive integer, got " + std::to_string(c.windowSize));
  if (c.depth != 0 || c.numHeads != 0) {
    throw Error(codes::kBadArgument, "model config: Swin takes depths and stageHeads per stage; depth and numHeads must be 0");
  }
  if (c.distilled) throw Error(codes::kBadArgument, "model config: Swin has no distillation token (distilled must be false)");
  for (size_t i = 0; i < c.depths.size(); ++i) {
    if (c.depths[i] < 1) throw Error(codes::kBadArgument, "model config: depths[" + std::to_string(i) + "] must be a positive integer");
    if (c.stageHeads[i] < 1) throw Error(codes::kBadArgument, "model config: stageHeads[" + std::to_string(i) + "] must be a positive integer");
    const int64_t dim = c.embedDim << i;
    if (dim % c.stageHeads[i] != 0) {
      throw Error(codes::kBadArgument, "model config: stage " + std::to_string(i) + " is " + std::to_string(dim) + " wide, not divisible by stageHeads[" +
                                           std::to_string(i) + "] " + std::to_string(c.stageHeads[i]));
    }
  }
  SwinStageShapes(c);  // the grid of every stage fits the windows and halves
}
}  // namespace

void ValidateModelConfig(const ModelConfig& c) {
  auto positive = [](int64_t v, const char* key) {
    if (v <= 0) throw Error(codes::kBadArgument, std::string("model config: ") + key + " must be a positive integer, got " + std::to_string(v));
  };
  positive(c.imgSize, "imgSize");
  positive(c.patchSize, "patchSize");
  positive(c.inChans, "inChans");
  positive(c.numClasses, "numClasses");
  positive(c.embedDim, "embedDim");
  if (!(c.mlpRatio > 0)) throw Error(codes::kBadArgument, "model config: mlpRatio must be positive");
  if (c.imgSize % c.patchSize != 0) {
    throw Error(codes::kBadArgument, "model config: imgSize " + std::to_string(c.imgSize) + " is not a multiple of patchSize " + std::to_string(c.patchSize));
  }
  if (!(c.dropPathRate >= 0 && c.dropPathRate < 1)) throw Error(codes::kBadArgument, "model config: dropPathRate must be in [0, 1)");
  if (c.arch == Arch::kSwin) {
    ValidateSwin(c);
    return;
  }
  positive(c.depth, "depth");
  positive(c.numHeads, "numHeads");
  if (c.embedDim % c.numHeads != 0) {
    throw Error(codes::kBadArgument, "model config: embedDim " + std::to_string(c.embedDim) + " is not divisible by numHeads " + std::to_string(c.numHeads));
  }
  if (c.arch == Arch::kCait && c.distilled) throw Error(codes::kBadArgument, "model config: CaiT has no distillation token (distilled must be false)");
  if (c.arch == Arch::kCait && c.depthTokenOnly < 1) throw Error(codes::kBadArgument, "model config: CaiT needs depthTokenOnly >= 1");
  if (!c.depths.empty() || !c.stageHeads.empty() || c.windowSize != 0) {
    throw Error(codes::kBadArgument, "model config: depths, stageHeads and windowSize are Swin's; leave them empty (0) for ViT and CaiT");
  }
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
  const int64_t n = config_.NumBlocks();
  for (int64_t i : keepBlocks) {
    if (i < 0 || i >= n) {
      throw Error(codes::kBadArgument, "block index " + std::to_string(i) + " is outside 0.." + std::to_string(n - 1) +
                                           " (the model has " + std::to_string(n) + " self-attention blocks)");
    }
  }
}

TokenLayout Model::BlockLayout(int64_t block) const {
  CheckBlocks({block});
  return {config_.NumPrefixTokens(), config_.GridSize(), config_.GridSize()};
}

std::shared_ptr<Model> CreateModel(const ModelConfig& config, uint64_t seed) {
  ValidateModelConfig(config);
  Init init{at::detail::createCPUGenerator(seed)};
  if (config.arch == Arch::kCait) return std::make_shared<Cait>(config, init);
  if (config.arch == Arch::kSwin) return std::make_shared<SwinTransformer>(config, init);
  return std::make_shared<VisionTransformer>(config, init);
}

}  // namespace mdistill::model
