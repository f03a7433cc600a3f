// batchedMatmulCheck: runs the attention matmul kernel (model/batched_matmul.h) or its at::matmul reference,
// forward and backward, so tests can compare the two.
#include <ATen/ATen.h>
#include <torch/csrc/autograd/autograd.h>
#include <napi.h>

#include "model/batched_matmul.h"
#include "napi/errors.h"
#include "napi/modules.h"
#include "napi/promise_worker.h"
#include "napi/tensor_bridge.h"

namespace mdistill {

namespace {

struct CheckResult {
  at::Tensor out, gradA, gradB;
};

Napi::Value BatchedMatmulCheck(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guarded(env, [&]() -> Napi::Value {
    if (info.Length() < 6 || !info[5].IsString()) {
      throw Error(codes::kBadArgument, "batchedMatmulCheck(a, aShape, b, bShape, gradOut, impl: 'kernel'|'reference') takes 6 arguments");
    }
    const auto aShape = ShapeFromJs(info[1], "aShape");
    const auto bShape = ShapeFromJs(info[3], "bShape");
    if (aShape.size() != 3 || bShape.size() != 3 || aShape[0] != bShape[0] || aShape[2] != bShape[1]) {
      throw Error(codes::kShapeMismatch, "batchedMatmulCheck: a [G, M, K] and b [G, K, N] do not fit");
    }
    const std::string impl = info[5].As<Napi::String>().Utf8Value();
    if (impl != "kernel" && impl != "reference") throw Error(codes::kBadArgument, "batchedMatmulCheck: impl must be 'kernel' or 'reference'");
    at::Tensor a = ViewFloat32(info[0], aShape, "a");
    at::Tensor b = ViewFloat32(info[2], bShape, "b");
    at::Tensor gradOut = ViewFloat32(info[4], {aShape[0], aShape[1], bShape[2]}, "gradOut");
    return PromiseWorker<CheckResult>::Start(
        env,
        [a, b, gradOut, impl]() {
          // b is used transposed, as attention uses k: the kernel must handle strided views.
          at::Tensor ga = a.clone().requires_grad_(true);
          at::Tensor gb = b.transpose(1, 2).contiguous().requires_grad_(true);
          at::Tensor bt = gb.transpose(1, 2);
          at::Tensor out = impl == "kernel" ? model::BatchedMatmul(ga, bt) : at::matmul(ga, bt);
          auto grads = torch::autograd::grad({out}, {ga, gb}, {gradOut});
          return CheckResult{out.detach(), grads[0], grads[1].transpose(1, 2)};
        },
        [](Napi::Env env, CheckResult& r) -> Napi::Value {
          auto obj = Napi::Object::New(env);
          obj.Set("out", ToFloat32Array(env, r.out));
          obj.Set("gradA", ToFloat32Array(env, r.gradA));
          obj.Set("gradB", ToFloat32Array(env, r.gradB));
          return obj;
        },
        {info[0], info[2], info[4]});
  });
}

}  // namespace

void RegisterBatchedMatmulCheck(Napi::Env env, Napi::Object exports) {
  exports.Set("batchedMatmulCheck", Napi::Function::New(env, BatchedMatmulCheck, "batchedMatmulCheck"));
}

}  // namespace mdistill
