// evaluateBatch(model, batch): eval-mode forward under inference mode, returning top-1/top-5 hit
// counts and the summed cross-entropy, so JS accumulates exact totals over a whole validation set.
#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <napi.h>

#include <mutex>

#include "napi/batch_from_js.h"
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
    if (info.Length() < 2) throw Error(codes::kBadArgument, "evaluateBatch(model, batch)");
    ModelWrap* wrap = ModelWrap::From(info[0], "model");
    BatchView batch = BatchFromJs(info[1], "batch");
    if (!batch.labels.defined()) throw Error(codes::kBadArgument, "batch: evaluation needs labels (Int32Array)");
    at::Tensor images = batch.images, labels = batch.labels;
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
        batch.keepAlive);
  });
}

}  // namespace

void RegisterEvaluateBatch(Napi::Env env, Napi::Object exports) {
  exports.Set("evaluateBatch", Napi::Function::New(env, EvaluateBatch, "evaluateBatch"));
}

}  // namespace mdistill
