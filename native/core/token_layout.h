// How the tokens of a block's output [B, N, C] lie: `prefix` leading tokens that are not on the patch grid (ViT's
// cls and dist tokens), then a rows x cols patch grid, row-major. Models describe their block outputs with it; the
// manifold loss reads it to drop prefix tokens and to merge grids.
#pragma once
#include <cstdint>

namespace mdistill {

struct TokenLayout {
  int64_t prefix = 0;
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t tokens() const { return prefix + rows * cols; }
};

}  // namespace mdistill
