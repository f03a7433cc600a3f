// A c10d process group (TCPStore rendezvous + Gloo on CPU, NCCL on CUDA when libtorch has it) with the few
// collectives training needs, each bounded by the group's timeout and failing with an error that names the rank.
#pragma once
#include <ATen/ATen.h>
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#include <torch/csrc/distributed/c10d/Store.hpp>
#include <torch/csrc/distributed/c10d/Work.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/torch_compat.h"

namespace mdistill::dist {

struct GroupOptions {
  int rank = 0;
  int worldSize = 1;
  std::string masterAddr = "127.0.0.1";
  int masterPort = 29500;
  std::chrono::milliseconds timeout{60000};
  // A CUDA device: NCCL on it (needs a CUDA libtorch built with NCCL; one device per process, cuda:LOCAL_RANK);
  // the CPU: Gloo.
  at::Device device{at::kCPU};
};

class ProcessGroup {
 public:
  // Blocks until all `worldSize` ranks joined (rank 0 hosts the TCPStore at masterAddr:masterPort) or the timeout.
  explicit ProcessGroup(const GroupOptions& options);
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  int rank() const { return options_.rank; }
  int size() const { return options_.worldSize; }
  const GroupOptions& options() const { return options_; }
  std::string backend() const;

  // In place, from rank 0.
  void Broadcast(std::vector<at::Tensor>& tensors);
  // In place sum (blocking).
  void AllReduceSum(at::Tensor& tensor);
  // Starts an in-place sum; pass the handle to Wait.
  c10::intrusive_ptr<c10d::Work> AllReduceSumAsync(at::Tensor& tensor);
  void Wait(const c10::intrusive_ptr<c10d::Work>& work, const char* what);
  // Concatenation along dim 0 of every rank's tensor (same shape on every rank), in rank order.
  at::Tensor AllGather(const at::Tensor& tensor);
  void Barrier();

 private:
  [[noreturn]] void Fail(const char* what, const std::string& detail) const;
  bool NeedsDeviceCopy(const at::Tensor& tensor) const;

  GroupOptions options_;
  c10::intrusive_ptr<c10d::Store> store_;
  c10::intrusive_ptr<compat::CollectiveBackend> group_;
};

}  // namespace mdistill::dist
