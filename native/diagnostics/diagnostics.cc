#include "diagnostics/diagnostics.h"

#include <ATen/Parallel.h>
#include <torch/csrc/autograd/autograd.h>

#include <chrono>
#include <mutex>
#include <set>
#include <thread>

#include "core/error.h"
#include "model/batched_matmul.h"

namespace mdistill::diagnostics {

MatmulProbeResult MatmulProbe(const at::Tensor& a, const at::Tensor& b) {
  at::Tensor ga = a.clone().requires_grad_(true);
  at::Tensor gb = b.clone().requires_grad_(true);
  at::Tensor product = at::matmul(ga, gb);
  at::Tensor loss = product.pow(2).sum() * 0.5;
  auto grads = torch::autograd::grad({loss}, {ga, gb});
  return MatmulProbeResult{product.detach(), grads[0], grads[1], loss.item<double>()};
}

void CheckGemmBenchmarkArgs(int64_t size, double minSeconds) {
  if (size < 1 || size > 16384) throw Error(codes::kBadArgument, "gemmBenchmark: size must be in 1..16384");
  if (!(minSeconds >= 0 && minSeconds <= 600)) throw Error(codes::kBadArgument, "gemmBenchmark: minSeconds must be in 0..600");
}

GemmBenchmarkResult GemmBenchmark(int64_t size, double minSeconds) {
  CheckGemmBenchmarkArgs(size, minSeconds);
  at::Tensor a = at::randn({size, size});
  at::Tensor b = at::randn({size, size});
  at::Tensor c = at::empty({size, size});
  at::mm_out(c, a, b);  // warm-up: thread pool and BLAS buffers
  GemmBenchmarkResult r{size, 0, 0};
  const auto start = std::chrono::steady_clock::now();
  do {
    at::mm_out(c, a, b);
    ++r.iterations;
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  } while (r.seconds < minSeconds);
  return r;
}

BatchedMatmulCheckResult BatchedMatmulCheck(const at::Tensor& a, const at::Tensor& b, const at::Tensor& gradOut,
                                            BatchedMatmulImpl impl) {
  // b is used transposed, as attention uses k: the kernel must handle strided views.
  at::Tensor ga = a.clone().requires_grad_(true);
  at::Tensor gb = b.transpose(1, 2).contiguous().requires_grad_(true);
  at::Tensor bt = gb.transpose(1, 2);
  at::Tensor out = impl == BatchedMatmulImpl::kKernel ? model::BatchedMatmul(ga, bt) : at::matmul(ga, bt);
  auto grads = torch::autograd::grad({out}, {ga, gb}, {gradOut});
  return BatchedMatmulCheckResult{out.detach(), grads[0], grads[1].transpose(1, 2)};
}

int ParallelForThreads() {
  std::mutex mutex;
  std::set<std::thread::id> seen;
  at::parallel_for(0, 64 * at::get_num_threads(), 1, [&](int64_t, int64_t) {
    std::lock_guard<std::mutex> lock(mutex);
    seen.insert(std::this_thread::get_id());
  });
  return static_cast<int>(seen.size());
}

}  // namespace mdistill::diagnostics
