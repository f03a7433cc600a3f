// Which engine runs the models' matrix products on the CPU: oneDNN's matmul primitive (AVX-512 and AVX512_BF16
// kernels; the default where it is compiled in and the CPU has AVX-512) or ATen (OpenBLAS for float32). The
// environment variable MDISTILL_GEMM=onednn|aten chooses; CUDA tensors always go to ATen (cuBLAS).
#pragma once
#include <string>

namespace mdistill::gemm {

enum class Engine { kOneDnn, kAten };

struct EngineInfo {
  Engine engine = Engine::kAten;
  std::string name;            // "onednn" or "aten"
  std::string reason;          // why this engine: "MDISTILL_GEMM=aten", "default: ...", ...
  bool onednnCompiled = false;  // built with oneDNN's headers and linked to libdnnl
  std::string onednnVersion;   // the loaded library's, e.g. "2.6.3" (empty without oneDNN)
  std::string onednnIsa;       // oneDNN's effective ISA, e.g. "avx512_core_bf16" (empty without oneDNN)
  bool avx512 = false;         // that ISA includes AVX-512 (avx512_core)
  bool bf16 = false;           // that ISA has native bf16 dot products (AVX512_BF16 or AMX)
};

// Resolved once per process from MDISTILL_GEMM and the CPU. Throws Error(kBadArgument) naming MDISTILL_GEMM when it
// holds anything but "onednn", "aten" or nothing, and when it asks for oneDNN in a build without it.
const EngineInfo& ActiveEngineInfo();

// The engine for products on this thread: ActiveEngineInfo().engine unless a ScopedEngine overrides it.
Engine ActiveEngine();

const char* EngineName(Engine engine);

// Overrides the engine on this thread while alive (tests compare the engines; benchmarks time each one).
// Throws Error(kBadArgument) for oneDNN in a build without it.
class ScopedEngine {
 public:
  explicit ScopedEngine(Engine engine);
  ~ScopedEngine();
  ScopedEngine(const ScopedEngine&) = delete;
  ScopedEngine& operator=(const ScopedEngine&) = delete;

 private:
  int previous_;
};

}  // namespace mdistill::gemm
