// The CPU's own multiply-add ceiling, with nothing waiting on memory: every thread libtorch uses runs independent
// chains of vector multiply-adds. GEMM benchmarks divide by it to say how far a kernel is from the hardware, which
// no GEMM figure can say (on AMD Zen 4 a 512-bit float32 FMA occupies both 256-bit pipes, so AVX-512 does not
// double float32 throughput over AVX2; bfloat16 dot products do).
#pragma once
#include <ATen/ATen.h>

#include <string>

namespace mdistill::diagnostics {

struct FmaPeakResult {
  double gflops = 0;     // multiply-add = 2 FLOPs
  double seconds = 0;    // wall time of the timed run, all threads together
  int threads = 0;       // at::get_num_threads() at the call
  std::string kernel;    // "avx512f fma", "avx2 fma" or "avx512_bf16 dot"
};

// Throws Error(kBadArgument) for a dtype other than float32 or bfloat16, minSeconds outside 0.01..600, or a CPU
// without the instructions: float32 needs AVX2+FMA, bfloat16 AVX512_BF16.
void CheckFmaPeakArgs(at::ScalarType dtype, double minSeconds);

// float32: vfmadd on the widest vectors the CPU has; bfloat16: vdpbf16ps (pairs of bf16 products into float32, as
// oneDNN's bf16 GEMM kernels accumulate). Runs for at least minSeconds after a calibration.
FmaPeakResult FmaPeak(at::ScalarType dtype, double minSeconds);

}  // namespace mdistill::diagnostics
