// The JS class `Trainer`: owns the optimizer and the EMA, and runs distillation steps on a student, a teacher
// and an EMA model handed over as JS `Model` objects. Each step is one AsyncWorker.
#include <napi.h>

#include <memory>
#include <mutex>

#include "napi/errors.h"
#include "napi/model_wrap.h"
#include "napi/modules.h"
#include "napi/process_group_wrap.h"
#include "napi/promise_worker.h"
#include "napi/tensor_bridge.h"
#include "train/distill_step.h"

namespace mdistill {

namespace {

double NumberField(const Napi::Object& o, const char* key, double fallback) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) return fallback;
  if (!v.IsNumber()) throw Error(codes::kBadArgument, std::string("trainer option '") + key + "' must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

std::vector<int64_t> IdsField(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return {};
  return ShapeFromJs(v, std::string("trainer option '") + key + "'");
}

train::KdType ParseKd(const Napi::Object& o) {
  Napi::Value v = o.Get("kd");
  const std::string kd = v.IsString() ? v.As<Napi::String>().Utf8Value() : "soft";
  if (kd == "none") return train::KdType::kNone;
  if (kd == "soft") return train::KdType::kSoft;
  if (kd == "hard") return train::KdType::kHard;
  throw Error(codes::kBadArgument, "trainer option 'kd' must be none, soft or hard, got '" + kd + "'");
}

Napi::Object TermsToJs(Napi::Env env, const train::StepTerms& t) {
  auto out = Napi::Object::New(env);
  out.Set("total", t.total);
  out.Set("base", t.base);
  out.Set("kd", t.kd);
  out.Set("sample", t.sample);
  out.Set("patch", t.patch);
  out.Set("rand", t.rand);
  out.Set("gradNorm", t.gradNorm);
  out.Set("syncSeconds", t.syncSeconds);
  out.Set("correct", Napi::Number::New(env, static_cast<double>(t.correct)));
  auto phases = Napi::Object::New(env);
  phases.Set("teacher", t.phases.teacher);
  phases.Set("student", t.phases.student);
  phases.Set("loss", t.phases.loss);
  phases.Set("backward", t.phases.backward);
  phases.Set("optimizer", t.phases.optimizer);
  out.Set("phases", phases);
  return out;
}

class TrainerWrap : public Napi::ObjectWrap<TrainerWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "Trainer",
                       {InstanceMethod<&TrainerWrap::Step>("step"),
                        InstanceMethod<&TrainerWrap::ComputeTerms>("computeTerms"),
                        InstanceMethod<&TrainerWrap::OptimizerState>("optimizerState"),
                        InstanceMethod<&TrainerWrap::LoadOptimizerState>("loadOptimizerState"),
                        InstanceMethod<&TrainerWrap::NoDecayNames>("noDecayNames"),
                        InstanceMethod<&TrainerWrap::ResetEma>("resetEma"),
                        InstanceMethod<&TrainerWrap::AttachProcessGroup>("attachProcessGroup")});
  }

  explicit TrainerWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TrainerWrap>(info) {
    Napi::Env env = info.Env();
    Guarded(env, [&]() -> Napi::Value {
      if (info.Length() < 4 || !info[3].IsObject()) {
        throw Error(codes::kBadArgument, "new Trainer(student, teacher | null, ema | null, options)");
      }
      ModelWrap* student = ModelWrap::From(info[0], "student");
      ModelWrap* teacher = info[1].IsNull() || info[1].IsUndefined() ? nullptr : ModelWrap::From(info[1], "teacher");
      ModelWrap* ema = info[2].IsNull() || info[2].IsUndefined() ? nullptr : ModelWrap::From(info[2], "ema");
      Napi::Object o = info[3].As<Napi::Object>();
      train::DistillOptions d;
      d.kd = ParseKd(o);
      d.alpha = NumberField(o, "alpha", d.alpha);
      d.beta = NumberField(o, "beta", d.beta);
      d.tau = NumberField(o, "tau", d.tau);
      d.wSample = NumberField(o, "wSample", d.wSample);
      d.wPatch = NumberField(o, "wPatch", d.wPatch);
      d.wRand = NumberField(o, "wRand", d.wRand);
      d.k = static_cast<int64_t>(NumberField(o, "K", static_cast<double>(d.k)));
      d.maxPatchNum = static_cast<int64_t>(NumberField(o, "maxPatchNum", 0));
      Napi::Value impl = o.Get("manifoldImpl");
      d.fusedManifold = !(impl.IsString() && impl.As<Napi::String>().Utf8Value() == "naive");
      d.sIds = IdsField(o, "sIds");
      d.tIds = IdsField(o, "tIds");
      d.clipGrad = NumberField(o, "clipGrad", 0);
      d.emaDecay = NumberField(o, "emaDecay", 0.99996);
      d.amp = o.Get("amp").ToBoolean().Value();
      d.seed = static_cast<uint64_t>(NumberField(o, "seed", 0));
      train::AdamWOptions a;
      a.weightDecay = NumberField(o, "weightDecay", a.weightDecay);
      a.beta1 = NumberField(o, "beta1", a.beta1);
      a.beta2 = NumberField(o, "beta2", a.beta2);
      a.eps = NumberField(o, "eps", a.eps);
      if (d.kd != train::KdType::kNone && !teacher) throw Error(codes::kBadArgument, "distillation needs a teacher model (or kd: 'none')");
      locks_ = {student->mutex(), teacher ? teacher->mutex() : nullptr, ema ? ema->mutex() : nullptr};
      step_ = std::make_shared<train::DistillStep>(student->model(), teacher ? teacher->model() : nullptr,
                                                   ema ? ema->model() : nullptr, d, a);
      return env.Undefined();
    });
  }

 private:
  // Locks the models for the duration of native work, so a concurrent forward or weight read waits.
  struct ModelLocks {
    std::shared_ptr<std::mutex> a, b, c;
  };

  train::StepInput ParseInput(const Napi::CallbackInfo& info, std::vector<Napi::Value>& keepAlive) {
    if (info.Length() < 6) throw Error(codes::kBadArgument, "step(images, shape, labels | null, targets | null, lr, step)");
    auto shape = ShapeFromJs(info[1], "shape");
    if (shape.size() != 4) throw Error(codes::kShapeMismatch, "images must be [B, C, H, W]");
    train::StepInput in;
    in.images = ViewFloat32(info[0], shape, "images");
    const int64_t batch = shape[0];
    if (!info[2].IsNull() && !info[2].IsUndefined()) {
      if (!info[2].IsTypedArray() || info[2].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
        throw Error(codes::kBadArgument, "labels must be an Int32Array");
      }
      auto labels = info[2].As<Napi::Int32Array>();
      if (static_cast<int64_t>(labels.ElementLength()) != batch) {
        throw Error(codes::kShapeMismatch, "labels has " + std::to_string(labels.ElementLength()) + " entries for a batch of " + std::to_string(batch));
      }
      in.targets = at::from_blob(labels.Data(), {batch}, at::kInt).to(at::kLong);
      keepAlive.push_back(info[2]);
    } else {
      const int64_t classes = step_->student()->config().numClasses;
      in.targets = ViewFloat32(info[3], {batch, classes}, "targets");
      keepAlive.push_back(info[3]);
    }
    keepAlive.push_back(info[0]);
    in.lr = info[4].ToNumber().DoubleValue();
    in.step = info[5].ToNumber().Int64Value();
    return in;
  }

  Napi::Value RunAsync(const Napi::CallbackInfo& info, bool update) {
    Napi::Env env = info.Env();
    return Guarded(env, [&]() -> Napi::Value {
      std::vector<Napi::Value> keepAlive;
      train::StepInput in = ParseInput(info, keepAlive);
      auto step = step_;
      ModelLocks locks = locks_;
      return PromiseWorker<train::StepTerms>::Start(
          env,
          [step, in, locks, update]() {
            std::unique_lock<std::mutex> la(*locks.a);
            std::unique_lock<std::mutex> lb, lc;
            if (locks.b) lb = std::unique_lock<std::mutex>(*locks.b);
            if (locks.c) lc = std::unique_lock<std::mutex>(*locks.c);
            return update ? step->Run(in) : step->Evaluate(in);
          },
          [](Napi::Env env, train::StepTerms& t) -> Napi::Value { return TermsToJs(env, t); }, keepAlive);
    });
  }

  Napi::Value Step(const Napi::CallbackInfo& info) { return RunAsync(info, true); }
  Napi::Value ComputeTerms(const Napi::CallbackInfo& info) { return RunAsync(info, false); }

  Napi::Value OptimizerState(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return Guarded(env, [&]() -> Napi::Value {
      std::lock_guard<std::mutex> lock(*locks_.a);
      auto out = Napi::Object::New(env);
      out.Set("steps", Napi::Number::New(env, static_cast<double>(step_->optimizer().steps())));
      out.Set("entries", NamedTensorsToJs(env, step_->optimizer().State()));
      return out;
    });
  }

  Napi::Value LoadOptimizerState(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return Guarded(env, [&]() -> Napi::Value {
      if (info.Length() < 2 || !info[0].IsArray()) throw Error(codes::kBadArgument, "loadOptimizerState(entries, steps)");
      auto entries = info[0].As<Napi::Array>();
      std::vector<std::pair<std::string, at::Tensor>> state;
      for (uint32_t i = 0; i < entries.Length(); ++i) {
        Napi::Object e = entries.Get(i).As<Napi::Object>();
        const std::string name = e.Get("name").As<Napi::String>().Utf8Value();
        auto shape = ShapeFromJs(e.Get("shape"), "optimizer state '" + name + "' shape");
        state.emplace_back(name, ViewFloat32(e.Get("data"), shape, "optimizer state '" + name + "'").clone());
      }
      std::lock_guard<std::mutex> lock(*locks_.a);
      step_->optimizer().LoadState(state, info[1].ToNumber().Int64Value());
      return env.Undefined();
    });
  }

  Napi::Value NoDecayNames(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto names = step_->optimizer().NoDecayNames();
    auto out = Napi::Array::New(env, names.size());
    for (size_t i = 0; i < names.size(); ++i) out.Set(static_cast<uint32_t>(i), names[i]);
    return out;
  }

  Napi::Value ResetEma(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return Guarded(env, [&]() -> Napi::Value {
      step_->ResetEma();
      return env.Undefined();
    });
  }

  // attachProcessGroup(group, {globalSampleManifold, bucketMb}): broadcasts rank 0's weights, then every step
  // averages its gradients over the group.
  Napi::Value AttachProcessGroup(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return Guarded(env, [&]() -> Napi::Value {
      auto group = ProcessGroupFromJs(info[0], "attachProcessGroup(group)");
      const Napi::Object o = info.Length() > 1 && info[1].IsObject() ? info[1].As<Napi::Object>() : Napi::Object::New(env);
      const bool globalSample = o.Get("globalSampleManifold").ToBoolean().Value();
      const double bucketMb = NumberField(o, "bucketMb", 25);
      if (!(bucketMb > 0)) throw Error(codes::kBadArgument, "trainer option 'bucketMb' must be > 0");
      auto step = step_;
      ModelLocks locks = locks_;
      return PromiseWorker<bool>::Start(
          env,
          [step, locks, group, globalSample, bucketMb]() {
            std::unique_lock<std::mutex> la(*locks.a);
            std::unique_lock<std::mutex> lc;
            if (locks.c) lc = std::unique_lock<std::mutex>(*locks.c);
            step->AttachDistributed(group, globalSample, static_cast<size_t>(bucketMb * (1 << 20)));
            return true;
          },
          [](Napi::Env env, bool&) -> Napi::Value { return env.Undefined(); });
    });
  }

  std::shared_ptr<train::DistillStep> step_;
  ModelLocks locks_;
};

}  // namespace

void RegisterTrainer(Napi::Env env, Napi::Object exports) {
  exports.Set("Trainer", TrainerWrap::Define(env));
}

}  // namespace mdistill
