#include "model/pos_embed_resample.h"

#include <cmath>
#include <string>

#include "core/error.h"

namespace mdistill::model {

at::Tensor ResamplePosEmbed(const at::Tensor& posEmbed, std::array<int64_t, 2> newGrid, int64_t numPrefixTokens,
                            std::optional<std::array<int64_t, 2>> oldGrid) {
  if (posEmbed.dim() != 3 || posEmbed.size(0) != 1) {
    throw Error(codes::kShapeMismatch, "pos_embed must have shape [1, tokens, dim], got rank " + std::to_string(posEmbed.dim()));
  }
  if (newGrid[0] < 1 || newGrid[1] < 1) throw Error(codes::kBadArgument, "pos_embed resample: the new grid must be positive");
  const int64_t tokens = posEmbed.size(1), dim = posEmbed.size(2);
  if (numPrefixTokens < 0 || numPrefixTokens > tokens) {
    throw Error(codes::kBadArgument, "pos_embed resample: numPrefixTokens " + std::to_string(numPrefixTokens) + " is outside 0.." + std::to_string(tokens));
  }
  if (newGrid[0] * newGrid[1] + numPrefixTokens == tokens && newGrid[0] == newGrid[1]) return posEmbed;
  const int64_t patches = tokens - numPrefixTokens;
  std::array<int64_t, 2> old;
  if (oldGrid) {
    old = *oldGrid;
  } else {
    const auto side = static_cast<int64_t>(std::lround(std::sqrt(static_cast<double>(patches))));
    old = {side, side};
  }
  if (old[0] * old[1] != patches) {
    throw Error(codes::kShapeMismatch, "pos_embed has " + std::to_string(patches) + " patch tokens (after " + std::to_string(numPrefixTokens) +
                                           " prefix tokens), which is not a " + std::to_string(old[0]) + "x" + std::to_string(old[1]) + " grid");
  }
  at::Tensor prefix = posEmbed.narrow(1, 0, numPrefixTokens);
  at::Tensor grid = posEmbed.narrow(1, numPrefixTokens, patches).to(at::kFloat).reshape({1, old[0], old[1], dim}).permute({0, 3, 1, 2});
  at::Tensor resized = at::_upsample_bicubic2d_aa(grid, {newGrid[0], newGrid[1]}, /*align_corners=*/false, c10::nullopt, c10::nullopt);
  resized = resized.permute({0, 2, 3, 1}).reshape({1, -1, dim}).to(posEmbed.scalar_type());
  return at::cat({prefix, resized}, 1);
}

}  // namespace mdistill::model
