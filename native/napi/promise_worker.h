// Runs native work off the JS thread and settles a promise with its result.
#pragma once
#include <napi.h>

#include <functional>
#include <optional>
#include <vector>

#include "napi/errors.h"

namespace mdistill {

// `Work` runs on a libuv worker thread: it must not touch N-API. `ToJs` runs on the JS thread.
// The JS values in `keepAlive` (input buffers viewed without a copy) stay referenced until the promise settles.
template <typename Result>
class PromiseWorker : public Napi::AsyncWorker {
 public:
  using Work = std::function<Result()>;
  using ToJs = std::function<Napi::Value(Napi::Env, Result&)>;

  static Napi::Promise Start(Napi::Env env, Work work, ToJs toJs, const std::vector<Napi::Value>& keepAlive = {}) {
    auto* worker = new PromiseWorker(env, std::move(work), std::move(toJs), keepAlive);
    Napi::Promise promise = worker->deferred_.Promise();
    worker->Queue();
    return promise;
  }

 protected:
  void Execute() override {
    try {
      result_.emplace(work_());
    } catch (...) {
      error_ = CaptureCurrentException();
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (error_) {
      deferred_.Reject(MakeJsError(env, *error_).Value());
      return;
    }
    try {
      deferred_.Resolve(toJs_(env, *result_));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    } catch (...) {
      deferred_.Reject(MakeJsError(env, CaptureCurrentException()).Value());
    }
  }

 private:
  PromiseWorker(Napi::Env env, Work work, ToJs toJs, const std::vector<Napi::Value>& keepAlive)
      : Napi::AsyncWorker(env, "mdistill"), deferred_(Napi::Promise::Deferred::New(env)),
        work_(std::move(work)), toJs_(std::move(toJs)) {
    for (const auto& value : keepAlive) {
      if (value.IsObject()) keepAlive_.push_back(Napi::Persistent(value.As<Napi::Object>()));
    }
  }

  Napi::Promise::Deferred deferred_;
  Work work_;
  ToJs toJs_;
  std::vector<Napi::ObjectReference> keepAlive_;
  std::optional<Result> result_;
  std::optional<CapturedError> error_;
};

}  // namespace mdistill
