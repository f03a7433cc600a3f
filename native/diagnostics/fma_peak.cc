#include "diagnostics/fma_peak.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "core/error.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace mdistill::diagnostics {

namespace {

// Twelve independent chains: enough to keep two FMA pipes busy through a 4-cycle latency (8 needed) on the x86
// cores we know, so the loop measures throughput, not latency.
constexpr int kChains = 12;

struct Kernel {
  const char* name = nullptr;
  double flopsPerIteration = 0;
  float (*run)(int64_t iterations) = nullptr;
};

#if defined(__x86_64__)

// By a store, not _mm512_reduce_add_ps: GCC 12's version warns of an uninitialised vector in its own header.
__attribute__((target("avx512f"))) float SumLanes(const __m512* acc) {
  alignas(64) float lanes[16];
  float sum = 0;
  for (int i = 0; i < kChains; ++i) {
    _mm512_store_ps(lanes, acc[i]);
    for (float v : lanes) sum += v;
  }
  return sum;
}

__attribute__((target("avx2"))) float SumLanes(const __m256* acc) {
  alignas(32) float lanes[8];
  float sum = 0;
  for (int i = 0; i < kChains; ++i) {
    _mm256_store_ps(lanes, acc[i]);
    for (float v : lanes) sum += v;
  }
  return sum;
}

__attribute__((target("avx512f"))) float RunAvx512Fma(int64_t iterations) {
  __m512 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm512_set1_ps(1.0f + 1e-3f * static_cast<float>(i));
  // acc·b + c converges (b < 1): no overflow, no denormals, however long it runs.
  const __m512 b = _mm512_set1_ps(0.9999999f), c = _mm512_set1_ps(1e-7f);
  for (int64_t n = 0; n < iterations; ++n) {
    for (int i = 0; i < kChains; ++i) acc[i] = _mm512_fmadd_ps(acc[i], b, c);
  }
  return SumLanes(acc);
}

__attribute__((target("avx2,fma"))) float RunAvx2Fma(int64_t iterations) {
  __m256 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm256_set1_ps(1.0f + 1e-3f * static_cast<float>(i));
  const __m256 b = _mm256_set1_ps(0.9999999f), c = _mm256_set1_ps(1e-7f);
  for (int64_t n = 0; n < iterations; ++n) {
    for (int i = 0; i < kChains; ++i) acc[i] = _mm256_fmadd_ps(acc[i], b, c);
  }
  return SumLanes(acc);
}

__attribute__((target("avx512f,avx512bf16"))) float RunAvx512Bf16Dot(int64_t iterations) {
  __m512 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm512_set1_ps(1e-3f * static_cast<float>(i));
  // bf16 1.0 and 2^-31: each step adds 2·2^-31 per lane, far from overflow.
  const __m512bh b = (__m512bh)_mm512_set1_epi16(0x3F80), c = (__m512bh)_mm512_set1_epi16(0x3000);
  for (int64_t n = 0; n < iterations; ++n) {
    for (int i = 0; i < kChains; ++i) acc[i] = _mm512_dpbf16_ps(acc[i], b, c);
  }
  return SumLanes(acc);
}

// The kernel for a dtype on this CPU, or one without `run` when the CPU lacks the instructions.
Kernel KernelFor(at::ScalarType dtype) {
  __builtin_cpu_init();
  if (dtype == at::kBFloat16) {
    if (__builtin_cpu_supports("avx512bf16")) return {"avx512_bf16 dot", kChains * 16.0 * 2 * 2, RunAvx512Bf16Dot};
    return {};
  }
  if (__builtin_cpu_supports("avx512f")) return {"avx512f fma", kChains * 16.0 * 2, RunAvx512Fma};
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return {"avx2 fma", kChains * 8.0 * 2, RunAvx2Fma};
  return {};
}

#else

Kernel KernelFor(at::ScalarType) { return {}; }

#endif

std::atomic<float> sink{0};  // the chains' results land here, so the compiler cannot drop the loops

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

}  // namespace

void CheckFmaPeakArgs(at::ScalarType dtype, double minSeconds) {
  if (dtype != at::kFloat && dtype != at::kBFloat16) throw Error(codes::kBadArgument, "fmaPeak: dtype must be float32 or bfloat16");
  if (!(minSeconds >= 0.01 && minSeconds <= 600)) throw Error(codes::kBadArgument, "fmaPeak: minSeconds must be in 0.01..600");
  if (!KernelFor(dtype).run) {
    throw Error(codes::kBadArgument, dtype == at::kFloat ? "fmaPeak: float32 needs a CPU with AVX2 and FMA"
                                                         : "fmaPeak: bfloat16 needs a CPU with AVX512_BF16");
  }
}

FmaPeakResult FmaPeak(at::ScalarType dtype, double minSeconds) {
  CheckFmaPeakArgs(dtype, minSeconds);
  const Kernel kernel = KernelFor(dtype);
  // Calibrate on one thread: double the iterations until a run takes 20 ms, then size the timed run from it.
  int64_t iterations = 1 << 16;
  for (;;) {
    const auto start = std::chrono::steady_clock::now();
    sink.store(kernel.run(iterations), std::memory_order_relaxed);
    const double s = Seconds(start);
    if (s >= 0.02) {
      iterations = std::max<int64_t>(iterations, static_cast<int64_t>(static_cast<double>(iterations) * minSeconds / s));
      break;
    }
    iterations *= 2;
  }
  FmaPeakResult r;
  r.threads = at::get_num_threads();
  r.kernel = kernel.name;
  std::vector<std::thread> workers;
  const auto start = std::chrono::steady_clock::now();
  for (int t = 0; t < r.threads; ++t) {
    workers.emplace_back([&kernel, iterations] { sink.store(kernel.run(iterations), std::memory_order_relaxed); });
  }
  for (std::thread& w : workers) w.join();
  r.seconds = Seconds(start);
  r.gflops = kernel.flopsPerIteration * static_cast<double>(iterations) * r.threads / r.seconds / 1e9;
  return r;
}

}  // namespace mdistill::diagnostics
