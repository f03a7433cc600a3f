#include "tests/gemm_checks.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/autocast_mode.h>
#include <torch/csrc/autograd/autograd.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "core/torch_compat.h"
#include "gemm/gemm_engine.h"
#include "gemm/linear.h"
#include "gemm/matmul.h"
#include "gemm/onednn_matmul.h"
#include "gemm/self_attention.h"
#include "gemm/talking_heads_softmax.h"
#include "model/bf16_replica.h"
#include "tests/check_report.h"

namespace mdistill::tests {

namespace {

constexpr double kFloat32Tolerance = 1e-5;  // the bound for oneDNN against ATen in float32

at::Generator& Gen() {
  static at::Generator gen = at::detail::createCPUGenerator(2024);
  return gen;
}

at::Tensor Randn(at::IntArrayRef sizes, at::ScalarType type = at::kFloat) {
  return at::randn(sizes, Gen(), at::TensorOptions().dtype(at::kFloat)).to(type);
}

// One op under test: builds its output from leaf tensors (which it may view: transposes, narrows, selects).
using Op = std::function<at::Tensor(const std::vector<at::Tensor>&)>;

struct Run {
  at::Tensor out;
  std::vector<at::Tensor> grads;
};

// Runs op on fresh leaves copied from `inputs` and back-propagates `gradOut`.
Run Differentiate(const Op& op, const std::vector<at::Tensor>& inputs, const at::Tensor& gradOut) {
  std::vector<at::Tensor> leaves;
  for (const auto& t : inputs) leaves.push_back(t.detach().clone().requires_grad_(true));
  at::Tensor out = op(leaves);
  std::vector<at::Tensor> grads = torch::autograd::grad({out}, leaves, {gradOut.to(out.scalar_type())});
  return Run{out.detach(), grads};
}

// Relative differences of output and every gradient; the worst one is the figure the check reports.
double WorstDiff(const Run& ours, const Run& ref) {
  double worst = MaxRelDiff(ours.out, ref.out);
  for (size_t i = 0; i < ours.grads.size(); ++i) worst = std::max(worst, MaxRelDiff(ours.grads[i], ref.grads[i]));
  return worst;
}

// ---- float32: oneDNN against ATen's own autograd

void CheckFloat32(const std::string& name, const Op& ours, const Op& reference, const std::vector<at::Tensor>& inputs,
                  at::IntArrayRef outSizes) {
  const std::string check = "gemm float32 onednn = aten " + name;
  if (!gemm::onednn::Compiled()) return Skip(check, "this build has no oneDNN");
  const at::Tensor gradOut = Randn(outSizes);
  const Run ref = Differentiate(reference, inputs, gradOut);
  gemm::ScopedEngine engine(gemm::Engine::kOneDnn);
  const uint64_t before = gemm::onednn::ProductsRun();
  const Run got = Differentiate(ours, inputs, gradOut);
  const uint64_t products = gemm::onednn::ProductsRun() - before;
  // Without autograd: the fused path (bias and GELU as post-ops).
  at::Tensor inference;
  {
    at::NoGradGuard noGrad;
    inference = ours(inputs);
  }
  const double worst = std::max(WorstDiff(got, ref), MaxRelDiff(inference, ref.out));
  // The forward product, then dX and dW (dA and dB) in backward, every one on oneDNN.
  const bool ran = products == 3;
  Report(ran && worst < kFloat32Tolerance, check,
         "worst rel diff " + Num(worst) + " over output and gradients (tolerance " + Num(kFloat32Tolerance) + "), " +
             std::to_string(products) + " products on oneDNN");
}

Op LinearOp(bool gelu, const std::function<at::Tensor(const at::Tensor&)>& view, bool bias = true) {
  return [=](const std::vector<at::Tensor>& t) { return gemm::Linear(view(t[0]), t[1], bias ? t[2] : at::Tensor(), gelu); };
}

Op LinearReference(bool gelu, const std::function<at::Tensor(const at::Tensor&)>& view, bool bias = true) {
  return [=](const std::vector<at::Tensor>& t) {
    at::Tensor y = at::linear(view(t[0]), t[1], bias ? t[2] : at::Tensor());
    return gelu ? at::gelu(y) : y;
  };
}

using View = std::function<at::Tensor(const at::Tensor&)>;

void CheckLinearFloat32() {
  const View same = [](const at::Tensor& x) { return x; };
  // M = 3·37 = 111 rows: no multiple of any block size.
  CheckFloat32("Linear [3, 37, 19] x [29, 19]ᵀ + b", LinearOp(false, same), LinearReference(false, same),
               {Randn({3, 37, 19}), Randn({29, 19}), Randn({29})}, {3, 37, 29});
  CheckFloat32("Linear + GELU [3, 37, 19] x [29, 19]ᵀ + b", LinearOp(true, same), LinearReference(true, same),
               {Randn({3, 37, 19}), Randn({29, 19}), Randn({29})}, {3, 37, 29});
  CheckFloat32("Linear without bias [111, 19] x [29, 19]ᵀ", LinearOp(false, same, false), LinearReference(false, same, false),
               {Randn({111, 19}), Randn({29, 19})}, {111, 29});
  // Rows 40 apart (a narrowed view), as class attention's cls row of a [B, N, C] tensor.
  const View narrow = [](const at::Tensor& x) { return x.narrow(1, 5, 19); };
  CheckFloat32("Linear on a strided view (rows 40 apart)", LinearOp(false, narrow), LinearReference(false, narrow),
               {Randn({111, 40}), Randn({29, 19}), Randn({29})}, {111, 29});
  // A transposed input: x is [19, 111] in memory.
  const View transposed = [](const at::Tensor& x) { return x.t(); };
  CheckFloat32("Linear on a transposed input", LinearOp(true, transposed), LinearReference(true, transposed),
               {Randn({19, 111}), Randn({29, 19}), Randn({29})}, {111, 29});
  const View select = [](const at::Tensor& x) { return x.select(1, 1); };
  CheckFloat32("Linear on a selected token [111, 3, 19][:, 1]", LinearOp(false, select), LinearReference(false, select),
               {Randn({111, 3, 19}), Randn({29, 19}), Randn({29})}, {111, 29});
}

Op MatmulOp(double alpha, const View& viewA, const View& viewB) {
  return [=](const std::vector<at::Tensor>& t) { return gemm::Matmul(viewA(t[0]), viewB(t[1]), alpha); };
}

Op MatmulReference(double alpha, const View& viewA, const View& viewB) {
  return [=](const std::vector<at::Tensor>& t) { return at::matmul(viewA(t[0]), viewB(t[1])) * alpha; };
}

void CheckMatmulFloat32() {
  const View same = [](const at::Tensor& x) { return x; };
  const View transposed = [](const at::Tensor& x) { return x.transpose(-2, -1); };
  CheckFloat32("Matmul q·kᵀ·0.3 [5, 37, 19] x [5, 23, 19]ᵀ", MatmulOp(0.3, same, transposed), MatmulReference(0.3, same, transposed),
               {Randn({5, 37, 19}), Randn({5, 23, 19})}, {5, 37, 23});
  CheckFloat32("Matmul on a transposed a [5, 19, 37]ᵀ x [5, 19, 23]", MatmulOp(1.0, transposed, same), MatmulReference(1.0, transposed, same),
               {Randn({5, 19, 37}), Randn({5, 19, 23})}, {5, 37, 23});
  // Talking heads: one [H, H] mixing broadcast over the batch of flattened maps.
  CheckFloat32("Matmul broadcast [1, 7, 7] x [4, 7, 61]", MatmulOp(1.0, same, same), MatmulReference(1.0, same, same),
               {Randn({1, 7, 7}), Randn({4, 7, 61})}, {4, 7, 61});
  // Class attention: one query row per head.
  CheckFloat32("Matmul M=1 [6, 1, 16] x [6, 33, 16]ᵀ", MatmulOp(0.25, same, transposed), MatmulReference(0.25, same, transposed),
               {Randn({6, 1, 16}), Randn({6, 33, 16})}, {6, 1, 33});
  CheckFloat32("Matmul 2-D [37, 19] x [19, 23]", MatmulOp(1.0, same, same), MatmulReference(1.0, same, same),
               {Randn({37, 19}), Randn({19, 23})}, {37, 23});
}

// Self-attention over a fused qkv: the oneDNN engine's strided, fused-backward path against the ATen engine's
// composition (split copy, batched products, transposes), forward and the qkv gradient; with talking heads, the
// forward (inference reads q, k, v in place there too).
void CheckSelfAttentionFloat32() {
  const std::string check = "gemm float32 onednn = aten SelfAttention [3, 37, 3·24], 3 heads";
  if (!gemm::onednn::Compiled()) return Skip(check, "this build has no oneDNN");
  const double scale = 0.125;
  const Op op = [scale](const std::vector<at::Tensor>& t) { return gemm::SelfAttention(t[0], 3, scale); };
  const at::Tensor qkv = Randn({3, 37, 72}), gradOut = Randn({3, 37, 24});
  Run ref;
  {
    gemm::ScopedEngine engine(gemm::Engine::kAten);
    ref = Differentiate(op, {qkv}, gradOut);
  }
  gemm::ScopedEngine engine(gemm::Engine::kOneDnn);
  const uint64_t before = gemm::onednn::ProductsRun();
  const Run got = Differentiate(op, {qkv}, gradOut);
  const uint64_t products = gemm::onednn::ProductsRun() - before;
  const double worst = WorstDiff(got, ref);
  // Forward: scores and output; backward: dP, dq, dk, dv.
  Report(products == 6 && worst < kFloat32Tolerance, check,
         "worst rel diff " + Num(worst) + " over output and qkv gradient (tolerance " + Num(kFloat32Tolerance) + "), " +
             std::to_string(products) + " products on oneDNN");

  const std::string talkingCheck = "gemm float32 onednn = aten SelfAttention with talking heads (inference) [3, 37, 3·32], 4 heads";
  const at::Tensor qkv4 = Randn({3, 37, 96});
  const gemm::TalkingHeads talking{Randn({4, 4}), Randn({4}), Randn({4, 4}), Randn({4})};
  at::NoGradGuard noGrad;
  at::Tensor want;
  {
    gemm::ScopedEngine aten(gemm::Engine::kAten);
    want = gemm::SelfAttention(qkv4, 4, scale, &talking);
  }
  const uint64_t start = gemm::onednn::ProductsRun();
  const at::Tensor out = gemm::SelfAttention(qkv4, 4, scale, &talking);
  const uint64_t used = gemm::onednn::ProductsRun() - start;
  const double diff = MaxRelDiff(out, want);
  // Scores and output; the head mixings and the softmax between them are one pass (gemm/talking_heads_softmax.h).
  Report(used == 2 && diff < kFloat32Tolerance, talkingCheck,
         "rel diff " + Num(diff) + " (tolerance " + Num(kFloat32Tolerance) + "), " + std::to_string(used) + " products on oneDNN");
}

// ---- the fused talking-heads softmax against its float64 composition, within a bound derived for float32

// γ_n = n·u / (1 − n·u): the relative error bound of an n-term float32 sum or dot product (Higham), u = 2⁻²⁴.
double Gamma(int64_t n) {
  const double u = std::ldexp(1.0, -24);
  return n * u / (1 - n * u);
}

// The float64 composition the kernel replaces, from the very values it reads: m = Wpre·s + bpre, p = softmax_j(m),
// out = Wpost·p + bpost over the head axis.
struct TalkingHeadsReference {
  at::Tensor m, p, out;
};

at::Tensor MixHeads64(const at::Tensor& weight, const at::Tensor& maps) { return at::einsum("hg,bgij->bhij", {weight, maps}); }
at::Tensor PerHead(const at::Tensor& bias) { return bias.view({1, -1, 1, 1}); }

TalkingHeadsReference ComposeTalkingHeads(const at::Tensor& s, const gemm::TalkingHeads& t) {
  TalkingHeadsReference r;
  r.m = MixHeads64(t.preWeight.to(at::kDouble), s) + PerHead(t.preBias.to(at::kDouble));
  r.p = at::softmax(r.m, -1);
  r.out = MixHeads64(t.postWeight.to(at::kDouble), r.p) + PerHead(t.postBias.to(at::kDouble));
  return r;
}

// |ours − reference| allowed per element, from float32 arithmetic on these inputs, over H heads:
//   the pre-mixing errs by δ ≤ γ_{H+1}·(|bpre| + |Wpre|·|s|);
//   p = softmax_j(m) then errs relatively by ≤ 2·max_j δ (a shift of every m_j by ≤ Δ moves p_j by ≤ e^{2Δ} − 1),
//   plus the exponential's own ≤ u·(|m_j − max_j m| + 6): the rounded shift (u·|shift|), the Taylor truncation
//   (1.2e-7 ≈ 2u), the Horner steps (≤ 2 roundings each, damped by |r| ≤ 0.35: ≤ 3.2u) and the range reduction
//   (≤ 0.35u); then the row sum's γ_N and the division's u, taken at the row's worst j;
//   the post-mixing adds |Wpost|·(p·ε_p) + γ_{H+1}·(|bpost| + |Wpost|·p).
// A bfloat16 result is then rounded once to 8 significant bits: the float32 error grows by a factor (1 + 2⁻⁸), plus
// 2⁻⁸·|o|.
at::Tensor TalkingHeadsBound(const at::Tensor& s, const gemm::TalkingHeads& t, const TalkingHeadsReference& ref, bool bf16Result) {
  const int64_t H = s.size(1), N = s.size(3);
  const double u = std::ldexp(1.0, -24);
  const at::Tensor preW = t.preWeight.to(at::kDouble).abs(), preB = t.preBias.to(at::kDouble).abs();
  const at::Tensor postW = t.postWeight.to(at::kDouble).abs(), postB = t.postBias.to(at::kDouble).abs();
  const at::Tensor delta = Gamma(H + 1) * (PerHead(preB) + MixHeads64(preW, s.abs()));
  const at::Tensor range = std::get<0>(ref.m.max(-1, true)) - std::get<0>(ref.m.min(-1, true));
  const at::Tensor epsP = 2 * std::get<0>(delta.max(-1, true)) + u * (range + 6) + Gamma(N) + u;
  at::Tensor bound = MixHeads64(postW, ref.p * epsP) + Gamma(H + 1) * (PerHead(postB) + MixHeads64(postW, ref.p));
  if (bf16Result) bound = bound * (1 + std::ldexp(1.0, -8)) + std::ldexp(1.0, -8) * ref.out.abs();
  return bound;
}

void CheckTalkingHeadsSoftmax() {
  // Odd sizes; scores spread wide enough (±24) that the exponential sees its whole range, and one image whose scores
  // span more than 87 so that the clamp below exp(−87) is taken.
  const int64_t B = 3, H = 6, N = 37;
  at::Tensor scores = Randn({B, H, N, N}) * 8;
  scores[2].mul_(20);
  const gemm::TalkingHeads t{Randn({H, H}), Randn({H}), Randn({H, H}), Randn({H})};
  for (const at::ScalarType type : {at::kFloat, at::kBFloat16}) {
    const bool bf16 = type == at::kBFloat16;
    const std::string check = std::string("talking-heads softmax in one pass (") + (bf16 ? "bfloat16" : "float32") +
                              ") = float64 composition [3, 6, 37, 37]";
    const at::Tensor maps = scores.to(type);
    const at::Tensor s = maps.to(at::kDouble);  // the reference starts from the very values the kernel reads
    const TalkingHeadsReference ref = ComposeTalkingHeads(s, t);
    const at::Tensor got = maps.clone();
    gemm::TalkingHeadsSoftmaxInPlace(got, t.preWeight, t.preBias, t.postWeight, t.postBias);
    const at::Tensor err = (got.to(at::kDouble) - ref.out).abs();
    const double worst = (err / TalkingHeadsBound(s, t, ref, bf16)).max().item<double>();
    Report(got.scalar_type() == type && worst <= 1, check,
           "max |diff| " + Num(err.max().item<double>()) + ", at most " + Num(worst) + " of its float32 error bound");
  }
}

// ---- float64: our autograd functions' gradients against central finite differences (ATen does the products)

void CheckFloat64Gradients(const std::string& name, const Op& op, const std::string& functionName,
                           const std::vector<at::Tensor>& inputs) {
  constexpr double kEps = 1e-6, kTolerance = 1e-7;
  gemm::ScopedEngine engine(gemm::onednn::Compiled() ? gemm::Engine::kOneDnn : gemm::Engine::kAten);
  std::vector<at::Tensor> leaves;
  for (const auto& t : inputs) leaves.push_back(t.to(at::kDouble).requires_grad_(true));
  const at::Tensor out = op(leaves);
  const at::Tensor weights = Randn(out.sizes(), at::kDouble);  // the objective sum(out · weights)
  const std::string node = out.grad_fn() ? out.grad_fn()->name() : "none";
  const std::vector<at::Tensor> grads = torch::autograd::grad({(out * weights).sum()}, leaves);
  double worst = 0;
  at::NoGradGuard noGrad;
  for (size_t i = 0; i < leaves.size(); ++i) {
    at::Tensor flat = leaves[i].detach().view({-1});
    at::Tensor numeric = at::empty_like(flat);
    for (int64_t j = 0; j < flat.numel(); ++j) {
      const double keep = flat[j].item<double>();
      std::vector<at::Tensor> probe;
      for (const auto& l : leaves) probe.push_back(l.detach());
      flat[j] = keep + kEps;
      const double up = (op(probe) * weights).sum().item<double>();
      flat[j] = keep - kEps;
      const double down = (op(probe) * weights).sum().item<double>();
      flat[j] = keep;
      numeric[j] = (up - down) / (2 * kEps);
    }
    worst = std::max(worst, MaxRelDiff(grads[i].reshape({-1}), numeric));
  }
  // The node proves the products ran through our function (float64 cannot go to oneDNN: ATen did them).
  const bool ours = !gemm::onednn::Compiled() || node.find(functionName) != std::string::npos;
  Report(ours && worst < kTolerance, "gemm float64 gradients = finite differences " + name,
         "worst rel diff " + Num(worst) + " (tolerance " + Num(kTolerance) + "), autograd node " + node);
}

void CheckFloat64() {
  const View same = [](const at::Tensor& x) { return x; };
  const View transposed = [](const at::Tensor& x) { return x.transpose(-2, -1); };
  CheckFloat64Gradients("Linear + GELU [2, 3, 5] x [4, 5]ᵀ + b", LinearOp(true, same), "LinearFunction",
                        {Randn({2, 3, 5}), Randn({4, 5}), Randn({4})});
  CheckFloat64Gradients("Matmul broadcast·0.7 [1, 3, 4] x [2, 5, 4]ᵀ", MatmulOp(0.7, same, transposed), "MatmulFunction",
                        {Randn({1, 3, 4}), Randn({2, 5, 4})});
  const Op attention = [](const std::vector<at::Tensor>& t) { return gemm::SelfAttention(t[0], 2, 0.6); };
  CheckFloat64Gradients("SelfAttention [2, 5, 3·4], 2 heads", attention, "SelfAttentionFunction", {Randn({2, 5, 12})});
}

// ---- bfloat16

// ATen's CPU autocast with bfloat16 on this thread, as --amp sets it for the training step.
class Bf16Autocast {
 public:
  Bf16Autocast() : previous_(compat::AutocastEnabled(at::kCPU)) {
    compat::SetAutocastEnabled(at::kCPU, true);
    compat::SetAutocastDtype(at::kCPU, at::kBFloat16);
  }
  ~Bf16Autocast() {
    compat::SetAutocastEnabled(at::kCPU, previous_);
    at::autocast::clear_cache();
  }

