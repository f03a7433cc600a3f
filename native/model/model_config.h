// The C++ mirror of the TypeScript ModelConfig (src/model/modelConfig.ts). TypeScript owns the presets;
// native code builds whatever full config it is handed.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace mdistill::model {

enum class Arch { kVit, kCait, kSwin };

struct ModelConfig {
  Arch arch = Arch::kVit;
  int64_t imgSize = 224;
  int64_t patchSize = 16;
  int64_t inChans = 3;
  int64_t numClasses = 1000;
  int64_t embedDim = 768;      // Swin: the width of stage 0 (it doubles at every stage)
  int64_t depth = 12;          // ViT/CaiT: self-attention blocks (Swin: unused, 0)
  int64_t numHeads = 12;       // ViT/CaiT (Swin: unused, 0)
  double mlpRatio = 4.0;
  bool qkvBias = true;
  bool distilled = false;     // ViT only: dist_token + head_dist
  int64_t depthTokenOnly = 0;  // CaiT only: class-attention blocks
  double initValues = 0;       // CaiT only: LayerScale init
  std::vector<int64_t> depths;      // Swin only: blocks per stage
  std::vector<int64_t> stageHeads;  // Swin only: attention heads per stage
  int64_t windowSize = 0;           // Swin only: the side of the attention windows
  double dropPathRate = 0;     // stochastic depth, training only

  int64_t GridSize() const { return imgSize / patchSize; }
  int64_t NumPatches() const { return GridSize() * GridSize(); }
  // Tokens in pos_embed ahead of the patches: cls (+ dist) for ViT, none for CaiT and Swin.
  int64_t NumPrefixTokens() const { return arch == Arch::kVit ? (distilled ? 2 : 1) : 0; }
  int64_t MlpHidden() const { return static_cast<int64_t>(static_cast<double>(embedDim) * mlpRatio); }
  // The blocks whose outputs the manifold loss can pair, numbered across stages for Swin.
  int64_t NumBlocks() const;
};

// Throws mdistill::Error(kBadArgument) naming the first field that does not describe a buildable model.
void ValidateModelConfig(const ModelConfig& config);

}  // namespace mdistill::model
