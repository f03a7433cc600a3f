// Square float32 GEMMs for a minimum time: measures the BLAS that libtorch actually runs on.
#include <ATen/ATen.h>
#include <napi.h>

#include <chrono>

#include "napi/errors.h"
#include "napi/modules.h"
#include "napi/promise_worker.h"

namespace mdistill {

namespace {

struct GemmResult {
  int64_t size = 0;
  int64_t iterations = 0;
  double seconds = 0;
};

Napi::Value GemmBenchmark(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guarded(env, [&]() -> Napi::Value {
    if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber()) {
      throw Error(codes::kBadArgument, "gemmBenchmark(size, minSeconds) takes two numbers");
    }
    const int64_t size = info[0].As<Napi::Number>().Int64Value();
    const double minSeconds = info[1].As<Napi::Number>().DoubleValue();
    if (size < 1 || size > 16384) throw Error(codes::kBadArgument, "gemmBenchmark: size must be in 1..16384");
    if (!(minSeconds >= 0 && minSeconds <= 600)) throw Error(codes::kBadArgument, "gemmBenchmark: minSeconds must be in 0..600");
    return PromiseWorker<GemmResult>::Start(
        env,
        [size, minSeconds]() {
          at::Tensor a = at::randn({size, size});
          at::Tensor b = at::randn({size, size});
          at::Tensor c = at::empty({size, size});
          at::mm_out(c, a, b);  // warm-up: thread pool and BLAS buffers
          GemmResult r{size, 0, 0};
          const auto start = std::chrono::steady_clock::now();
          do {
            at::mm_out(c, a, b);
            ++r.iterations;
            r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
          } while (r.seconds < minSeconds);
          return r;
        },
        [](Napi::Env env, GemmResult& r) -> Napi::Value {
          auto out = Napi::Object::New(env);
          out.Set("size", Napi::Number::New(env, static_cast<double>(r.size)));
          out.Set("iterations", Napi::Number::New(env, static_cast<double>(r.iterations)));
          out.Set("seconds", Napi::Number::New(env, r.seconds));
          const double flops = 2.0 * r.size * r.size * r.size * r.iterations;
          out.Set("gflops", Napi::Number::New(env, flops / r.seconds / 1e9));
          return out;
        });
  });
}

}  // namespace

void RegisterGemmBenchmark(Napi::Env env, Napi::Object exports) {
  exports.Set("gemmBenchmark", Napi::Function::New(env, GemmBenchmark, "gemmBenchmark"));
}

}  // namespace mdistill
