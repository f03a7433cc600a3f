// The C++ mirror of the TypeScript ModelConfig (src/model/modelConfig.ts). TypeScript owns the presets;
// native code builds whatever full config it is handed.
#pragma once
#include <cstdint>
#include <string>

namespace mdistill::model {

enum class Arch { kVit, kCait };

struct ModelConfig {
  Arch arch = Arch::kVit;
  int64_t imgSize = 224;
  int64_t patchSize = 16;
  int64_t inChans = 3;
  int64_t numClasses = 1000;
  int64_t embedDim = 768;
  int64_t depth = 12;
  int64_t numHeads = 12;
  double mlpRatio = 4.0;
  bool qkvBias = true;
  bool distilled = false;     // ViT only: dist_token + head_dist
  int64_t depthTokenOnly = 0;  // CaiT only: class-attention blocks
  double initValues = 0;       // CaiT only: LayerScale init
  double dropPathRate = 0;     // stochastic depth, training only

  int64_t GridSize() const { return imgSize / patchSize; }
  int64_t NumPatches() const { return GridSize() * GridSize(); }
  // Tokens in pos_embed ahead of the patches: cls (+ dist) for ViT, none for CaiT.
  int64_t NumPrefixTokens() const { return arch == Arch::kCait ? 0 : (distilled ? 2 : 1); }
  int64_t MlpHidden() const { return static_cast<int64_t>(static_cast<double>(embedDim) * mlpRatio); }
};

// Throws mdistill::Error(kBadArgument) naming the first field that does not describe a buildable model.
void ValidateModelConfig(const ModelConfig& config);

}  // namespace mdistill::model
