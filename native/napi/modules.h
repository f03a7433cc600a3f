// Each native module adds its exports through one Register function; addon.cc calls them all.
#pragma once
#include <napi.h>

namespace mdistill {
void RegisterRuntimeInfo(Napi::Env env, Napi::Object exports);
void RegisterDiagnostics(Napi::Env env, Napi::Object exports);  // matmulProbe, gemmBenchmark, batchedMatmulCheck, deviceMemory
void RegisterModel(Napi::Env env, Napi::Object exports);
void RegisterPosEmbedResample(Napi::Env env, Napi::Object exports);
void RegisterManifoldLoss(Napi::Env env, Napi::Object exports);
void RegisterTrainer(Napi::Env env, Napi::Object exports);
void RegisterEvaluateBatch(Napi::Env env, Napi::Object exports);
void RegisterProcessGroup(Napi::Env env, Napi::Object exports);
}  // namespace mdistill
