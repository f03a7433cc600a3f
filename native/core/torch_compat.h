// The one place where libtorch's versions differ for us: Debian 12's 1.13 (CPU) and PyTorch 2.x (what GPU
// machines have). Everything else in native/ is written against these names and has no version #if of its own.
// scripts/check-libtorch.sh compiles every translation unit against both.
#pragma once
#include <ATen/autocast_mode.h>
#include <c10/core/DeviceType.h>
#include <c10/core/ScalarType.h>
#include <torch/csrc/api/include/torch/version.h>

#define MDISTILL_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) || (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

namespace c10d {
class ProcessGroup;
class Backend;
}  // namespace c10d

namespace mdistill::compat {

// The class a Gloo or NCCL group derives from, whose collectives we call: from 2.0 ProcessGroupGloo/NCCL are
// c10d::Backend implementations (c10d::ProcessGroup became a dispatcher over backends); in 1.13 they are
// c10d::ProcessGroup subclasses.
#if MDISTILL_TORCH_AT_LEAST(2, 0)
using CollectiveBackend = c10d::Backend;
#else
using CollectiveBackend = c10d::ProcessGroup;
#endif

// Autocast state per device type: 2.4 keys it by at::DeviceType; 1.13 has one function set for CPU and one for
// CUDA. Only kCPU and kCUDA are used here.
inline bool AutocastEnabled(at::DeviceType device) {
#if MDISTILL_TORCH_AT_LEAST(2, 4)
  return at::autocast::is_autocast_enabled(device);
#else
  return device == at::kCUDA ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
#endif
}

inline void SetAutocastEnabled(at::DeviceType device, bool enabled) {
#if MDISTILL_TORCH_AT_LEAST(2, 4)
  at::autocast::set_autocast_enabled(device, enabled);
#else
  if (device == at::kCUDA) {
    at::autocast::set_enabled(enabled);
  } else {
    at::autocast::set_cpu_enabled(enabled);
  }
#endif
}

inline at::ScalarType AutocastDtype(at::DeviceType device) {
#if MDISTILL_TORCH_AT_LEAST(2, 4)
  return at::autocast::get_autocast_dtype(device);
#else
  return device == at::kCUDA ? at::autocast::get_autocast_gpu_dtype() : at::autocast::get_autocast_cpu_dtype();
#endif
}

inline void SetAutocastDtype(at::DeviceType device, at::ScalarType dtype) {
#if MDISTILL_TORCH_AT_LEAST(2, 4)
  at::autocast::set_autocast_dtype(device, dtype);
#else
  if (device == at::kCUDA) {
    at::autocast::set_autocast_gpu_dtype(dtype);
  } else {
    at::autocast::set_autocast_cpu_dtype(dtype);
  }
#endif
}

}  // namespace mdistill::compat