 private:
  bool previous_;
};

at::Tensor RoundedToBf16(const at::Tensor& t) { return t.detach().to(at::kBFloat16).to(at::kFloat); }

// An operand as a bfloat16 product reads it: rounded to bfloat16 forward; its gradient passes back unrounded (the
// product's gradients are float32).
struct RoundOperand : torch::autograd::Function<RoundOperand> {
  static at::Tensor forward(torch::autograd::AutogradContext*, const at::Tensor& x) { return RoundedToBf16(x); }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext*, torch::autograd::variable_list g) { return g; }
};

// The identity forward; backward rounds the gradient to bfloat16, as a bfloat16 product reads the upstream gradient.
struct RoundGrad : torch::autograd::Function<RoundGrad> {
  static at::Tensor forward(torch::autograd::AutogradContext*, const at::Tensor& x) { return x.clone(); }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext*, torch::autograd::variable_list g) {
    return {RoundedToBf16(g[0])};
  }
};

// Under --amp: float32 inputs, bfloat16 operands; results in `resultType` (float32, or bfloat16 where only products
// read them), gradients float32. Held to (1) the float32 products of the same bfloat16-rounded operands, at float32's
// tolerance (only the summation order differs), when such a reference is given, and (2) float32, within what
// bfloat16's 8-bit significand allows (twice that for a bfloat16 result, rounded once more).
void CheckAmp(const std::string& name, const Op& ours, const Op* roundedReference, const Op& reference,
              const std::vector<at::Tensor>& inputs, at::IntArrayRef outSizes, at::ScalarType resultType, uint64_t expectedProducts) {
  const std::string check = "gemm bfloat16 under amp " + name;
  if (!gemm::onednn::Compiled()) return Skip(check, "this build has no oneDNN");
  const double bf16Tolerance = (resultType == at::kBFloat16 ? 6.0 : 3.0) / 256;  // units of bfloat16's last place, relative to the largest value
  const at::Tensor gradOut = Randn(outSizes);
  const Run fp32 = Differentiate(reference, inputs, gradOut);
  Run got;
  uint64_t products = 0;
  {
    gemm::ScopedEngine engine(gemm::Engine::kOneDnn);
    Bf16Autocast amp;
    const uint64_t before = gemm::onednn::ProductsRun();
    got = Differentiate(ours, inputs, gradOut);
    products = gemm::onednn::ProductsRun() - before;
  }
  bool types = got.out.scalar_type() == resultType, finite = got.out.isfinite().all().item<bool>();
  for (const auto& g : got.grads) {
    types = types && g.scalar_type() == at::kFloat;
    finite = finite && g.isfinite().all().item<bool>();
  }
  const double toRounded = roundedReference ? WorstDiff(got, Differentiate(*roundedReference, inputs, gradOut)) : 0;
  const double toFloat32 = WorstDiff(got, fp32);
  Report(types && finite && products == expectedProducts && toRounded < kFloat32Tolerance && toFloat32 < bf16Tolerance, check,
         std::string("result ") + c10::toString(got.out.scalar_type()) + ", float32 gradients, finite; worst rel diff " +
             (roundedReference ? Num(toRounded) + " to float32 on the same bfloat16-rounded operands (tolerance " + Num(kFloat32Tolerance) + "), " : "") +
             Num(toFloat32) + " to float32 (tolerance " + Num(bf16Tolerance) + "), " + std::to_string(products) + " products on oneDNN");
}

