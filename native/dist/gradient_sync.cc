#include "dist/gradient_sync.h"

#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/utils/lambda_post_hook.h>
#include <torch/csrc/autograd/variable.h>

#include "core/error.h"

namespace mdistill::dist {

GradientSync::GradientSync(std::shared_ptr<ProcessGroup> group, std::vector<at::Tensor> params, size_t bucketBytes)
    : group_(std::move(group)) {
  for (auto& p : params) {
    if (p.requires_grad()) params_.push_back(p);
  }
  bucketOf_.resize(params_.size());
  ready_.assign(params_.size(), false);
  // Reverse registration order: the last layers' gradients are ready first.
  for (size_t k = params_.size(); k-- > 0;) {
    const auto& p = params_[k];
    const int64_t bytes = p.numel() * static_cast<int64_t>(p.element_size());
    const bool full = !buckets_.empty() && buckets_.back().numel > 0 &&
                      static_cast<size_t>(buckets_.back().numel * static_cast<int64_t>(p.element_size()) + bytes) > bucketBytes;
    const bool otherType = !buckets_.empty() && params_[buckets_.back().params.front()].scalar_type() != p.scalar_type();
    if (buckets_.empty() || full || otherType) {
      buckets_.emplace_back();
    }
    buckets_.back().params.push_back(k);
    buckets_.back().numel += p.numel();
    bucketOf_[k] = buckets_.size() - 1;
  }
  for (size_t k = 0; k < params_.size(); ++k) {
    auto acc = torch::autograd::impl::grad_accumulator(params_[k]);
    if (!acc) throw Error(codes::kInternal, "gradient sync: a parameter is not a leaf that requires grad");
    acc->add_post_hook(std::make_unique<torch::autograd::utils::LambdaPostHook>(
        [this, k, alive = std::weak_ptr<bool>(alive_)](const torch::autograd::variable_list& outputs,
                                                      const torch::autograd::variable_list&) {
          if (alive.lock()) MarkReady(k);
          return outputs;
        }));
    accumulators_.push_back(std::move(acc));
  }
}

void GradientSync::BeginBackward() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::fill(ready_.begin(), ready_.end(), false);
  for (auto& b : buckets_) {
    b.pending = b.params.size();
    b.launched = false;
    b.work.reset();
  }
  nextLaunch_ = 0;
  active_ = true;
}

void GradientSync::MarkReady(size_t param) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!active_ || ready_[param]) return;  // outside a synced backward, or a parameter used twice
  ready_[param] = true;
  --buckets_[bucketOf_[param]].pending;
  LaunchReadyInOrder();
}

void GradientSync::LaunchReadyInOrder() {
  while (nextLaunch_ < buckets_.size() && buckets_[nextLaunch_].pending == 0) {
    Launch(buckets_[nextLaunch_]);
    ++nextLaunch_;
  }
}

void GradientSync::Launch(Bucket& bucket) {
  const auto& first = params_[bucket.params.front()];
  if (!bucket.flat.defined()) bucket.flat = at::empty({bucket.numel}, first.options().requires_grad(false));
  at::NoGradGuard noGrad;
  int64_t offset = 0;
  for (size_t k : bucket.params) {
    const auto& p = params_[k];
    at::Tensor slot = bucket.flat.narrow(0, offset, p.numel());
    if (p.grad().defined()) {
      slot.copy_(p.grad().reshape({-1}));
    } else {
      slot.zero_();
    }
    offset += p.numel();
  }
  bucket.work = group_->AllReduceSumAsync(bucket.flat);
  bucket.launched = true;
}

void GradientSync::FinishBackward() {
  std::lock_guard<std::mutex> lock(mutex_);
  active_ = false;
  for (; nextLaunch_ < buckets_.size(); ++nextLaunch_) Launch(buckets_[nextLaunch_]);
  at::NoGradGuard noGrad;
  const double scale = 1.0 / group_->size();
  for (auto& bucket : buckets_) {
    group_->Wait(bucket.work, "gradient all-reduce");
    bucket.work.reset();
    bucket.flat.mul_(scale);
    int64_t offset = 0;
    for (size_t k : bucket.params) {
      auto& p = params_[k];
      if (p.grad().defined()) p.mutable_grad().copy_(bucket.flat.narrow(0, offset, p.numel()).view_as(p.grad()));
      offset += p.numel();
    }
  }
}

}  // namespace mdistill::dist
