// The JS class `Trainer`: owns the optimizer and the EMA, and runs distillation steps on a student, a teacher
// and an EMA model handed over as JS `Model` objects. Each step is one AsyncWorker.
#include <napi.h>

#include <memory>
#include <mutex>

#include "napi/batch_from_js.h"
#include "napi/errors.h"
#include "napi/model_wrap.h"
#include "napi/modules.h"
#include "napi/options_reader.h"
#include "napi/process_group_wrap.h"
#include "napi/promise_worker.h"
#include "napi/tensor_bridge.h"
#include "train/distill_step.h"

namespace mdistill {

namespace {

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
                        InstanceMethod<&TrainerWrap::LossTerms>("lossTerms"),
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
      OptionsReader o(info[3], "trainer options");
      train::DistillOptions d;
      const std::string kd = o.String("kd", {"none", "soft", "hard"});
      d.kd = kd == "none" ? train::KdType::kNone : kd == "hard" ? train::KdType::kHard : train::KdType::kSoft;
      d.alpha = o.Number("alpha");
      d.beta = o.Number("beta");
      d.tau = o.Number("tau");
      d.wSample = o.Number("wSample");
      d.wPatch = o.Number("wPatch");
      d.wRand = o.Number("wRand");
      d.k = o.Integer("K");
      d.maxPatchNum = o.Integer("maxPatchNum");
      d.fusedManifold = o.String("manifoldImpl", {"fused", "naive"}) == "fused";
      d.sIds = o.IntList("sIds");
      d.tIds = o.IntList("tIds");
      d.clipGrad = o.Number("clipGrad");
      d.emaDecay = o.Number("emaDecay");
      d.amp = o.Bool("amp");
      const int64_t seed = o.Integer("seed");
      if (seed < 0) throw Error(codes::kBadArgument, "trainer options: 'seed' must be a non-negative integer");
      d.seed = static_cast<uint64_t>(seed);
      train::AdamWOptions a;
      a.weightDecay = o.Number("weightDecay");
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
    std::shared_ptr<std::mutex> student, teacher, ema;
  };

  // (batch, lr, step) for step(); (batch, step) for lossTerms().
  train::StepInput ParseInput(const Napi::CallbackInfo& info, bool update, std::vector<Napi::Value>& keepAlive) {
    const size_t want = update ? 3 : 2;
    if (info.Length() < want) throw Error(codes::kBadArgument, update ? "step(batch, lr, step)" : "lossTerms(batch, step)");
    BatchView batch = BatchFromJs(info[0], "batch");
    if (!batch.targets.defined() && !batch.labels.defined()) {
      throw Error(codes::kBadArgument, "batch: a training batch needs labels (Int32Array) or targets (Float32Array)");
    }
    train::StepInput in;
    in.images = batch.images;
    in.targets = batch.targets.defined() ? batch.targets : batch.labels;
    keepAlive = std::move(batch.keepAlive);
    const Napi::Value lr = update ? info[1] : Napi::Number::New(info.Env(), 0);
    const Napi::Value step = info[want - 1];
    if (!lr.IsNumber() || !step.IsNumber()) throw Error(codes::kBadArgument, "lr and step must be numbers");
    in.lr = lr.As<Napi::Number>().DoubleValue();
    in.step = step.As<Napi::Number>().Int64Value();
    return in;
  }

  Napi::Value RunAsync(const Napi::CallbackInfo& info, bool update) {
    Napi::Env env = info.Env();
    return Guarded(env, [&]() -> Napi::Value {
      std::vector<Napi::Value> keepAlive;
      train::StepInput in = ParseInput(info, update, keepAlive);
      auto step = step_;
      ModelLocks locks = locks_;
      return PromiseWorker<train::StepTerms>::Start(
          env,
          [step, in, locks, update]() {
            std::unique_lock<std::mutex> student(*locks.student);
            std::unique_lock<std::mutex> teacher, ema;
            if (locks.teacher) teacher = std::unique_lock<std::mutex>(*locks.teacher);
            if (locks.ema) ema = std::unique_lock<std::mutex>(*locks.ema);
            return update ? step->Run(in) : step->LossTerms(in);
          },
          [](Napi::Env env, train::StepTerms& t) -> Napi::Value { return TermsToJs(env, t); }, keepAlive);
    });
  }

  Napi::Value Step(const Napi::CallbackInfo& info) { return RunAsync(info, true); }
  Napi::Value LossTerms(const Napi::CallbackInfo& info) { return RunAsync(info, false); }

  Napi::Value OptimizerState(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    return Guarded(env, [&]() -> Napi::Value {
      std::lock_guard<std::mutex> lock(*locks_.student);
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
      std::lock_guard<std::mutex> lock(*locks_.student);
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
      OptionsReader o(info[1], "attachProcessGroup options");
      const bool globalSample = o.Bool("globalSampleManifold");
      const double bucketMb = o.Number("bucketMb");
      if (!(bucketMb > 0)) throw Error(codes::kBadArgument, "trainer option 'bucketMb' must be > 0");
      auto step = step_;
      ModelLocks locks = locks_;
      return PromiseWorker<bool>::Start(
          env,
          [step, locks, group, globalSample, bucketMb]() {
            std::unique_lock<std::mutex> student(*locks.student);
            std::unique_lock<std::mutex> ema;
            if (locks.ema) ema = std::unique_lock<std::mutex>(*locks.ema);
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
