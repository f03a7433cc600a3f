#include "model/swin_windows.h"

#include <vector>

namespace mdistill::model {

at::Tensor ShiftedWindowOrder(int64_t grid, int64_t window, int64_t shift) {
  const int64_t windowsPerSide = grid / window;
  at::Tensor order = at::empty({grid * grid}, at::kLong);
  int64_t* out = order.data_ptr<int64_t>();
  int64_t slot = 0;
  for (int64_t wr = 0; wr < windowsPerSide; ++wr) {
    for (int64_t wc = 0; wc < windowsPerSide; ++wc) {
      for (int64_t r = 0; r < window; ++r) {
        for (int64_t c = 0; c < window; ++c) {
          // roll by -shift: the shifted map's (i, j) holds the original ((i + shift) mod grid, (j + shift) mod grid).
          const int64_t row = (wr * window + r + shift) % grid, col = (wc * window + c + shift) % grid;
          out[slot++] = row * grid + col;
        }
      }
    }
  }
  return order;
}

at::Tensor RelativePositionIndex(int64_t window) {
  const int64_t n = window * window;
  at::Tensor index = at::empty({n, n}, at::kLong);
  int64_t* out = index.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      const int64_t dr = i / window - j / window + window - 1, dc = i % window - j % window + window - 1;
      out[i * n + j] = dr * (2 * window - 1) + dc;
    }
  }
  return index;
}

at::Tensor ShiftedWindowMask(int64_t grid, int64_t window, int64_t shift) {
  // timm labels the shifted map's regions [0, grid-window), [grid-window, grid-shift), [grid-shift, grid) per axis.
  auto region = [&](int64_t i) -> int64_t { return i < grid - window ? 0 : (i < grid - shift ? 1 : 2); };
  const int64_t windowsPerSide = grid / window, n = window * window;
  std::vector<int64_t> label(n);
  at::Tensor mask = at::empty({windowsPerSide * windowsPerSide, n, n}, at::kFloat);
  float* out = mask.data_ptr<float>();
  for (int64_t wr = 0; wr < windowsPerSide; ++wr) {
    for (int64_t wc = 0; wc < windowsPerSide; ++wc) {
      for (int64_t t = 0; t < n; ++t) label[t] = region(wr * window + t / window) * 3 + region(wc * window + t % window);
      for (int64_t i = 0; i < n; ++i) {
        for (int64_t j = 0; j < n; ++j) *out++ = label[i] == label[j] ? 0.0f : -100.0f;
      }
    }
  }
  return mask;
}

}  // namespace mdistill::model
