// new ProcessGroup({rank, worldSize, masterAddr, masterPort, timeoutMs, device}); connect() rendezvouses off the
// JS thread; allReduce (sum of a Float64Array: metrics and eval counts) and barrier are promises too.
#include "napi/process_group_wrap.h"

#include <cstring>
#include <mutex>

#include "core/device.h"
#include "napi/errors.h"
#include "napi/modules.h"
#include "napi/options_reader.h"
#include "napi/promise_worker.h"

namespace mdistill {

namespace {

constexpr napi_type_tag kProcessGroupTag = {0x6d64697374696c6cULL, 0x50726f6347726f75ULL};

struct GroupHolder {
  std::mutex mutex;
  std::shared_ptr<dist::ProcessGroup> group;
};

class ProcessGroupWrap : public Napi::ObjectWrap<ProcessGroupWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "ProcessGroup",
                       {InstanceMethod<&ProcessGroupWrap::Connect>("connect"),
                        InstanceMethod<&ProcessGroupWrap::AllReduce>("allReduce"),
                        InstanceMethod<&ProcessGroupWrap::Barrier>("barrier"),
                        InstanceMethod<&ProcessGroupWrap::Destroy>("destroy"),
                        InstanceAccessor<&ProcessGroupWrap::Rank>("rank"),
                        InstanceAccessor<&ProcessGroupWrap::WorldSize>("worldSize"),
                        InstanceAccessor<&ProcessGroupWrap::Backend>("backend")});
  }

  explicit ProcessGroupWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ProcessGroupWrap>(info) {
    Napi::Env env = info.Env();
    Guarded(env, [&]() -> Napi::Value {
      if (!info.IsConstructCall() || info.Length() < 1 || !info[0].IsObject()) {
        throw Error(codes::kBadArgument, "new ProcessGroup({rank, worldSize, masterAddr, masterPort, timeoutMs, device})");
      }
      OptionsReader o(info[0], "ProcessGroup options");
      options_.rank = static_cast<int>(o.Integer("rank"));
      options_.worldSize = static_cast<int>(o.Integer("worldSize"));
      options_.masterAddr = o.String("masterAddr");
      options_.masterPort = static_cast<int>(o.Integer("masterPort"));
      options_.timeout = std::chrono::milliseconds(o.Integer("timeoutMs"));
      if (options_.timeout.count() <= 0) throw Error(codes::kBadArgument, "ProcessGroup option 'timeoutMs' must be > 0");
      if (options_.worldSize < 1 || options_.rank < 0 || options_.rank >= options_.worldSize) {
        throw Error(codes::kBadArgument, "ProcessGroup: rank " + std::to_string(options_.rank) + " is outside 0.." +
                                             std::to_string(options_.worldSize - 1) + " (check RANK and WORLD_SIZE)");
      }
      if (options_.masterPort < 1 || options_.masterPort > 65535) {
        throw Error(codes::kBadArgument, "ProcessGroup: masterPort " + std::to_string(options_.masterPort) + " is not a TCP port");
      }
      options_.device = ParseDevice(o.String("device"), "ProcessGroup option 'device'");
      info.This().As<Napi::Object>().TypeTag(&kProcessGroupTag);
      return env.Undefined();
    });
  }

  std::shared_ptr<dist::ProcessGroup> Group(const std::string& what) const {
    std::lock_guard<std::mutex> lock(holder_->mutex);
    if (!holder_->group) throw Error(codes::kBadArgument, what + ": the ProcessGroup is not connected (await connect()) or was destroyed");
    return holder_->group;
  }

 private:
  Napi::Value Connect(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return Guarded(env, [&]() -> Napi::Value {
      auto holder = holder_;
      auto options = options_;
      return PromiseWorker<bool>::Start(
          env,
          [holder, options]() {
            auto group = std::make_shared<dist::ProcessGroup>(options);
            std::lock_guard<std::mutex> lock(holder->mutex);
            holder->group = std::move(group);
            return true;
          },
          [](Napi::Env env, bool&) -> Napi::Value { return env.Undefined(); });
    });
  }

  Napi::Value AllReduce(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return Guarded(env, [&]() -> Napi::Value {
      if (info.Length() < 1 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
        throw Error(codes::kBadArgument, "allReduce(values: Float64Array)");
      }
      auto input = info[0].As<Napi::Float64Array>();
      at::Tensor values = at::from_blob(input.Data(), {static_cast<int64_t>(input.ElementLength())}, at::kDouble).clone();
      auto group = Group("allReduce");
      return PromiseWorker<at::Tensor>::Start(
          env,
          [group, values]() mutable {
            if (values.numel() > 0) group->AllReduceSum(values);
            return values;
          },
          [](Napi::Env env, at::Tensor& t) -> Napi::Value {
            auto out = Napi::Float64Array::New(env, static_cast<size_t>(t.numel()));
            std::memcpy(out.Data(), t.data_ptr<double>(), sizeof(double) * t.numel());
            return out;
          });
    });
  }

  Napi::Value Barrier(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return Guarded(env, [&]() -> Napi::Value {
      auto group = Group("barrier");
      return PromiseWorker<bool>::Start(
          env,
          [group]() {
            group->Barrier();
            return true;
          },
          [](Napi::Env env, bool&) -> Napi::Value { return env.Undefined(); });
    });
  }

  // Drops this handle; the connections close once no trainer holds the group either.
  Napi::Value Destroy(const Napi::CallbackInfo& info) {
    std::lock_guard<std::mutex> lock(holder_->mutex);
    holder_->group.reset();
    return info.Env().Undefined();
  }

  Napi::Value Rank(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), options_.rank); }
  Napi::Value WorldSize(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), options_.worldSize); }
  Napi::Value Backend(const Napi::CallbackInfo& info) {
    std::lock_guard<std::mutex> lock(holder_->mutex);
    return Napi::String::New(info.Env(), holder_->group ? holder_->group->backend() : "unconnected");
  }

  dist::GroupOptions options_;
  std::shared_ptr<GroupHolder> holder_ = std::make_shared<GroupHolder>();
};

}  // namespace

std::shared_ptr<dist::ProcessGroup> ProcessGroupFromJs(const Napi::Value& value, const std::string& what) {
  if (!value.IsObject() || !value.As<Napi::Object>().CheckTypeTag(&kProcessGroupTag)) {
    throw Error(codes::kBadArgument, what + " must be a native ProcessGroup (made with new ProcessGroup(options))");
  }
  return Napi::ObjectWrap<ProcessGroupWrap>::Unwrap(value.As<Napi::Object>())->Group(what);
}

void RegisterProcessGroup(Napi::Env env, Napi::Object exports) {
  exports.Set("ProcessGroup", ProcessGroupWrap::Define(env));
}

}  // namespace mdistill
