// Module registration, after the process-wide allocator tuning.
#include <napi.h>

#include "core/malloc_tuning.h"
#include "napi/modules.h"

namespace {
Napi::Object Init(Napi::Env env, Napi::Object exports) {
  mdistill::TuneMalloc();
  mdistill::RegisterRuntimeInfo(env, exports);
  mdistill::RegisterDiagnostics(env, exports);
  mdistill::RegisterModel(env, exports);
  mdistill::RegisterPosEmbedResample(env, exports);
  mdistill::RegisterManifoldLoss(env, exports);
  mdistill::RegisterTrainer(env, exports);
  mdistill::RegisterEvaluateBatch(env, exports);
  mdistill::RegisterProcessGroup(env, exports);
  return exports;
}
}  // namespace

NODE_API_MODULE(mdistill, Init)
