#include "gemm/self_attention.h"

#include <torch/csrc/autograd/custom_function.h>

#include "core/error.h"
#include "core/shape_text.h"
#include "gemm/gemm_engine.h"
#include "gemm/matmul.h"
#include "gemm/precision.h"
#include "gemm/product.h"
#include "gemm/talking_heads_softmax.h"

namespace mdistill::gemm {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct Dims {
  int64_t B, N, H, hd, C;
};

Dims DimsOf(const at::Tensor& qkv, int64_t heads) {
  if (qkv.dim() != 3 || heads < 1 || qkv.size(2) % (3 * heads) != 0) {
    throw Error(codes::kShapeMismatch, "SelfAttention: qkv must be [B, N, 3·C] with C divisible by the " + std::to_string(heads) +
                                           " heads, got " + ShapeText(qkv.sizes()));
  }
  const int64_t C = qkv.size(2) / 3;
  return {qkv.size(0), qkv.size(1), heads, C / heads, C};
}

// Part i (0: q, 1: k, 2: v) of a [B, N, 3C] tensor as [B, H, N, hd] strided views: no copy.
at::Tensor Part(const at::Tensor& qkv, const Dims& d, int64_t i) {
  return qkv.view({d.B, d.N, 3, d.H, d.hd}).select(2, i).permute({0, 2, 1, 3});
}

// A [B, N, C] tensor as [B, H, N, hd] (each head's rows).
at::Tensor Heads(const at::Tensor& x, const Dims& d) { return x.view({d.B, d.N, d.H, d.hd}).permute({0, 2, 1, 3}); }

// W·maps + b across the head axis of [B, H, N, N] maps: a heads×heads Linear per position (timm's Linear on
// maps.permute(0, 2, 3, 1)), as one product with W broadcast over the batch.
at::Tensor MixHeads(const at::Tensor& maps, const at::Tensor& weight, const at::Tensor& bias) {
  const int64_t B = maps.size(0), H = maps.size(1);
  at::Tensor mixed = at::empty(maps.sizes(), maps.options());
  ProductInto(mixed.view({B, H, -1}), weight.to(maps.scalar_type()).unsqueeze(0), maps.reshape({B, H, -1}));
  return mixed.add_(bias.to(maps.scalar_type()).view({1, H, 1, 1}));
}

struct Forward {
  at::Tensor out;       // [B, N, C]
  at::Tensor operands;  // qkv in the products' dtype
  at::Tensor probs;     // the softmax, in the scores' dtype (float32 unless the model is bfloat16)
  at::Tensor probsOperand;  // the softmax in the products' dtype
};

// scoresType: float32 for training (and for a float32 qkv), bfloat16 for a bfloat16 model in inference.
Forward RunForward(const at::Tensor& qkv, const Dims& d, double scale, const TalkingHeads* talking, at::ScalarType scoresType) {
  Forward f;
  const at::ScalarType operand = OperandType(qkv, qkv), result = ResultType(qkv.scalar_type(), operand, /*productsReadIt=*/true);
  f.operands = qkv.to(operand);
  at::Tensor scores = at::empty({d.B, d.H, d.N, d.N}, qkv.options().dtype(scoresType));
  ProductInto(scores, Part(f.operands, d, 0), Part(f.operands, d, 1).transpose(-2, -1), {at::Tensor(), false, scale});
  if (talking && TalkingHeadsSoftmaxApplies(scores)) {
    TalkingHeadsSoftmaxInPlace(scores, talking->preWeight, talking->preBias, talking->postWeight, talking->postBias);
    f.probs = scores;
  } else {
    if (talking) scores = MixHeads(scores, talking->preWeight, talking->preBias);
    f.probs = at::softmax(scores, -1);
    if (talking) f.probs = MixHeads(f.probs, talking->postWeight, talking->postBias);
  }
  f.probsOperand = f.probs.to(operand);
  f.out = at::empty({d.B, d.N, d.C}, qkv.options().dtype(result));
  ProductInto(Heads(f.out, d), f.probsOperand, Part(f.operands, d, 2));
  return f;
}

class SelfAttentionFunction : public torch::autograd::Function<SelfAttentionFunction> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& qkv, int64_t heads, double scale) {
    const Dims d = DimsOf(qkv, heads);
    Forward f = RunForward(qkv, d, scale, nullptr, qkv.scalar_type() == at::kDouble ? at::kDouble : at::kFloat);
    ctx->save_for_backward({f.operands, f.probs, f.probsOperand});
    ctx->saved_data["heads"] = heads;
    ctx->saved_data["scale"] = scale;
    ctx->saved_data["qkv_type"] = static_cast<int64_t>(qkv.scalar_type());
    return f.out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor& operands = saved[0];
    const at::Tensor& probs = saved[1];
    const at::Tensor& probsOperand = saved[2];
    const Dims d = DimsOf(operands, ctx->saved_data["heads"].toInt());
    const double scale = ctx->saved_data["scale"].toDouble();
    const at::ScalarType operand = operands.scalar_type();
    const at::Tensor gradOut = Heads(grads[0].to(operand), d);
    const at::Tensor q = Part(operands, d, 0), k = Part(operands, d, 1), v = Part(operands, d, 2);
    at::Tensor gradProbs = at::empty(probs.sizes(), probs.options());
    ProductInto(gradProbs, gradOut, v.transpose(-2, -1));  // dP = dO·vᵀ
    const at::Tensor gradScores = at::_softmax_backward_data(gradProbs, probs, -1, probs.scalar_type()).to(operand);
    // dq, dk and dv land in their places of one [B, N, 3C] gradient.
    at::Tensor gradQkv = at::empty({d.B, d.N, 3 * d.C}, operands.options().dtype(static_cast<at::ScalarType>(ctx->saved_data["qkv_type"].toInt())));
    ProductInto(Part(gradQkv, d, 0), gradScores, k, {at::Tensor(), false, scale});                        // dq = s·dS·k
    ProductInto(Part(gradQkv, d, 1), gradScores.transpose(-2, -1), q, {at::Tensor(), false, scale});      // dk = s·dSᵀ·q
    ProductInto(Part(gradQkv, d, 2), probsOperand.transpose(-2, -1), gradOut);                            // dv = Pᵀ·dO
    return {gradQkv, at::Tensor(), at::Tensor()};
  }
};

