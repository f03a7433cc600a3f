#include "train/adamw.h"

#include <ATen/Parallel.h>

#include <cmath>
#include <unordered_map>

#include "core/error.h"

namespace mdistill::train {

namespace {
bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}
}  // namespace

bool DecaysWeight(const std::string& name, const at::Tensor& param) {
  if (param.dim() <= 1 || EndsWith(name, ".bias")) return false;
  return name != "pos_embed" && name != "cls_token" && name != "dist_token";
}

AdamW::AdamW(std::vector<std::pair<std::string, at::Tensor>> params, AdamWOptions options) : options_(options) {
  for (auto& [name, param] : params) {
    slots_.push_back({name, param, at::zeros_like(param), at::zeros_like(param), DecaysWeight(name, param)});
  }
}

void AdamW::ZeroGrad() {
  // Undefined rather than zeroed: the next backward then hands its gradient buffers over instead of adding
  // them into zeros (one pass less per parameter, and no zeroing pass).
  for (auto& s : slots_) {
    if (s.param.mutable_grad().defined()) s.param.mutable_grad() = at::Tensor();
  }
}

namespace {

struct Coefficients {
  double beta1, beta2, eps, decayFactor, stepSize, bias2Sqrt;
};

// One pass over a contiguous float32 parameter: the decoupled decay, both moments and the update, element by
// element (the ATen form below makes eight passes with two temporaries).
void FusedUpdate(float* param, float* expAvg, float* expAvgSq, const float* grad, int64_t n, const Coefficients& c, bool decay) {
  const float b1 = static_cast<float>(c.beta1), b2 = static_cast<float>(c.beta2);
  const float oneMinusB1 = static_cast<float>(1.0 - c.beta1), oneMinusB2 = static_cast<float>(1.0 - c.beta2);
  const float eps = static_cast<float>(c.eps), stepSize = static_cast<float>(c.stepSize);
  const float bias2Sqrt = static_cast<float>(c.bias2Sqrt);
  const float decayFactor = decay ? static_cast<float>(c.decayFactor) : 1.0f;
  at::parallel_for(0, n, 32768, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const float g = grad[i];
      const float m = b1 * expAvg[i] + oneMinusB1 * g;
      const float v = b2 * expAvgSq[i] + oneMinusB2 * g * g;
      expAvg[i] = m;
      expAvgSq[i] = v;
      param[i] = param[i] * decayFactor - stepSize * m / (std::sqrt(v) / bias2Sqrt + eps);
    }
  });
}

bool Fusable(const at::Tensor& t) { return t.device().is_cpu() && t.scalar_type() == at::kFloat && t.is_contiguous(); }

}  // namespace

void AdamW::Step(double lr) {
  at::NoGradGuard noGrad;
  ++steps_;
  const double bias1 = 1.0 - std::pow(options_.beta1, static_cast<double>(steps_));
  const double bias2 = 1.0 - std::pow(options_.beta2, static_cast<double>(steps_));
  const Coefficients c{options_.beta1, options_.beta2, options_.eps, 1.0 - lr * options_.weightDecay, lr / bias1, std::sqrt(bias2)};
  for (auto& s : slots_) {
    const at::Tensor& grad = s.param.grad();
    if (!grad.defined()) continue;
    const bool decay = s.decay && options_.weightDecay != 0;
    if (Fusable(s.param) && Fusable(grad) && Fusable(s.expAvg) && Fusable(s.expAvgSq)) {
      FusedUpdate(s.param.data_ptr<float>(), s.expAvg.data_ptr<float>(), s.expAvgSq.data_ptr<float>(), grad.data_ptr<float>(),
                  s.param.numel(), c, decay);
      continue;
    }
    // Other devices and dtypes: the same update in ATen ops.
    if (decay) s.param.mul_(c.decayFactor);
    s.expAvg.mul_(c.beta1).add_(grad, 1.0 - c.beta1);
    s.expAvgSq.mul_(c.beta2).addcmul_(grad, grad, 1.0 - c.beta2);
    at::Tensor denom = (s.expAvgSq.sqrt() / c.bias2Sqrt).add_(c.eps);
    s.param.addcdiv_(s.expAvg, denom, -c.stepSize);
  }
}

std::vector<std::pair<std::string, at::Tensor>> AdamW::State() const {
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (const auto& s : slots_) {
    out.emplace_back("exp_avg." + s.name, s.expAvg);
    out.emplace_back("exp_avg_sq." + s.name, s.expAvgSq);
  }
  return out;
}

void AdamW::LoadState(const std::vector<std::pair<std::string, at::Tensor>>& state, int64_t steps) {
  std::unordered_map<std::string, at::Tensor> byName(state.begin(), state.end());
  at::NoGradGuard noGrad;
  for (auto& s : slots_) {
    for (auto* pair : {&s.expAvg, &s.expAvgSq}) {
      const std::string key = (pair == &s.expAvg ? "exp_avg." : "exp_avg_sq.") + s.name;
      auto it = byName.find(key);
      if (it == byName.end()) throw Error(codes::kBadWeights, "optimizer state has no '" + key + "'");
      if (!it->second.sizes().equals(pair->sizes())) {
        throw Error(codes::kShapeMismatch, "optimizer state '" + key + "' has shape " + c10::str(it->second.sizes()) +
                                               " but the parameter has " + c10::str(pair->sizes()));
      }
      pair->copy_(it->second);
    }
  }
  steps_ = steps;
}

std::vector<std::string> AdamW::NoDecayNames() const {
  std::vector<std::string> out;
  for (const auto& s : slots_) {
    if (!s.decay) out.push_back(s.name);
  }
  return out;
}

}  // namespace mdistill::train
