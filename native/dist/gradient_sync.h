// Data-parallel gradient averaging: parameters packed into flat buckets (~25 MB, last layers first, like DDP), each
// bucket's all-reduce started from the autograd engine as soon as all of its gradients have accumulated, so
// communication overlaps the rest of the backward pass. Buckets launch strictly in index order on every rank.
#pragma once
#include <ATen/ATen.h>

#include <memory>
#include <mutex>
#include <vector>

#include "dist/process_group.h"

namespace torch::autograd {
struct Node;
}

namespace mdistill::dist {

class GradientSync {
 public:
  GradientSync(std::shared_ptr<ProcessGroup> group, std::vector<at::Tensor> params, size_t bucketBytes = 25u << 20);

  // Call before backward(): forgets the previous step's readiness.
  void BeginBackward();
  // Call after backward(): starts the buckets not yet started (parameters without a gradient count as zero),
  // waits for all, and replaces every defined gradient by the mean over the ranks.
  void FinishBackward();

  size_t bucketCount() const { return buckets_.size(); }
  const std::shared_ptr<ProcessGroup>& group() const { return group_; }

 private:
  struct Bucket {
    std::vector<size_t> params;
    int64_t numel = 0;
    size_t pending = 0;
    bool launched = false;
    at::Tensor flat;
    c10::intrusive_ptr<c10d::Work> work;
  };
  void MarkReady(size_t param);
  void LaunchReadyInOrder();
  void Launch(Bucket& bucket);

  std::shared_ptr<ProcessGroup> group_;
  std::vector<at::Tensor> params_;
  std::vector<size_t> bucketOf_;
  std::vector<bool> ready_;
  std::vector<Bucket> buckets_;
  size_t nextLaunch_ = 0;
  bool active_ = false;
  std::mutex mutex_;
  // The grad accumulators carry our hooks; holding them keeps the same node alive across steps.
  std::vector<std::shared_ptr<torch::autograd::Node>> accumulators_;
  // The hooks outlive this object (they stay on the accumulators); they check this token first.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace mdistill::dist
