// The diagnostic entry points (native/diagnostics/diagnostics.h) for `mdistill info --bench`, the tests and the
// benchmarks: matmulProbe(a, aShape, b, bShape), gemmBenchmark(size, minSeconds),
// gemmShapeBenchmark({batch, m, k, n, dtype, engine, minSeconds}), fmaPeak({dtype, minSeconds}) and
// batchedMatmulCheck(a, aShape, b, bShape, gradOut, impl). Each returns a promise.
#include <napi.h>

#include "core/device.h"
#include "diagnostics/device_memory.h"
#include "diagnostics/diagnostics.h"
#include "diagnostics/fma_peak.h"
#include "napi/errors.h"
#include "napi/modules.h"
#include "napi/options_reader.h"
#include "napi/promise_worker.h"
#include "napi/tensor_bridge.h"

namespace mdistill {

namespace {

using diagnostics::BatchedMatmulCheckResult;
using diagnostics::BatchedMatmulImpl;
using diagnostics::FmaPeakResult;
using diagnostics::GemmBenchmarkResult;
using diagnostics::GemmBenchEngine;
using diagnostics::GemmShapeBenchmarkResult;
using diagnostics::MatmulProbeResult;

std::string Dims(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

Napi::Value MatmulProbe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guarded(env, [&]() -> Napi::Value {
    if (info.Length() < 4) throw Error(codes::kBadArgument, "matmulProbe(a, aShape, b, bShape) takes 4 arguments");
    auto aShape = ShapeFromJs(info[1], "aShape");
    auto bShape = ShapeFromJs(info[3], "bShape");
    if (aShape.size() != 2 || bShape.size() != 2) {
      throw Error(codes::kShapeMismatch, "matmulProbe: a and b must be matrices, got " + Dims(aShape) + " and " + Dims(bShape));
    }
    at::Tensor a = ViewFloat64(info[0], aShape, "a");
    at::Tensor b = ViewFloat64(info[2], bShape, "b");
    return PromiseWorker<MatmulProbeResult>::Start(
        env, [a, b]() { return diagnostics::MatmulProbe(a, b); },
        [](Napi::Env env, MatmulProbeResult& r) -> Napi::Value {
          auto out = Napi::Object::New(env);
          out.Set("product", ToFloat64Array(env, r.product));
          out.Set("gradA", ToFloat64Array(env, r.gradA));
          out.Set("gradB", ToFloat64Array(env, r.gradB));
          out.Set("loss", Napi::Number::New(env, r.loss));
          return out;
        },
        {info[0], info[2]});
  });
}

Napi::Value GemmBenchmark(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guarded(env, [&]() -> Napi::Value {
    if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber()) {
      throw Error(codes::kBadArgument, "gemmBenchmark(size, minSeconds) takes two numbers");
    }
    const int64_t size = info[0].As<Napi::Number>().Int64Value();
    const double minSeconds = info[1].As<Napi::Number>().DoubleValue();
    diagnostics::CheckGemmBenchmarkArgs(size, minSeconds);  // here too, so a bad call throws rather than rejects
    return PromiseWorker<GemmBenchmarkResult>::Start(
        env, [size, minSeconds]() { return diagnostics::GemmBenchmark(size, minSeconds); },
        [](Napi::Env env, GemmBenchmarkResult& r) -> Napi::Value {
          auto out = Napi::Object::New(env);
          out.Set("size", Napi::Number::New(env, static_cast<double>(r.size)));
          out.Set("iterations", Napi::Number::New(env, static_cast<double>(r.iterations)));
          out.Set("seconds", Napi::Number::New(env, r.seconds));
          out.Set("gflops", Napi::Number::New(env, r.Gflops()));
          return out;
        });
  });
}

Napi::Value GemmShapeBenchmark(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guarded(env, [&]() -> Napi::Value {
    if (info.Length() < 1) throw Error(codes::kBadArgument, "gemmShapeBenchmark({batch, m, k, n, dtype, engine, minSeconds}) takes one object");
    OptionsReader o(info[0], "gemmShapeBenchmark options");
    diagnostics::GemmShape shape;
    shape.batch = o.Integer("batch");
    shape.m = o.Integer("m");
    shape.k = o.Integer("k");
    shape.n = o.Integer("n");
    const at::ScalarType dtype = o.String("dtype", {"float32", "bfloat16"}) == "float32" ? at::kFloat : at::kBFloat16;
    const std::string engineName = o.String("engine", {"onednn", "openblas", "aten"});
    const GemmBenchEngine engine = engineName == "onednn" ? GemmBenchEngine::kOneDnn
                                   : engineName == "openblas" ? GemmBenchEngine::kOpenBlas
                                                              : GemmBenchEngine::kAten;
    const double minSeconds = o.Number("minSeconds");
    diagnostics::CheckGemmShapeBenchmarkArgs(shape, dtype, engine, minSeconds);  // here too, so a bad call throws rather than rejects
    return PromiseWorker<GemmShapeBenchmarkResult>::Start(
        env, [shape, dtype, engine, minSeconds]() { return diagnostics::GemmShapeBenchmark(shape, dtype, engine, minSeconds); },
        [](Napi::Env env, GemmShapeBenchmarkResult& r) -> Napi::Value {
          auto out = Napi::Object::New(env);
          out.Set("iterations", Napi::Number::New(env, static_cast<double>(r.iterations)));
          out.Set("seconds", Napi::Number::New(env, r.seconds));
          out.Set("gflops", Napi::Number::New(env, r.gflops));
          out.Set("implementation", r.implementation);
          return out;
        });
  });
}

Napi::Value FmaPeak(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guarded(env, [&]() -> Napi::Value {
    if (info.Length() < 1) throw Error(codes::kBadArgument, "fmaPeak({dtype, minSeconds}) takes one object");
    OptionsReader o(info[0], "fmaPeak options");
    const at::ScalarType dtype = o.String("dtype", {"float32", "bfloat16"}) == "float32" ? at::kFloat : at::kBFloat16;
    const double minSeconds = o.Number("minSeconds");
    diagnostics::CheckFmaPeakArgs(dtype, minSeconds);  // here too, so a bad call throws rather than rejects
    return PromiseWorker<FmaPeakResult>::Start(
        env, [dtype, minSeconds]() { return diagnostics::FmaPeak(dtype, minSeconds); },
        [](Napi::Env env, FmaPeakResult& r) -> Napi::Value {
          auto out = Napi::Object::New(env);
          out.Set("gflops", Napi::Number::New(env, r.gflops));
          out.Set("seconds", Napi::Number::New(env, r.seconds));
          out.Set("threads", Napi::Number::New(env, r.threads));
          out.Set("kernel", r.kernel);
          return out;
        });
  });
}

Napi::Value BatchedMatmulCheck(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guarded(env, [&]() -> Napi::Value {
    if (info.Length() < 6 || !info[5].IsString()) {
      throw Error(codes::kBadArgument, "batchedMatmulCheck(a, aShape, b, bShape, gradOut, impl: 'onednn'|'aten'|'reference') takes 6 arguments");
    }
    const auto aShape = ShapeFromJs(info[1], "aShape");
    const auto bShape = ShapeFromJs(info[3], "bShape");
    if (aShape.size() != 3 || bShape.size() != 3 || aShape[0] != bShape[0] || aShape[2] != bShape[1]) {
      throw Error(codes::kShapeMismatch, "batchedMatmulCheck: a [G, M, K] and b [G, K, N] do not fit");
    }
    const std::string implName = info[5].As<Napi::String>().Utf8Value();
    if (implName != "onednn" && implName != "aten" && implName != "reference") {
      throw Error(codes::kBadArgument, "batchedMatmulCheck: impl must be 'onednn', 'aten' or 'reference', got '" + implName + "'");
    }
    const BatchedMatmulImpl impl = implName == "onednn" ? BatchedMatmulImpl::kOneDnn
                                   : implName == "aten" ? BatchedMatmulImpl::kAten
                                                        : BatchedMatmulImpl::kReference;
    at::Tensor a = ViewFloat32(info[0], aShape, "a");
    at::Tensor b = ViewFloat32(info[2], bShape, "b");
    at::Tensor gradOut = ViewFloat32(info[4], {aShape[0], aShape[1], bShape[2]}, "gradOut");
    return PromiseWorker<BatchedMatmulCheckResult>::Start(
        env, [a, b, gradOut, impl]() { return diagnostics::BatchedMatmulCheck(a, b, gradOut, impl); },
        [](Napi::Env env, BatchedMatmulCheckResult& r) -> Napi::Value {
          auto obj = Napi::Object::New(env);
          obj.Set("out", ToFloat32Array(env, r.out));
          obj.Set("gradA", ToFloat32Array(env, r.gradA));
          obj.Set("gradB", ToFloat32Array(env, r.gradB));
          return obj;
        },
        {info[0], info[2], info[4]});
  });
}

// deviceMemory(device, resetPeak): the CUDA caching allocator's figures, synchronously (a few counters).
Napi::Value DeviceMemory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guarded(env, [&]() -> Napi::Value {
    if (info.Length() < 2 || !info[0].IsString() || !info[1].IsBoolean()) {
      throw Error(codes::kBadArgument, "deviceMemory(device: string, resetPeak: boolean)");
    }
    const at::Device device = ParseDevice(info[0].As<Napi::String>().Utf8Value(), "deviceMemory device");
    const diagnostics::DeviceMemoryStats s = diagnostics::DeviceMemory(device, info[1].As<Napi::Boolean>().Value());
    auto out = Napi::Object::New(env);
    out.Set("allocatedBytes", Napi::Number::New(env, static_cast<double>(s.allocatedBytes)));
    out.Set("peakBytes", Napi::Number::New(env, static_cast<double>(s.peakBytes)));
    out.Set("reservedBytes", Napi::Number::New(env, static_cast<double>(s.reservedBytes)));
    return out;
  });
}

}  // namespace

void RegisterDiagnostics(Napi::Env env, Napi::Object exports) {
  exports.Set("deviceMemory", Napi::Function::New(env, DeviceMemory, "deviceMemory"));
  exports.Set("matmulProbe", Napi::Function::New(env, MatmulProbe, "matmulProbe"));
  exports.Set("gemmBenchmark", Napi::Function::New(env, GemmBenchmark, "gemmBenchmark"));
  exports.Set("gemmShapeBenchmark", Napi::Function::New(env, GemmShapeBenchmark, "gemmShapeBenchmark"));
  exports.Set("fmaPeak", Napi::Function::New(env, FmaPeak, "fmaPeak"));
  exports.Set("batchedMatmulCheck", Napi::Function::New(env, BatchedMatmulCheck, "batchedMatmulCheck"));
}

}  // namespace mdistill
