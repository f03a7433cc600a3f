// Small computations that check the build and measure the machine, for `mdistill info --bench`, the tests and the
// benchmarks: an autograd round trip through libtorch, GEMM throughput probes (square, and the models' shapes per
// engine), the batched matmul against its reference, and how many threads a parallel loop in our own code really gets.
#pragma once
#include <ATen/ATen.h>

#include <cstdint>
#include <string>

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

// Which code multiplies in BatchedMatmulCheck: the GEMM layer (gemm/matmul.h) under the oneDNN or the ATen engine,
// or plain at::matmul as the reference.
enum class BatchedMatmulImpl { kOneDnn, kAten, kReference };

struct BatchedMatmulCheckResult {
  at::Tensor out, gradA, gradB;
};

// a [G, M, K] times b [G, K, N], forward and backward against gradOut [G, M, N], so tests can compare the
// implementations. Throws Error(kBadArgument) for kOneDnn in a build without oneDNN.
BatchedMatmulCheckResult BatchedMatmulCheck(const at::Tensor& a, const at::Tensor& b, const at::Tensor& gradOut,
                                            BatchedMatmulImpl impl);

// One matrix product shape of the models, timed on one engine: out [G, M, N] = a [G, M, K] · bᵀ where b is a
// contiguous [G, N, K] (a Linear's weight, or attention's k), as the models pass them.
struct GemmShape {
  int64_t batch = 1, m = 0, k = 0, n = 0;
};

// "onednn": the oneDNN matmul primitive; "openblas": at::mm per matrix (float32: OpenBLAS), as the ATen engine
// runs the models' products; "aten": at::mm / at::bmm, whatever ATen picks (bfloat16: its own oneDNN build).
enum class GemmBenchEngine { kOneDnn, kOpenBlas, kAten };

struct GemmShapeBenchmarkResult {
  int64_t iterations = 0;
  double seconds = 0;
  double gflops = 0;
  std::string implementation;  // oneDNN's kernel name ("brg:avx512_core"), or the ATen call
};

// Throws Error(kBadArgument) for sizes outside 1..65536, minSeconds outside 0..600, a dtype other than float32 or
// bfloat16, bfloat16 with openblas (it has no bfloat16 GEMM), oneDNN without oneDNN in the build, or a oneDNN
// product it would not run with an optimised kernel.
void CheckGemmShapeBenchmarkArgs(const GemmShape& shape, at::ScalarType dtype, GemmBenchEngine engine, double minSeconds);

// Products of this shape repeated for at least minSeconds (after one warm-up). oneDNN and openblas write float32
// results (bfloat16 operands accumulate into float32, as under --amp); aten writes the operands' dtype.
GemmShapeBenchmarkResult GemmShapeBenchmark(const GemmShape& shape, at::ScalarType dtype, GemmBenchEngine engine, double minSeconds);

// How many threads an at::parallel_for in our own code really uses. With libtorch's OpenMP backend the loop is
// compiled into our objects, so this is 1 when they were built without OpenMP.
int ParallelForThreads();

}  // namespace mdistill::diagnostics
