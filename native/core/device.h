// Where the models and the step run: "cpu", "cuda" (the current CUDA device) or "cuda:N". A data-parallel process
// on a GPU machine runs on cuda:LOCAL_RANK, so every tensor it creates names its device index explicitly: the
// N-API workers that run the steps are pool threads whose current CUDA device is not the main thread's.
#pragma once
#include <ATen/ATen.h>

#include <cstdint>
#include <string>

namespace mdistill {

// Parses a device spec; throws Error(kBadArgument) naming `what` (e.g. "Model config 'device'") when it is not one
// of the forms above, when it asks for CUDA in a libtorch without it, or for an index this process cannot see.
at::Device ParseDevice(const std::string& spec, const std::string& what);

// Seeds the default generator of the CPU and, for another device, that device's default generator (drop-path masks
// are drawn from the default generator of the tensor's device), so a step's draws are a function of `seed` alone.
void SeedDefaultGenerators(at::Device device, uint64_t seed);

}  // namespace mdistill
