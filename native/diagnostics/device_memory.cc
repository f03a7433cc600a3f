#include "diagnostics/device_memory.h"

#ifdef MDISTILL_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#endif

#include "core/error.h"

namespace mdistill::diagnostics {

DeviceMemoryStats DeviceMemory(at::Device device, bool resetPeak) {
  if (!device.is_cuda()) {
    throw Error(codes::kBadArgument, "device memory: '" + device.str() + "' is not a CUDA device (CPU memory is the process's RSS)");
  }
#ifdef MDISTILL_WITH_CUDA
  const c10::DeviceIndex index = device.has_index() ? device.index() : c10::cuda::current_device();
  const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(index);
  // Entry 0 of every stat array is StatType::AGGREGATE (all pools), in every libtorch version.
  DeviceMemoryStats out;
  out.allocatedBytes = stats.allocated_bytes[0].current;
  out.peakBytes = stats.allocated_bytes[0].peak;
  out.reservedBytes = stats.reserved_bytes[0].current;
  if (resetPeak) c10::cuda::CUDACachingAllocator::resetPeakStats(index);
  return out;
#else
  throw Error(codes::kBadArgument, "device memory: this addon was built without CUDA");
#endif
}

}  // namespace mdistill::diagnostics
