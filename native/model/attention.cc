#include "model/attention.h"

#include <cmath>

#include "gemm/matmul.h"
#include "gemm/self_attention.h"

namespace mdistill::model {

Attention::Attention(int64_t dim, int64_t heads, bool qkvBias, bool talkingHeads, Init& init) : heads_(heads) {
  qkv_ = register_module("qkv", std::make_shared<Linear>(dim, 3 * dim, qkvBias, init));
  proj_ = register_module("proj", std::make_shared<Linear>(dim, dim, true, init));
  if (talkingHeads) {
    projL_ = register_module("proj_l", std::make_shared<Linear>(heads, heads, true, init));
    projW_ = register_module("proj_w", std::make_shared<Linear>(heads, heads, true, init));
  }
}

at::Tensor Attention::Forward(const at::Tensor& x) const {
  const int64_t hd = x.size(2) / heads_;
  const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
  at::Tensor qkv = qkv_->Forward(x, /*gelu=*/false, /*productsReadIt=*/true);
  at::Tensor out;
  if (projL_) {
    const gemm::TalkingHeads talking{projL_->weight, projL_->bias, projW_->weight, projW_->bias};
    out = gemm::SelfAttention(qkv, heads_, scale, &talking);
  } else {
    out = gemm::SelfAttention(qkv, heads_, scale);
  }
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
