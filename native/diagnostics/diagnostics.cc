#include "diagnostics/diagnostics.h"

#include <ATen/Parallel.h>
#include <torch/csrc/autograd/autograd.h>

#include <chrono>
#include <functional>
#include <mutex>
#include <set>
#include <thread>

#include "core/error.h"
#include "gemm/aten_batched_matmul.h"
#include "gemm/gemm_engine.h"
#include "gemm/matmul.h"
#include "gemm/onednn_matmul.h"

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
  // b is used transposed, as attention uses k: the products must handle strided views.
  at::Tensor ga = a.clone().requires_grad_(true);
  at::Tensor gb = b.transpose(1, 2).contiguous().requires_grad_(true);
  at::Tensor bt = gb.transpose(1, 2);
  at::Tensor out;
  if (impl == BatchedMatmulImpl::kReference) {
    out = at::matmul(ga, bt);
  } else {
    gemm::ScopedEngine engine(impl == BatchedMatmulImpl::kOneDnn ? gemm::Engine::kOneDnn : gemm::Engine::kAten);
    out = gemm::Matmul(ga, bt);
  }
  auto grads = torch::autograd::grad({out}, {ga, gb}, {gradOut});
  return BatchedMatmulCheckResult{out.detach(), grads[0], grads[1].transpose(1, 2)};
}

namespace {
struct GemmOperands {
  at::Tensor a, b, out;  // b is the transposed view of a contiguous [G, N, K]
};

GemmOperands MakeOperands(const GemmShape& s, at::ScalarType dtype, at::ScalarType outType) {
  const auto options = at::TensorOptions().dtype(dtype);
  GemmOperands o;
  o.a = at::randn({s.batch, s.m, s.k}).to(dtype);
  o.b = at::randn({s.batch, s.n, s.k}).to(dtype).transpose(1, 2);
  o.out = at::empty({s.batch, s.m, s.n}, options.dtype(outType));
  if (s.batch == 1) {  // a plain 2-D product, as a Linear runs it
    o.a = o.a.select(0, 0);
    o.b = o.b.select(0, 0);
    o.out = o.out.select(0, 0);
  }
  return o;
}
}  // namespace

void CheckGemmShapeBenchmarkArgs(const GemmShape& s, at::ScalarType dtype, GemmBenchEngine engine, double minSeconds) {
  for (int64_t v : {s.batch, s.m, s.k, s.n}) {
    if (v < 1 || v > 65536) throw Error(codes::kBadArgument, "gemmShapeBenchmark: batch, m, k and n must be in 1..65536");
  }
  if (!(minSeconds >= 0 && minSeconds <= 600)) throw Error(codes::kBadArgument, "gemmShapeBenchmark: minSeconds must be in 0..600");
  if (dtype != at::kFloat && dtype != at::kBFloat16) throw Error(codes::kBadArgument, "gemmShapeBenchmark: dtype must be float32 or bfloat16");
  if (engine == GemmBenchEngine::kOpenBlas && dtype != at::kFloat) {
    throw Error(codes::kBadArgument, "gemmShapeBenchmark: openblas has no bfloat16 GEMM (ATen's bfloat16 products are engine 'aten')");
  }
  if (engine == GemmBenchEngine::kOneDnn && !gemm::onednn::Compiled()) {
    throw Error(codes::kBadArgument, "gemmShapeBenchmark: this addon was built without oneDNN");
  }
}

GemmShapeBenchmarkResult GemmShapeBenchmark(const GemmShape& s, at::ScalarType dtype, GemmBenchEngine engine, double minSeconds) {
  CheckGemmShapeBenchmarkArgs(s, dtype, engine, minSeconds);
  at::NoGradGuard noGrad;
  GemmShapeBenchmarkResult r;
  GemmOperands o = MakeOperands(s, dtype, engine == GemmBenchEngine::kAten ? dtype : at::kFloat);
  std::function<void()> product;
  if (engine == GemmBenchEngine::kOneDnn) {
    const gemm::onednn::MatmulCall call{o.out, o.a, o.b};
    r.implementation = gemm::onednn::ImplementationFor(call);
    if (r.implementation.empty()) throw Error(codes::kBadArgument, "gemmShapeBenchmark: oneDNN has no optimised kernel for this case");
    product = [call] { gemm::onednn::TryMatmul(call); };
  } else if (engine == GemmBenchEngine::kOpenBlas) {
    r.implementation = s.batch == 1 ? "at::mm" : "at::mm per matrix, batch split across threads";
    product = [&o, &s] {
      if (s.batch == 1) {
        at::mm_out(o.out, o.a, o.b);
      } else {
        o.out = gemm::AtenBatchedMatmul(o.a, o.b);
      }
    };
  } else {
    r.implementation = s.batch == 1 ? "at::mm" : "at::bmm";
    product = [&o, &s] {
      if (s.batch == 1) {
        at::mm_out(o.out, o.a, o.b);
      } else {
        at::bmm_out(o.out, o.a, o.b);
      }
    };
  }
  product();  // warm-up: primitive creation, thread pool, BLAS buffers
  const auto start = std::chrono::steady_clock::now();
  do {
    product();
    ++r.iterations;
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  } while (r.seconds < minSeconds);
  r.gflops = 2.0 * s.batch * s.m * s.k * s.n * r.iterations / r.seconds / 1e9;
  return r;
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