// The composition the ATen engine, CUDA and talking heads under autograd use: q, k, v split into one contiguous
// [3, B·H, N, hd] copy, the thread-split batched products, the heads transposed back into [B, N, C].
at::Tensor Composed(const at::Tensor& qkv, const Dims& d, double scale, const TalkingHeads* talking) {
  at::Tensor split = qkv.view({d.B, d.N, 3, d.H, d.hd}).permute({2, 0, 3, 1, 4}).contiguous();
  const int64_t G = d.B * d.H;
  at::Tensor q = split[0].view({G, d.N, d.hd}), k = split[1].view({G, d.N, d.hd}), v = split[2].view({G, d.N, d.hd});
  at::Tensor attn = Matmul(q, k.transpose(1, 2), scale);
  if (talking) {
    const auto mix = [&](const at::Tensor& maps, const at::Tensor& weight, const at::Tensor& bias) {
      at::Tensor mixed = Matmul(weight.unsqueeze(0), maps.reshape({d.B, d.H, -1}));
      // In place: the product is a fresh tensor that its backward does not keep, so this saves a map-sized copy.
      return mixed.add_(bias.view({1, d.H, 1})).view({d.B, d.H, d.N, d.N});
    };
    attn = mix(attn.view({d.B, d.H, d.N, d.N}), talking->preWeight, talking->preBias);
    attn = mix(at::softmax(attn, -1), talking->postWeight, talking->postBias).reshape({G, d.N, d.N});
  } else {
    attn = at::softmax(attn, -1);
  }
  return Matmul(attn, v).view({d.B, d.H, d.N, d.hd}).transpose(1, 2).reshape({d.B, d.N, d.C});
}

bool NeedsGrad(const at::Tensor& qkv, const TalkingHeads* talking) {
  if (!at::GradMode::is_enabled()) return false;
  if (qkv.requires_grad()) return true;
  return talking && (talking->preWeight.requires_grad() || talking->preBias.requires_grad() ||
                     talking->postWeight.requires_grad() || talking->postBias.requires_grad());
}

}  // namespace

at::Tensor SelfAttention(const at::Tensor& qkv, int64_t heads, double scale, const TalkingHeads* talking) {
  const Dims d = DimsOf(qkv, heads);
  if (ActiveEngine() == Engine::kAten || !qkv.is_cpu()) return Composed(qkv, d, scale, talking);
  if (!NeedsGrad(qkv, talking)) return RunForward(qkv, d, scale, talking, qkv.scalar_type()).out;
  if (talking) return Composed(qkv, d, scale, talking);
  return SelfAttentionFunction::apply(qkv, heads, scale);
}

}  // namespace mdistill::gemm
