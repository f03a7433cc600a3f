// What the addon was built against and what it runs with: versions, CUDA, threads, the GEMM engine.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/csrc/api/include/torch/version.h>
#include <napi.h>

#ifdef MDISTILL_WITH_CUDA
// The CUDA runtime alone (ATen/cuda/CUDAContext.h would also need the cuBLAS/cuSOLVER headers).
#include <cuda_runtime_api.h>
#endif

#include "core/malloc_tuning.h"
#include "diagnostics/diagnostics.h"
#include "gemm/gemm_engine.h"
#include "napi/errors.h"
#include "napi/modules.h"

#ifndef MDISTILL_BUILD_SYSTEM
#define MDISTILL_BUILD_SYSTEM "node-gyp"
#endif
#ifndef MDISTILL_TORCH_SOURCE
#define MDISTILL_TORCH_SOURCE "system"
#endif

namespace mdistill {

namespace {

Napi::Value RuntimeInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guarded(env, [&]() -> Napi::Value {
    auto out = Napi::Object::New(env);
    out.Set("libtorchVersion", TORCH_VERSION);
    out.Set("buildSystem", MDISTILL_BUILD_SYSTEM);
    out.Set("torchSource", MDISTILL_TORCH_SOURCE);
    out.Set("cxx11Abi", Napi::Boolean::New(env, _GLIBCXX_USE_CXX11_ABI != 0));
#ifdef MDISTILL_WITH_CUDA
    const bool cudaCompiled = true;
#else
    const bool cudaCompiled = false;
#endif
    out.Set("cudaCompiled", Napi::Boolean::New(env, cudaCompiled));
    const bool torchHasCuda = at::hasCUDA();
    out.Set("torchHasCuda", Napi::Boolean::New(env, torchHasCuda));
    auto devices = Napi::Array::New(env);
    const int count = torchHasCuda ? static_cast<int>(at::getNumGPUs()) : 0;
    for (int i = 0; i < count; ++i) {
      std::string name = "cuda:" + std::to_string(i);
#ifdef MDISTILL_WITH_CUDA
      cudaDeviceProp prop;
      if (cudaGetDeviceProperties(&prop, i) == cudaSuccess) name = prop.name;
#endif
      devices.Set(static_cast<uint32_t>(i), Napi::String::New(env, name));
    }
    out.Set("cudaDevices", devices);
    out.Set("threads", Napi::Number::New(env, at::get_num_threads()));
    out.Set("parallelForThreads", Napi::Number::New(env, diagnostics::ParallelForThreads()));
    out.Set("interopThreads", Napi::Number::New(env, at::get_num_interop_threads()));
    out.Set("parallelInfo", at::get_parallel_info());
    out.Set("mallocTuning", TuneMalloc());
    const gemm::EngineInfo& g = gemm::ActiveEngineInfo();
    auto gemmInfo = Napi::Object::New(env);
    gemmInfo.Set("engine", g.name);
    gemmInfo.Set("reason", g.reason);
    gemmInfo.Set("onednnCompiled", Napi::Boolean::New(env, g.onednnCompiled));
    gemmInfo.Set("onednnVersion", g.onednnVersion);
    gemmInfo.Set("onednnIsa", g.onednnIsa);
    gemmInfo.Set("avx512", Napi::Boolean::New(env, g.avx512));
    gemmInfo.Set("bf16", Napi::Boolean::New(env, g.bf16));
    out.Set("gemmEngine", gemmInfo);
    return out;
  });
}

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guarded(env, [&]() -> Napi::Value {
    if (info.Length() < 1 || !info[0].IsNumber()) throw Error(codes::kBadArgument, "setNumThreads(n) needs a number");
    const double n = info[0].As<Napi::Number>().DoubleValue();
    if (!(n >= 1) || n != static_cast<double>(static_cast<int>(n))) {
      throw Error(codes::kBadArgument, "threads must be a positive integer, got " + std::to_string(n));
    }
    at::set_num_threads(static_cast<int>(n));
    return Napi::Number::New(env, at::get_num_threads());
  });
}

}  // namespace

void RegisterRuntimeInfo(Napi::Env env, Napi::Object exports) {
  exports.Set("runtimeInfo", Napi::Function::New(env, RuntimeInfo, "runtimeInfo"));
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreads, "setNumThreads"));
}

}  // namespace mdistill
