#include "model/layers.h"

#include <cmath>

#include "gemm/linear.h"

namespace mdistill::model {

at::Tensor Init::TruncNormal(at::IntArrayRef shape, double std) {
  at::Tensor t = at::empty(shape, at::kFloat);
  t.normal_(0.0, std, gen);
  // timm truncates at the absolute bounds ±2, which for its stds (≤ 0.02) is a 100σ tail: clamping is exact enough.
  return t.clamp_(-2.0, 2.0);
}

at::Tensor Init::Uniform(at::IntArrayRef shape, double bound) {
  at::Tensor t = at::empty(shape, at::kFloat);
  return t.uniform_(-bound, bound, gen);
}

Linear::Linear(int64_t in, int64_t out, bool withBias, Init& init) {
  weight = register_parameter("weight", init.TruncNormal({out, in}, 0.02));
  if (withBias) bias = register_parameter("bias", at::zeros({out}));
}

at::Tensor Linear::Forward(const at::Tensor& x, bool gelu, bool productsReadIt) const {
  return gemm::Linear(x, weight, bias, gelu, productsReadIt);
}

LayerNorm::LayerNorm(int64_t dim, double eps) : eps_(eps) {
  weight = register_parameter("weight", at::ones({dim}));
  bias = register_parameter("bias", at::zeros({dim}));
}

at::Tensor LayerNorm::Forward(const at::Tensor& x) const {
  if (x.scalar_type() == at::kBFloat16 && x.is_cpu()) {
    // libtorch 1.13's CPU LayerNorm has no vectorised bfloat16 kernel (7x slower than converting to float32 and
    // back), and it rejects a bfloat16 input with float32 weights (a Linear's bf16 output under autocast, which
    // Swin's patch embedding and patch merging feed to a norm directly): normalise in float32, and return the
    // weights' precision.
    return at::layer_norm(x.to(at::kFloat), {weight.size(0)}, weight.to(at::kFloat), bias.to(at::kFloat), eps_).to(weight.scalar_type());
  }
  const at::Tensor& in = x.scalar_type() == weight.scalar_type() ? x : x.to(weight.scalar_type());
  return at::layer_norm(in, {weight.size(0)}, weight, bias, eps_);
}

PatchEmbed::Conv::Conv(int64_t inChans, int64_t dim, int64_t patch, Init& init) {
  // PyTorch's default Conv2d init (kaiming_uniform a=√5), which timm keeps for the patch embedding.
  const double bound = 1.0 / std::sqrt(static_cast<double>(inChans * patch * patch));
  weight = register_parameter("weight", init.Uniform({dim, inChans, patch, patch}, bound));
  bias = register_parameter("bias", init.Uniform({dim}, bound));
}

PatchEmbed::PatchEmbed(int64_t inChans, int64_t dim, int64_t patch, Init& init, double normEps) : patch_(patch) {
  proj_ = register_module("proj", std::make_shared<Conv>(inChans, dim, patch, init));
  if (normEps > 0) norm_ = register_module("norm", std::make_shared<LayerNorm>(dim, normEps));
}

at::Tensor PatchEmbed::Forward(const at::Tensor& x) const {
  // A stride-p, kernel-p conv is a GEMM over non-overlapping patches: gather each patch as a row
  // (one copy of the image), then one product. Same result as conv2d + flatten(2).transpose(1, 2), and faster on CPU.
  const int64_t B = x.size(0), C = x.size(1), gh = x.size(2) / patch_, gw = x.size(3) / patch_;
  at::Tensor patches = x.reshape({B, C, gh, patch_, gw, patch_}).permute({0, 2, 4, 1, 3, 5}).reshape({B, gh * gw, C * patch_ * patch_});
  at::Tensor tokens = gemm::Linear(patches, proj_->weight.reshape({proj_->weight.size(0), -1}), proj_->bias);
  return norm_ ? norm_->Forward(tokens) : tokens;
}

Mlp::Mlp(int64_t dim, int64_t hidden, Init& init) {
  fc1_ = register_module("fc1", std::make_shared<Linear>(dim, hidden, true, init));
  fc2_ = register_module("fc2", std::make_shared<Linear>(hidden, dim, true, init));
}

at::Tensor Mlp::Forward(const at::Tensor& x) const {
  return fc2_->Forward(fc1_->Forward(x, /*gelu=*/true, /*productsReadIt=*/true));
}

at::Tensor DropPath(const at::Tensor& x, double rate, bool train) {
  if (!train || rate <= 0.0) return x;
  const double keep = 1.0 - rate;
  std::vector<int64_t> maskShape(x.dim(), 1);
  maskShape[0] = x.size(0);
  at::Tensor mask = at::empty(maskShape, x.options().requires_grad(false)).bernoulli_(keep).div_(keep);
  return x * mask;
}

}  // namespace mdistill::model
