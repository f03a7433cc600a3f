// The index arithmetic of Swin's (shifted) window attention, as timm computes it, precomputed once per block:
// which token goes to which window slot, the relative-position index into the bias table, and the mask that keeps
// tokens wrapped around by the cyclic shift from attending to each other.
#pragma once
#include <ATen/ATen.h>

#include <cstdint>

namespace mdistill::model {

// The window partition of a grid x grid token map after timm's cyclic shift torch.roll(x, (-shift, -shift)):
// entry j is the (row-major) grid token that lands in slot j of the partitioned order [windows, window*window].
// int64 [grid*grid], a permutation.
at::Tensor ShiftedWindowOrder(int64_t grid, int64_t window, int64_t shift);

// timm's get_relative_position_index: int64 [window^2, window^2], entries in [0, (2*window-1)^2).
at::Tensor RelativePositionIndex(int64_t window);

// timm's attention mask for shifted windows: float [windows, window^2, window^2], 0 between tokens of the same
// region and -100 between tokens the shift brought together from different regions.
at::Tensor ShiftedWindowMask(int64_t grid, int64_t window, int64_t shift);

}  // namespace mdistill::model
