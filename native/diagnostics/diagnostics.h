// Small computations that check the build and measure the machine, for `mdistill info --bench`, the tests and the
// benchmarks: an autograd round trip through libtorch, a GEMM throughput probe, the attention matmul kernel against
// its reference, and how many threads a parallel loop in our own code really gets.
#pragma once
#include <ATen/ATen.h>

#include <cstdint>

namespace mdistill::diagnostics {

struct MatmulProbeResult {
  at::Tensor product, gradA, gradB;
  double loss = 0;
};

// loss = ½‖A·B‖², with its gradients with respect to A and B from autograd. The inner sizes are left for libtorch
// to check, so its own errors cross the boundary too.
MatmulProbeResult MatmulProbe(const at::Tensor& a, const at::Tensor& b);

struct GemmBenchmarkResult {
  int64_t size = 0;
  int64_t iterations = 0;
  double seconds = 0;
  double Gflops() const { return 2.0 * size * size * size * iterations / seconds / 1e9; }
};

// Throws Error(kBadArgument) unless size is in 1..16384 and minSeconds in 0..600.
void CheckGemmBenchmarkArgs(int64_t size, double minSeconds);

// Square float32 GEMMs repeated for at least minSeconds: the BLAS libtorch runs on. Checks its arguments first.
GemmBenchmarkResult GemmBenchmark(int64_t size, double minSeconds);

enum class BatchedMatmulImpl { kKernel, kReference };

struct BatchedMatmulCheckResult {
  at::Tensor out, gradA, gradB;
};

// a [G, M, K] times b [G, K, N], forward and backward against gradOut [G, M, N], through the attention matmul
// kernel (model/batched_matmul.h) or at::matmul, so tests can compare the two.
BatchedMatmulCheckResult BatchedMatmulCheck(const at::Tensor& a, const at::Tensor& b, const at::Tensor& gradOut,
                                            BatchedMatmulImpl impl);

// How many threads an at::parallel_for in our own code really uses. With libtorch's OpenMP backend the loop is
// compiled into our objects, so this is 1 when they were built without OpenMP.
int ParallelForThreads();

}  // namespace mdistill::diagnostics
