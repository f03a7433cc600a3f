#include "gemm/gemm_engine.h"

#include <atomic>
#include <cstdlib>
#include <memory>
#include <mutex>

#include "core/error.h"
#include "gemm/onednn_matmul.h"

namespace mdistill::gemm {

namespace {

EngineInfo Resolve() {
  EngineInfo info;
  info.onednnCompiled = onednn::Compiled();
  if (info.onednnCompiled) {
    info.onednnVersion = onednn::Version();
    info.onednnIsa = onednn::IsaName();
    info.avx512 = onednn::IsaHasAvx512();
    info.bf16 = onednn::IsaHasBf16();
  }
  const char* raw = std::getenv("MDISTILL_GEMM");
  const std::string wanted = raw ? raw : "";
  if (wanted == "aten") {
    info.engine = Engine::kAten;
    info.reason = "MDISTILL_GEMM=aten";
  } else if (wanted == "onednn") {
    if (!info.onednnCompiled) {
      throw Error(codes::kBadArgument,
                  "MDISTILL_GEMM=onednn, but this addon was built without oneDNN: install libdnnl-dev and rebuild "
                  "(npm run build:native), or unset MDISTILL_GEMM");
    }
    info.engine = Engine::kOneDnn;
    info.reason = "MDISTILL_GEMM=onednn";
  } else if (!wanted.empty()) {
    throw Error(codes::kBadArgument, "MDISTILL_GEMM must be 'onednn' or 'aten', got '" + wanted + "'");
  } else if (!info.onednnCompiled) {
    info.engine = Engine::kAten;
    info.reason = "default: built without oneDNN (libdnnl-dev was missing)";
  } else if (!info.avx512) {
    // Below AVX-512 oneDNN's float32 kernels are no faster than OpenBLAS's AVX2 ones.
    info.engine = Engine::kAten;
    info.reason = "default: the CPU lacks AVX-512 (oneDNN ISA " + info.onednnIsa + ")";
  } else {
    info.engine = Engine::kOneDnn;
    info.reason = "default: oneDNN on " + info.onednnIsa;
  }
  info.name = EngineName(info.engine);
  return info;
}

// -1: no override on this thread; otherwise the overriding Engine's value.
thread_local int overrideEngine = -1;

}  // namespace

const EngineInfo& ActiveEngineInfo() {
  // Resolved once; an invalid MDISTILL_GEMM throws on every call rather than being cached as an error.
  static std::mutex mutex;
  static std::unique_ptr<EngineInfo> info;
  std::lock_guard<std::mutex> lock(mutex);
  if (!info) info = std::make_unique<EngineInfo>(Resolve());
  return *info;
}

Engine ActiveEngine() {
  if (overrideEngine >= 0) return static_cast<Engine>(overrideEngine);
  // Every product asks; after the first answer it costs one atomic load.
  static std::atomic<int> resolved{-1};
  int engine = resolved.load(std::memory_order_relaxed);
  if (engine < 0) {
    engine = static_cast<int>(ActiveEngineInfo().engine);
    resolved.store(engine, std::memory_order_relaxed);
  }
  return static_cast<Engine>(engine);
}

const char* EngineName(Engine engine) { return engine == Engine::kOneDnn ? "onednn" : "aten"; }

ScopedEngine::ScopedEngine(Engine engine) : previous_(overrideEngine) {
  if (engine == Engine::kOneDnn && !onednn::Compiled()) {
    throw Error(codes::kBadArgument, "the oneDNN engine was asked for, but this build has no oneDNN");
  }
  overrideEngine = static_cast<int>(engine);
}

ScopedEngine::~ScopedEngine() { overrideEngine = previous_; }

}  // namespace mdistill::gemm
