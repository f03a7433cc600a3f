#include "train/adamw.h"

#include <ATen/Parallel.h>

#include <cmath>
#include <unordered_map>

#include "napi/errors.h"

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
  for (auto& s : slots_) {
    if (s.param.mutable_grad().defined()) s.param.mutable_grad().zero_();
  }
}

void AdamW::Step(double lr) {
  at::NoGradGuard noGrad;
  ++steps_;
  const double bias1 = 1.0 - std::pow(options_.beta1, static_cast<double>(steps_));
  const double bias2 = 1.0 - std::pow(options_.beta2, static_cast<double>(steps_));
  const double stepSize = lr / bias1;
  const double bias2Sqrt = std::sqrt(bias2);
  for (auto& s : slots_) {
    const at::Tensor& grad = s.param.grad();
    if (!grad.defined()) continue;
    if (s.decay && options_.weightDecay != 0) s.param.mul_(1.0 - lr * options_.weightDecay);
    s.expAvg.mul_(options_.beta1).add_(grad, 1.0 - options_.beta1);
    s.expAvgSq.mul_(options_.beta2).addcmul_(grad, grad, 1.0 - options_.beta2);
    at::Tensor denom = (s.expAvgSq.sqrt() / bias2Sqrt).add_(options_.eps);
    s.param.addcdiv_(s.expAvg, denom, -stepSize);
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