void CheckBf16() {
  const View same = [](const at::Tensor& x) { return x; };
  const View transposed = [](const at::Tensor& x) { return x.transpose(-2, -1); };
  // The rounded reference rounds the operands as the products see them, and the upstream gradient where a product
  // consumes it (dX = dY·W, dW = dYᵀ·X); the bias gradient sums the float32 one.
  const Op linearRounded = [](const std::vector<at::Tensor>& t) {
    return RoundGrad::apply(at::matmul(RoundOperand::apply(t[0]), RoundOperand::apply(t[1]).t())) + t[2];
  };
  CheckAmp("Linear [3, 37, 64] x [48, 64]ᵀ + b", LinearOp(false, same), &linearRounded, LinearReference(false, same),
           {Randn({3, 37, 64}), Randn({48, 64}), Randn({48})}, {3, 37, 48}, at::kFloat, 3);
  const Op matmulRounded = [](const std::vector<at::Tensor>& t) {
    return RoundGrad::apply(at::matmul(RoundOperand::apply(t[0]), RoundOperand::apply(t[1]).transpose(-2, -1)) * 0.5);
  };
  CheckAmp("Matmul·0.5 [5, 37, 32] x [5, 23, 32]ᵀ", MatmulOp(0.5, same, transposed), &matmulRounded, MatmulReference(0.5, same, transposed),
           {Randn({5, 37, 32}), Randn({5, 23, 32})}, {5, 37, 23}, at::kFloat, 3);
  // fc1 as an --amp block runs it: only fc2 reads its GELU, so the result (and the kept pre-activation) is bfloat16.
  const Op fc1 = [](const std::vector<at::Tensor>& t) { return gemm::Linear(t[0], t[1], t[2], /*gelu=*/true, /*productsReadIt=*/true); };
  CheckAmp("Linear + GELU read by products (fc1) [3, 37, 64] x [96, 64]ᵀ + b", fc1, nullptr, LinearReference(true, same),
           {Randn({3, 37, 64}), Randn({96, 64}), Randn({96})}, {3, 37, 96}, at::kBFloat16, 3);
  // Self-attention on a float32 qkv: bfloat16 operands, float32 softmax, bfloat16 heads' outputs.
  const Op attention = [](const std::vector<at::Tensor>& t) { return gemm::SelfAttention(t[0], 3, 0.125); };
  const Op attentionReference = [](const std::vector<at::Tensor>& t) {
    gemm::ScopedEngine aten(gemm::Engine::kAten);
    return gemm::SelfAttention(t[0], 3, 0.125);
  };
  CheckAmp("SelfAttention [3, 37, 3·24], 3 heads", attention, nullptr, attentionReference, {Randn({3, 37, 72})}, {3, 37, 24},
           at::kBFloat16, 6);
}

