// What the CUDA caching allocator holds on a device: the bytes in live tensors now and at their peak, and what it
// reserved from the driver. For the GPU check's memory figures (scripts/gpu/check.sh) and benchmarks.
#pragma once
#include <ATen/ATen.h>

#include <cstdint>

namespace mdistill::diagnostics {

struct DeviceMemoryStats {
  int64_t allocatedBytes = 0;
  int64_t peakBytes = 0;  // since the process started, or since the last reset
  int64_t reservedBytes = 0;
};

// A CUDA device's figures (index -1: the current device); resetPeak then starts a new peak at the current figure.
// Throws Error(kBadArgument) for the CPU, and for CUDA in a build without it.
DeviceMemoryStats DeviceMemory(at::Device device, bool resetPeak);

}  // namespace mdistill::diagnostics
