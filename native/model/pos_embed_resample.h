// timm's resample_abs_pos_embed: keeps the prefix tokens (cls/dist), resizes the patch grid of a
// pos_embed [1, prefix + h*w, dim] with antialiased bicubic interpolation (align_corners=False).
#pragma once
#include <ATen/ATen.h>

#include <array>
#include <cstdint>
#include <optional>

namespace mdistill::model {

// oldGrid defaults to the square grid that the token count implies. Returns posEmbed itself when timm
// would (same token count and a square target). Throws Error(kShapeMismatch) for a shape it cannot read.
at::Tensor ResamplePosEmbed(const at::Tensor& posEmbed, std::array<int64_t, 2> newGrid, int64_t numPrefixTokens,
                            std::optional<std::array<int64_t, 2>> oldGrid = std::nullopt);

}  // namespace mdistill::model
