#include "dist/process_group.h"

// libtorch compiles the Gloo backend in; its header needs the macro that torch's own build sets.
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO 1
#endif
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#if defined(MDISTILL_WITH_CUDA) && __has_include(<nccl.h>)
#ifndef USE_C10D_NCCL
#define USE_C10D_NCCL 1
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#define MDISTILL_HAVE_NCCL 1
#endif

#include <cstdlib>
#include <sstream>

#include "core/error.h"

namespace mdistill::dist {

namespace {

bool IsLoopback(const std::string& addr) {
  return addr == "localhost" || addr.rfind("127.", 0) == 0 || addr == "::1";
}

// Gloo binds its pairs to one interface: GLOO_SOCKET_IFNAME when set (as in PyTorch), loopback for a
// single-machine rendezvous, else the address the host name resolves to.
std::shared_ptr<::gloo::transport::Device> GlooDevice(const std::string& masterAddr) {
  if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname && *ifname) {
    return c10d::ProcessGroupGloo::createDeviceForInterface(ifname);
  }
  if (IsLoopback(masterAddr)) return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
  return c10d::ProcessGroupGloo::createDefaultDevice();
}

std::string Message(const std::exception& e) {
  if (const auto* c = dynamic_cast<const c10::Error*>(&e)) return c->what_without_backtrace();
  return e.what();
}

}  // namespace

ProcessGroup::ProcessGroup(const GroupOptions& options) : options_(options) {
  if (options_.worldSize < 1 || options_.rank < 0 || options_.rank >= options_.worldSize) {
    throw Error(codes::kBadArgument, "process group: rank " + std::to_string(options_.rank) + " is outside 0.." +
                                         std::to_string(options_.worldSize - 1) + " (check RANK and WORLD_SIZE)");
  }
  if (options_.masterPort < 1 || options_.masterPort > 65535) {
    throw Error(codes::kBadArgument, "process group: MASTER_PORT " + std::to_string(options_.masterPort) + " is not a TCP port");
  }
  try {
    c10d::TCPStoreOptions so;
    so.port = static_cast<uint16_t>(options_.masterPort);
    so.isServer = options_.rank == 0;
    so.numWorkers = static_cast<size_t>(options_.worldSize);
    so.waitWorkers = true;
    so.timeout = options_.timeout;
    auto tcp = c10::make_intrusive<c10d::TCPStore>(options_.masterAddr, so);
    store_ = c10::make_intrusive<c10d::PrefixStore>("mdistill", tcp);
  } catch (const std::exception& e) {
    std::ostringstream msg;
    msg << "rank " << options_.rank << ": rendezvous at " << options_.masterAddr << ":" << options_.masterPort
        << " with " << options_.worldSize << " processes failed within " << options_.timeout.count() / 1000.0
        << " s (" << Message(e) << "). Check MASTER_ADDR/MASTER_PORT, that every rank started, or raise --dist-timeout.";
    throw Error(codes::kDistributed, msg.str());
  }
  try {
    if (options_.device.is_cuda()) {
#ifdef MDISTILL_HAVE_NCCL
      auto o = c10d::ProcessGroupNCCL::Options::create();
      o->timeout = options_.timeout;
      group_ = c10::make_intrusive<c10d::ProcessGroupNCCL>(store_, options_.rank, options_.worldSize, o);
#else
      throw Error(codes::kBadArgument, "--device cuda with several processes needs NCCL: build against a CUDA libtorch with NCCL (MDISTILL_LIBTORCH)");
#endif
    } else {
      auto o = c10d::ProcessGroupGloo::Options::create(options_.timeout);
      o->devices.push_back(GlooDevice(options_.masterAddr));
      group_ = c10::make_intrusive<c10d::ProcessGroupGloo>(store_, options_.rank, options_.worldSize, o);
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    Fail("connecting the process group", Message(e) + " (did all " + std::to_string(options_.worldSize) + " ranks start?)");
  }
}

ProcessGroup::~ProcessGroup() = default;

std::string ProcessGroup::backend() const { return group_ ? group_->getBackendName() : "none"; }

void ProcessGroup::Fail(const char* what, const std::string& detail) const {
  std::ostringstream msg;
  msg << "rank " << options_.rank << " of " << options_.worldSize << ": " << what
      << " failed: a peer crashed, lost its connection or did not answer within " << options_.timeout.count() / 1000.0
      << " s (--dist-timeout). " << detail;
  throw Error(codes::kDistributed, msg.str());
}

void ProcessGroup::Wait(const c10::intrusive_ptr<c10d::Work>& work, const char* what) {
  try {
    if (!work->wait(options_.timeout)) Fail(what, "the collective was aborted");
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    Fail(what, Message(e));
  }
}

void ProcessGroup::Broadcast(std::vector<at::Tensor>& tensors) {
  for (auto& t : tensors) {
    std::vector<at::Tensor> one{t};
    c10::intrusive_ptr<c10d::Work> work;
    try {
      work = group_->broadcast(one, c10d::BroadcastOptions{});
    } catch (const std::exception& e) {
      Fail("broadcast", Message(e));
    }
    Wait(work, "broadcast");
  }
}

c10::intrusive_ptr<c10d::Work> ProcessGroup::AllReduceSumAsync(at::Tensor& tensor) {
  std::vector<at::Tensor> one{tensor};
  try {
    return group_->allreduce(one, c10d::AllreduceOptions{});
  } catch (const std::exception& e) {
    Fail("all-reduce", Message(e));
  }
}

// NCCL reduces device memory only: host tensors (metrics, eval counts) take a round trip through this process's GPU.
bool ProcessGroup::NeedsDeviceCopy(const at::Tensor& tensor) const {
  return options_.device.is_cuda() && tensor.device() != options_.device;
}

void ProcessGroup::AllReduceSum(at::Tensor& tensor) {
  if (NeedsDeviceCopy(tensor)) {
    at::Tensor onDevice = tensor.to(options_.device);
    Wait(AllReduceSumAsync(onDevice), "all-reduce");
    tensor.copy_(onDevice.cpu());
    return;
  }
  Wait(AllReduceSumAsync(tensor), "all-reduce");
}

at::Tensor ProcessGroup::AllGather(const at::Tensor& tensor) {
  at::Tensor input = NeedsDeviceCopy(tensor) ? tensor.to(options_.device).contiguous() : tensor.contiguous();
  std::vector<std::vector<at::Tensor>> outputs(1);
  for (int i = 0; i < options_.worldSize; ++i) outputs[0].push_back(at::empty_like(input));
  std::vector<at::Tensor> inputs{input};
  c10::intrusive_ptr<c10d::Work> work;
  try {
    work = group_->allgather(outputs, inputs, c10d::AllgatherOptions{});
  } catch (const std::exception& e) {
    Fail("all-gather", Message(e));
  }
  Wait(work, "all-gather");
  return at::cat(outputs[0], 0);
}

void ProcessGroup::Barrier() {
  c10::intrusive_ptr<c10d::Work> work;
  try {
    c10d::BarrierOptions barrier;
    // NCCL's barrier is an all-reduce on a device it otherwise guesses from the rank.
    if (options_.device.is_cuda() && options_.device.has_index()) barrier.device_ids = {options_.device.index()};
    work = group_->barrier(barrier);
  } catch (const std::exception& e) {
    Fail("barrier", Message(e));
  }
  Wait(work, "barrier");
}

}  // namespace mdistill::dist