// A bfloat16 model's products (the teacher under --amp): bfloat16 in, bfloat16 out, with bias and fused GELU.
void CheckBf16Model() {
  const std::string check = "gemm bfloat16 in and out (a bfloat16 model's Linear + GELU)";
  if (!gemm::onednn::Compiled()) return Skip(check, "this build has no oneDNN");
  constexpr double kTolerance = 3.0 / 256;
  const at::Tensor x = Randn({3, 37, 64}), w = Randn({48, 64}), b = Randn({48});
  const at::Tensor ref = at::gelu(at::linear(x, w, b));
  gemm::ScopedEngine engine(gemm::Engine::kOneDnn);
  at::NoGradGuard noGrad;
  const uint64_t before = gemm::onednn::ProductsRun();
  const at::Tensor y = gemm::Linear(x.to(at::kBFloat16), w.to(at::kBFloat16), b.to(at::kBFloat16), true);
  const bool ran = gemm::onednn::ProductsRun() > before;
  const double diff = MaxRelDiff(y, ref);
  Report(ran && y.scalar_type() == at::kBFloat16 && diff < kTolerance, check,
         std::string("result ") + c10::toString(y.scalar_type()) + ", rel diff " + Num(diff) + " to float32 (tolerance " + Num(kTolerance) + ")");
}

}  // namespace

void RunGemmChecks() {
  Guarded("gemm float32 Linear", CheckLinearFloat32);
  Guarded("gemm float32 Matmul", CheckMatmulFloat32);
  Guarded("gemm float32 SelfAttention", CheckSelfAttentionFloat32);
  Guarded("talking-heads softmax", CheckTalkingHeadsSoftmax);
  Guarded("gemm float64 gradients", CheckFloat64);
  Guarded("gemm bfloat16 under amp", CheckBf16);
  Guarded("gemm bfloat16 model", CheckBf16Model);
}

}  // namespace mdistill::tests
