#include "core/device.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>

#include <mutex>

#include "core/error.h"

namespace mdistill {

namespace {

int VisibleCudaDevices() { return static_cast<int>(at::getNumGPUs()); }

void Seed(at::Generator gen, uint64_t seed) {
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_current_seed(seed);
}

}  // namespace

at::Device ParseDevice(const std::string& spec, const std::string& what) {
  if (spec == "cpu") return at::Device(at::kCPU);
  const std::string cuda = "cuda";
  if (spec.compare(0, cuda.size(), cuda) != 0) {
    throw Error(codes::kBadArgument, what + " '" + spec + "' is not a device: use cpu, cuda or cuda:N");
  }
  int index = -1;
  if (spec.size() > cuda.size()) {
    const std::string digits = spec.substr(cuda.size() + 1);
    const bool wellFormed = spec[cuda.size()] == ':' && !digits.empty() && digits.size() <= 4 &&
                            digits.find_first_not_of("0123456789") == std::string::npos;
    if (!wellFormed) throw Error(codes::kBadArgument, what + " '" + spec + "' is not a device: use cpu, cuda or cuda:N");
    index = std::stoi(digits);
  }
  if (!at::hasCUDA()) {
    throw Error(codes::kBadArgument, what + " '" + spec + "': this libtorch has no CUDA (see `mdistill info`). Build against a CUDA " +
                                         "libtorch (MDISTILL_LIBTORCH=/path/to/libtorch npm run build:native) or use --device cpu");
  }
  const int visible = VisibleCudaDevices();
  if (index >= visible) {
    throw Error(codes::kBadArgument, what + " '" + spec + "': this process sees " + std::to_string(visible) +
                                         " CUDA device(s) (check CUDA_VISIBLE_DEVICES, and one GPU per local rank)");
  }
  return index < 0 ? at::Device(at::kCUDA) : at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(index));
}

void SeedDefaultGenerators(at::Device device, uint64_t seed) {
  Seed(at::detail::getDefaultCPUGenerator(), seed);
  if (!device.is_cpu()) Seed(at::globalContext().defaultGenerator(device), seed);
}

}  // namespace mdistill
