#include "model/bf16_replica.h"

#include <torch/csrc/autograd/grad_mode.h>

namespace mdistill::model {

Bf16Replica::Bf16Replica(std::shared_ptr<const Model> source) : source_(std::move(source)) {}

std::shared_ptr<const Model> Bf16Replica::Get() {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto source = source_->NamedParameters();
  std::vector<int64_t> versions;
  versions.reserve(source.size());
  for (const auto& [name, p] : source) versions.push_back(p._version());
  if (replica_ && versions == versions_) return replica_;
  at::NoGradGuard noGrad;
  if (!replica_) {
    // The initial draw is overwritten below; only the structure and the parameter names matter.
    replica_ = CreateModel(source_->config(), 0);
    // Module::to(dtype) would cast every buffer, Swin's integer relative-position index too: cast the floating ones.
    replica_->to(source_->device());
    for (auto& p : replica_->parameters()) p.set_data(p.to(at::kBFloat16));
    for (auto& b : replica_->buffers()) {
      if (at::isFloatingType(b.scalar_type())) b.set_data(b.to(at::kBFloat16));
    }
    replica_->eval();
    for (auto& p : replica_->parameters()) p.set_requires_grad(false);
  }
  const auto target = replica_->NamedParameters();
  for (size_t i = 0; i < source.size(); ++i) target[i].second.copy_(source[i].second);
  versions_ = std::move(versions);
  return replica_;
}

}  // namespace mdistill::model
