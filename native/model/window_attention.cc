#include "model/window_attention.h"

#include <cmath>

#include "gemm/matmul.h"
#include "model/swin_windows.h"

namespace mdistill::model {

WindowAttention::WindowAttention(int64_t dim, int64_t heads, int64_t window, bool qkvBias, Init& init)
    : heads_(heads), window_(window) {
  // Registration order is timm's: the table, then qkv and proj.
  table_ = register_parameter("relative_position_bias_table", init.TruncNormal({(2 * window - 1) * (2 * window - 1), heads}, 0.02));
  index_ = register_buffer("relative_position_index", RelativePositionIndex(window).view({-1}));
  qkv_ = register_module("qkv", std::make_shared<Linear>(dim, 3 * dim, qkvBias, init));
  proj_ = register_module("proj", std::make_shared<Linear>(dim, dim, true, init));
}

at::Tensor WindowAttention::Bias(const at::Tensor& mask) const {
  const int64_t n = window_ * window_;
  at::Tensor bias = table_.index_select(0, index_).view({n, n, heads_}).permute({2, 0, 1}).unsqueeze(0);  // [1, H, n, n]
  return mask.defined() ? bias + mask.unsqueeze(1) : bias.contiguous();
}

at::Tensor WindowAttention::Forward(const at::Tensor& windows, const at::Tensor& bias) const {
  const int64_t Bw = windows.size(0), N = windows.size(1), C = windows.size(2), hd = C / heads_;
  // One contiguous copy splits q, k, v into [Bw, H, N, hd] each, so the batched GEMMs below need no further copies.
  at::Tensor qkv = qkv_->Forward(windows).view({Bw, N, 3, heads_, hd}).permute({2, 0, 3, 1, 4}).contiguous();
  at::Tensor q = qkv[0].view({Bw * heads_, N, hd}), k = qkv[1].view({Bw * heads_, N, hd}), v = qkv[2].view({Bw * heads_, N, hd});
  const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
  at::Tensor attn = gemm::Matmul(q, k.transpose(1, 2), scale);
  // bias is [1 or windows, H, N, N]; the attention maps of one image's windows line up with it.
  const int64_t windowsPerImage = bias.size(0);
  at::Tensor grouped = attn.view({Bw / windowsPerImage, windowsPerImage, heads_, N, N});
  // Without autograd the fresh score tensor can take the bias in place.
  const at::Tensor b = bias.scalar_type() == grouped.scalar_type() ? bias : bias.to(grouped.scalar_type());  // bf16 autocast
  attn = at::softmax(at::GradMode::is_enabled() ? grouped + b : grouped.add_(b), -1);
  at::Tensor out = gemm::Matmul(attn.view({Bw * heads_, N, N}), v).view({Bw, heads_, N, hd}).transpose(1, 2).reshape({Bw, N, C});
  return proj_->Forward(out);
}

}  // namespace mdistill::model
