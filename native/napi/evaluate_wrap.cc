// evaluateBatch(model, batch): top-1/top-5 hit counts and the summed cross-entropy of one validation batch
// (train/evaluate.h), so JS accumulates exact totals over a whole validation set.
#include <napi.h>

#include <mutex>

#include "napi/batch_from_js.h"
#include "napi/errors.h"
#include "napi/model_wrap.h"
#include "napi/modules.h"
#include "napi/promise_worker.h"
#include "train/evaluate.h"

namespace mdistill {

namespace {

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
    return PromiseWorker<train::EvalCounts>::Start(
        env,
        [model, mutex, images, labels]() {
          std::lock_guard<std::mutex> lock(*mutex);
          return train::EvaluateBatch(*model, images, labels);
        },
        [](Napi::Env env, train::EvalCounts& c) -> Napi::Value {
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
