// The building blocks shared by ViT/DeiT and CaiT, registered under timm's parameter names.
// Forward passes call ATen (at::layer_norm, ...) and the GEMM layer (gemm/linear.h), so autograd records them.
#pragma once
#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include <memory>
#include <string>
#include <vector>

namespace mdistill::model {

// Every weight of one model is drawn from this generator, so a seed reproduces the initialisation.
struct Init {
  at::Generator gen;
  at::Tensor TruncNormal(at::IntArrayRef shape, double std);  // timm's trunc_normal_(std, a=-2, b=2)
  at::Tensor Uniform(at::IntArrayRef shape, double bound);
};

// nn.Linear: `weight` [out, in], `bias` [out] (optional). With gelu, exact GELU of the result (timm's fc1 + act).
// productsReadIt: only other matrix products read the result, so under --amp it may be bfloat16 (gemm/precision.h).
class Linear : public torch::nn::Module {
 public:
  Linear(int64_t in, int64_t out, bool bias, Init& init);
  at::Tensor Forward(const at::Tensor& x, bool gelu = false, bool productsReadIt = false) const;
  at::Tensor weight, bias;
};

// nn.LayerNorm(dim, eps): timm's ViT and CaiT use eps 1e-6, Swin the PyTorch default 1e-5. A bfloat16 input (a
// bfloat16 replica's forward) is normalised in float32 and returned in bfloat16.
class LayerNorm : public torch::nn::Module {
 public:
  explicit LayerNorm(int64_t dim, double eps = 1e-6);
  at::Tensor Forward(const at::Tensor& x) const;
  at::Tensor weight, bias;

 private:
  double eps_;
};

// timm's PatchEmbed: a stride-p conv (`proj`), flattened to [B, patches, dim] (row-major over the patch grid).
// normEps > 0 adds timm's norm_layer after it (`norm`, a LayerNorm with that eps), as Swin has.
class PatchEmbed : public torch::nn::Module {
 public:
  PatchEmbed(int64_t inChans, int64_t dim, int64_t patch, Init& init, double normEps = 0);
  at::Tensor Forward(const at::Tensor& x) const;

 private:
  class Conv : public torch::nn::Module {
   public:
    Conv(int64_t inChans, int64_t dim, int64_t patch, Init& init);
    at::Tensor weight, bias;
  };
  std::shared_ptr<Conv> proj_;
  std::shared_ptr<LayerNorm> norm_;
  int64_t patch_;
};

// timm's Mlp: fc1, exact GELU, fc2.
class Mlp : public torch::nn::Module {
 public:
  Mlp(int64_t dim, int64_t hidden, Init& init);
  at::Tensor Forward(const at::Tensor& x) const;

 private:
  std::shared_ptr<Linear> fc1_, fc2_;
};

// Stochastic depth per sample (timm's drop_path, scale_by_keep); the identity outside training.
at::Tensor DropPath(const at::Tensor& x, double rate, bool train);

// nn.ModuleList: children named "0", "1", ... so parameter names read `blocks.3.attn.qkv.weight`.
template <typename T>
class ModuleStack : public torch::nn::Module {
 public:
  void Add(std::shared_ptr<T> item) { items_.push_back(register_module(std::to_string(items_.size()), std::move(item))); }
  const std::vector<std::shared_ptr<T>>& items() const { return items_; }
  size_t size() const { return items_.size(); }

 private:
  std::vector<std::shared_ptr<T>> items_;
};

}  // namespace mdistill::model
