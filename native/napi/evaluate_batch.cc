// evaluateBatch(model, images, shape, labels): eval-mode forward under inference mode, returning top-1/top-5 hit
// counts and the summed cross-entropy, so JS accumulates exact totals over a whole validation set.
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <napi.h>

#include <mutex>

#include "napi/errors.h"
#include "napi/model_wrap.h"
#include "napi/modules.h"
#include "napi/promise_worker.h"
#include "napi/tensor_bridge.h"

namespace mdistill {

namespace {

struct EvalCounts {
  int64_t correct1 = 0, correct5 = 0, count = 0;
  double lossSum = 0;
};

Napi::Value EvaluateBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guarded(env, [&]() -> Napi::Value {
    if (info.Length() < 4) throw Error(codes::kBadArgument, "evaluateBatch(model, images, shape, labels)");
    ModelWrap* wrap = ModelWrap::From(info[0], "model");
    auto shape = ShapeFromJs(info[2], "shape");
    if (shape.size() != 4) throw Error(codes::kShapeMismatch, "images must be [B, C, H, W]");
    at::Tensor images = ViewFloat32(info[1], shape, "images");
    if (!info[3].IsTypedArray() || info[3].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
      throw Error(codes::kBadArgument, "labels must be an Int32Array");
    }
    auto labelsArray = info[3].As<Napi::Int32Array>();
    if (static_cast<int64_t>(labelsArray.ElementLength()) != shape[0]) {
      throw Error(codes::kShapeMismatch, "labels has " + std::to_string(labelsArray.ElementLength()) + " entries for a batch of " + std::to_string(shape[0]));
    }
    at::Tensor labels = at::from_blob(labelsArray.Data(), {shape[0]}, at::kInt);
    auto model = wrap->model();
    auto mutex = wrap->mutex();
    return PromiseWorker<EvalCounts>::Start(
        env,
        [model, mutex, images, labels]() {
          std::lock_guard<std::mutex> lock(*mutex);
          c10::InferenceMode inference;
          model->eval();
          at::Tensor logits = model->Forward(images.to(model->device()), {}, false).logits.to(at::kFloat);
          at::Tensor target = labels.to(logits.device(), at::kLong);
          EvalCounts c;
          c.count = logits.size(0);
          c.lossSum = at::nll_loss(at::log_softmax(logits, 1), target, {}, at::Reduction::Sum).item<double>();
          const int64_t k = std::min<int64_t>(5, logits.size(1));
          at::Tensor top = std::get<1>(logits.topk(k, 1));
          at::Tensor hits = top.eq(target.unsqueeze(1));
          c.correct1 = hits.select(1, 0).sum().item<int64_t>();
          c.correct5 = hits.any(1).sum().item<int64_t>();
          return c;
        },
        [](Napi::Env env, EvalCounts& c) -> Napi::Value {
          auto out = Napi::Object::New(env);
          out.Set("correct1", Napi::Number::New(env, static_cast<double>(c.correct1)));
          out.Set("correct5", Napi::Number::New(env, static_cast<double>(c.correct5)));
          out.Set("count", Napi::Number::New(env, static_cast<double>(c.count)));
          out.Set("lossSum", Napi::Number::New(env, c.lossSum));
          return out;
        },
        {info[1], info[3]});
  });
}

}  // namespace

void RegisterEvaluateBatch(Napi::Env env, Napi::Object exports) {
  exports.Set("evaluateBatch", Napi::Function::New(env, EvaluateBatch, "evaluateBatch"));
}

}  // namespace mdistill
