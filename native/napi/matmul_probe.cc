// A small autograd computation that proves the addon reaches a working libtorch:
// loss = ½‖A·B‖², with its gradients with respect to A and B from autograd.
#include <ATen/ATen.h>
#include <torch/csrc/autograd/autograd.h>
#include <napi.h>

#include "napi/errors.h"
#include "napi/modules.h"
#include "napi/promise_worker.h"
#include "napi/tensor_bridge.h"

namespace mdistill {

namespace {

struct ProbeResult {
  at::Tensor product, gradA, gradB;
  double loss = 0;
};

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
    // The inner sizes are left for libtorch to check, so its own errors cross the boundary too.
    at::Tensor a = ViewFloat64(info[0], aShape, "a");
    at::Tensor b = ViewFloat64(info[2], bShape, "b");
    return PromiseWorker<ProbeResult>::Start(
        env,
        [a, b]() {
          at::Tensor ga = a.clone().requires_grad_(true);
          at::Tensor gb = b.clone().requires_grad_(true);
          at::Tensor product = at::matmul(ga, gb);
          at::Tensor loss = product.pow(2).sum() * 0.5;
          auto grads = torch::autograd::grad({loss}, {ga, gb});
          return ProbeResult{product.detach(), grads[0], grads[1], loss.item<double>()};
        },
        [](Napi::Env env, ProbeResult& r) -> Napi::Value {
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

}  // namespace

void RegisterMatmulProbe(Napi::Env env, Napi::Object exports) {
  exports.Set("matmulProbe", Napi::Function::New(env, MatmulProbe, "matmulProbe"));
}

}  // namespace mdistill
