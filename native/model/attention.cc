#include "model/attention.h"

#include <cmath>

#include "gemm/matmul.h"

namespace mdistill::model {

namespace {
// Applies a heads×heads Linear across the head axis of attention maps [B, H, N, N] (talking heads). Written as
// W @ attn[b] over the flattened maps (W broadcast over the batch), which equals timm's Linear on
// attn.permute(0, 2, 3, 1) without the two permuted copies.
at::Tensor MixHeads(const at::Tensor& attn, const Linear& mix) {
  const int64_t B = attn.size(0), H = attn.size(1);
  at::Tensor mixed = gemm::Matmul(mix.weight.unsqueeze(0), attn.reshape({B, H, -1}));
  // In place: the product is a fresh tensor that its backward does not keep, so this saves a map-sized copy.
  return mixed.add_(mix.bias.view({1, H, 1})).view(attn.sizes());
}
}  // namespace

Attention::Attention(int64_t dim, int64_t heads, bool qkvBias, bool talkingHeads, Init& init) : heads_(heads) {
  qkv_ = register_module("qkv", std::make_shared<Linear>(dim, 3 * dim, qkvBias, init));
  proj_ = register_module("proj", std::make_shared<Linear>(dim, dim, true, init));
  if (talkingHeads) {
    projL_ = register_module("proj_l", std::make_shared<Linear>(heads, heads, true, init));
    projW_ = register_module("proj_w", std::make_shared<Linear>(heads, heads, true, init));
  }
}

at::Tensor Attention::Forward(const at::Tensor& x) const {
  const int64_t B = x.size(0), N = x.size(1), C = x.size(2), hd = C / heads_;
  // One contiguous copy splits q, k, v into [B, H, N, hd] each, so the batched GEMMs below need no further copies.
  at::Tensor qkv = qkv_->Forward(x).view({B, N, 3, heads_, hd}).permute({2, 0, 3, 1, 4}).contiguous();
  at::Tensor q = qkv[0].view({B * heads_, N, hd}), k = qkv[1].view({B * heads_, N, hd}), v = qkv[2].view({B * heads_, N, hd});
  const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
  at::Tensor attn = gemm::Matmul(q, k.transpose(1, 2), scale);
  if (projL_) {
    attn = MixHeads(attn.view({B, heads_, N, N}), *projL_);
    attn = MixHeads(at::softmax(attn, -1), *projW_).reshape({B * heads_, N, N});
  } else {
    attn = at::softmax(attn, -1);
  }
  at::Tensor out = gemm::Matmul(attn, v).view({B, heads_, N, hd}).transpose(1, 2).reshape({B, N, C});
  return proj_->Forward(out);
}

ClassAttention::ClassAttention(int64_t dim, int64_t heads, bool qkvBias, Init& init) : heads_(heads) {
  q_ = register_module("q", std::make_shared<Linear>(dim, dim, qkvBias, init));
  k_ = register_module("k", std::make_shared<Linear>(dim, dim, qkvBias, init));
  v_ = register_module("v", std::make_shared<Linear>(dim, dim, qkvBias, init));
  proj_ = register_module("proj", std::make_shared<Linear>(dim, dim, true, init));
}

at::Tensor ClassAttention::Forward(const at::Tensor& u) const {
  const int64_t B = u.size(0), N = u.size(1), C = u.size(2), hd = C / heads_;
  const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
  at::Tensor q = q_->Forward(u.select(1, 0)).view({B * heads_, 1, hd});
  at::Tensor k = k_->Forward(u).view({B, N, heads_, hd}).transpose(1, 2).reshape({B * heads_, N, hd});
  at::Tensor v = v_->Forward(u).view({B, N, heads_, hd}).transpose(1, 2).reshape({B * heads_, N, hd});
  at::Tensor attn = at::softmax(gemm::Matmul(q, k.transpose(1, 2), scale), -1);
  return proj_->Forward(gemm::Matmul(attn, v).view({B, 1, C}));
}

}  // namespace mdistill::model
