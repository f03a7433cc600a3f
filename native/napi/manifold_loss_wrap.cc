// manifoldLoss(args): the manifold distillation loss over layer pairs of student/teacher token features held in
// typed arrays, with optional student gradients. Used by tests, benchmarks and the TS face src/loss/manifoldLoss.ts.
// The computation is loss/standalone_manifold_loss.h; this file reads the arguments and converts the results.
#include <ATen/ATen.h>
#include <napi.h>

#include <cstring>

#include "core/device.h"
#include "loss/manifold_options.h"
#include "loss/standalone_manifold_loss.h"
#include "napi/errors.h"
#include "napi/modules.h"
#include "napi/options_reader.h"
#include "napi/promise_worker.h"
#include "napi/tensor_bridge.h"

namespace mdistill {

namespace {

using loss::StandaloneManifoldRequest;
using loss::StandaloneManifoldResult;

std::vector<at::Tensor> Features(const OptionsReader& o, const char* arrays, const char* shapes,
                                 std::vector<Napi::Value>& keepAlive) {
  Napi::Value a = o.Value(arrays), s = o.Value(shapes);
  if (!a.IsArray() || !s.IsArray()) {
    throw Error(codes::kBadArgument, std::string("manifoldLoss: '") + arrays + "' and '" + shapes + "' must be arrays");
  }
  auto list = a.As<Napi::Array>();
  auto shapeList = s.As<Napi::Array>();
  if (list.Length() != shapeList.Length()) {
    throw Error(codes::kBadArgument, std::string("manifoldLoss: '") + arrays + "' has " + std::to_string(list.Length()) +
                                         " entries but '" + shapes + "' has " + std::to_string(shapeList.Length()));
  }
  std::vector<at::Tensor> out;
  for (uint32_t i = 0; i < list.Length(); ++i) {
    const std::string what = std::string(arrays) + "[" + std::to_string(i) + "]";
    Napi::Value v = list.Get(i);
    auto shape = ShapeFromJs(shapeList.Get(i), std::string(shapes) + "[" + std::to_string(i) + "]");
    const bool f64 = v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_float64_array;
    out.push_back(f64 ? ViewFloat64(v, shape, what) : ViewFloat32(v, shape, what));
    keepAlive.push_back(v);
  }
  return out;
}

std::vector<at::Tensor> Perms(const Napi::Value& value) {
  if (!value.IsArray()) throw Error(codes::kBadArgument, "manifoldLoss: 'perms' must be an array (one row list per pair)");
  auto list = value.As<Napi::Array>();
  std::vector<at::Tensor> out;
  for (uint32_t i = 0; i < list.Length(); ++i) {
    Napi::Value v = list.Get(i);
    std::vector<int64_t> rows;
    if (v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_bigint64_array) {
      auto a = v.As<Napi::TypedArrayOf<int64_t>>();
      rows.assign(a.Data(), a.Data() + a.ElementLength());
    } else if (v.IsArray()) {
      rows = ShapeFromJs(v, "perms[" + std::to_string(i) + "]");
    } else {
      throw Error(codes::kBadArgument, "manifoldLoss: perms[" + std::to_string(i) + "] must be a BigInt64Array or an array of integers");
    }
    out.push_back(at::tensor(rows, at::TensorOptions().dtype(at::kLong)));
  }
  return out;
}

// [] (read each layout from its token count) or one [prefix, rows, cols] per pair.
std::vector<TokenLayout> Layouts(const OptionsReader& o, const char* key, size_t pairs) {
  Napi::Value v = o.Value(key);
  if (!v.IsArray()) throw Error(codes::kBadArgument, std::string("manifoldLoss: '") + key + "' must be an array ([] or one [prefix, rows, cols] per pair)");
  auto list = v.As<Napi::Array>();
  if (list.Length() != 0 && list.Length() != pairs) {
    throw Error(codes::kBadArgument, std::string("manifoldLoss: '") + key + "' has " + std::to_string(list.Length()) + " entries for " +
                                         std::to_string(pairs) + " layer pairs; give one per pair or none");
  }
  std::vector<TokenLayout> out;
  for (uint32_t i = 0; i < list.Length(); ++i) {
    const std::string what = std::string(key) + "[" + std::to_string(i) + "]";
    const auto entry = ShapeFromJs(list.Get(i), what);
    if (entry.size() != 3) throw Error(codes::kBadArgument, "manifoldLoss: " + what + " must be [prefix, rows, cols]");
    out.push_back({entry[0], entry[1], entry[2]});
  }
  return out;
}

// The gradient of upstream[0]*sample + upstream[1]*patch + upstream[2]*rand; absent: of their sum.
std::array<double, 3> Upstream(const OptionsReader& o) {
  std::array<double, 3> upstream{1, 1, 1};
  if (!o.Has("upstream")) return upstream;
  Napi::Value u = o.Value("upstream");
  if (!u.IsArray() || u.As<Napi::Array>().Length() != 3) {
    throw Error(codes::kBadArgument, "manifoldLoss: 'upstream' must be an array of 3 numbers (sample, patch, rand)");
  }
  for (uint32_t i = 0; i < 3; ++i) {
    Napi::Value x = u.As<Napi::Array>().Get(i);
    if (!x.IsNumber()) throw Error(codes::kBadArgument, "manifoldLoss: 'upstream' must hold numbers");
    upstream[i] = x.As<Napi::Number>().DoubleValue();
  }
  return upstream;
}

Napi::Value ManifoldLossJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guarded(env, [&]() -> Napi::Value {
    if (info.Length() < 1 || !info[0].IsObject()) throw Error(codes::kBadArgument, "manifoldLoss(args) takes one options object");
    OptionsReader o(info[0], "manifoldLoss");
    std::vector<Napi::Value> keepAlive;
    std::vector<at::Tensor> student = Features(o, "student", "studentShapes", keepAlive);
    std::vector<at::Tensor> teacher = Features(o, "teacher", "teacherShapes", keepAlive);
    StandaloneManifoldRequest request;
    request.options.wSample = o.Number("wSample");
    request.options.wPatch = o.Number("wPatch");
    request.options.wRand = o.Number("wRand");
    request.options.k = o.Integer("k");
    request.options.maxPatchNum = o.Integer("maxPatchNum");
    request.options.studentLayouts = Layouts(o, "studentLayouts", student.size());
    request.options.teacherLayouts = Layouts(o, "teacherLayouts", teacher.size());
    request.options.impl = o.String("impl", {"fused", "naive"}) == "naive" ? loss::ManifoldImpl::kNaive : loss::ManifoldImpl::kFused;
    if (o.Has("dtype")) {
      const std::string dtype = o.String("dtype", {"float32", "float64", "bfloat16"});
      request.dtype = dtype == "float64" ? at::kDouble : dtype == "bfloat16" ? at::kBFloat16 : at::kFloat;
    }
    request.device = ParseDevice(o.String("device"), "manifoldLoss option 'device'");
    request.backward = o.Bool("backward");
    request.returnGrad = o.Bool("returnGrad");
    if (o.Has("perms")) request.perms = Perms(o.Value("perms"));
    const int64_t seed = o.Integer("seed");
    if (seed < 0) throw Error(codes::kBadArgument, "manifoldLoss: 'seed' must be a non-negative integer");
    request.seed = static_cast<uint64_t>(seed);
    request.upstream = Upstream(o);
    // Gradients come back in the features' own precision: Float64Array for float64 features left unconverted.
    const bool float64Out = !student.empty() && student[0].scalar_type() == at::kDouble && !request.dtype;

    return PromiseWorker<StandaloneManifoldResult>::Start(
        env, [student, teacher, request]() { return loss::StandaloneManifoldLoss(student, teacher, request); },
        [float64Out](Napi::Env env, StandaloneManifoldResult& r) -> Napi::Value {
          auto out = Napi::Object::New(env);
          out.Set("sample", Napi::Number::New(env, r.sample));
          out.Set("patch", Napi::Number::New(env, r.patch));
          out.Set("rand", Napi::Number::New(env, r.rand));
          out.Set("total", Napi::Number::New(env, r.total));
          auto perms = Napi::Array::New(env, r.perms.size());
          for (size_t i = 0; i < r.perms.size(); ++i) {
            at::Tensor p = r.perms[i].to(at::kCPU).contiguous();
            auto a = Napi::BigInt64Array::New(env, p.numel());
            std::memcpy(a.Data(), p.data_ptr<int64_t>(), p.numel() * sizeof(int64_t));
            perms.Set(static_cast<uint32_t>(i), a);
          }
          out.Set("perms", perms);
          if (!r.gradNormSq.empty()) {
            auto norms = Napi::Array::New(env, r.gradNormSq.size());
            for (size_t i = 0; i < r.gradNormSq.size(); ++i) norms.Set(static_cast<uint32_t>(i), Napi::Number::New(env, r.gradNormSq[i]));
            out.Set("gradNormSq", norms);
          }
          if (!r.grads.empty()) {
            auto grads = Napi::Array::New(env, r.grads.size());
            for (size_t i = 0; i < r.grads.size(); ++i) {
              grads.Set(static_cast<uint32_t>(i), float64Out ? Napi::Value(ToFloat64Array(env, r.grads[i]))
                                                             : Napi::Value(ToFloat32Array(env, r.grads[i])));
            }
            out.Set("gradStudent", grads);
          }
          return out;
        },
        keepAlive);
  });
}

// planLayerPairs({studentLayouts, teacherLayouts, maxPatchNum}): how the loss would bring each pair together, or
// the loss's own error, without features (the trainer checks its --s-id/--t-id pairs with it before training).
Napi::Value PlanLayerPairsJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guarded(env, [&]() -> Napi::Value {
    if (info.Length() < 1 || !info[0].IsObject()) throw Error(codes::kBadArgument, "planLayerPairs(args) takes one options object");
    OptionsReader o(info[0], "planLayerPairs");
    const Napi::Value s = o.Value("studentLayouts");
    const size_t pairs = s.IsArray() ? s.As<Napi::Array>().Length() : 0;
    const std::vector<TokenLayout> student = Layouts(o, "studentLayouts", pairs), teacher = Layouts(o, "teacherLayouts", pairs);
    if (student.size() != pairs || teacher.size() != pairs) {
      throw Error(codes::kBadArgument, "planLayerPairs: give one student and one teacher layout per pair");
    }
    const int64_t maxPatchNum = o.Integer("maxPatchNum");
    auto out = Napi::Array::New(env, pairs);
    for (size_t i = 0; i < pairs; ++i) {
      const loss::PairPlan p = loss::PlanPair({1, student[i].tokens(), 1}, {1, teacher[i].tokens(), 1}, maxPatchNum, i, student[i], teacher[i]);
      auto entry = Napi::Object::New(env);
      entry.Set("tokens", Napi::Number::New(env, static_cast<double>(p.tokens)));
      entry.Set("dropStudent", Napi::Number::New(env, static_cast<double>(p.dropStudent)));
      entry.Set("dropTeacher", Napi::Number::New(env, static_cast<double>(p.dropTeacher)));
      entry.Set("mergeStudent", Napi::Number::New(env, static_cast<double>(p.factorStudent)));
      entry.Set("mergeTeacher", Napi::Number::New(env, static_cast<double>(p.factorTeacher)));
      out.Set(static_cast<uint32_t>(i), entry);
    }
    return out;
  });
}

}  // namespace

void RegisterManifoldLoss(Napi::Env env, Napi::Object exports) {
  exports.Set("manifoldLoss", Napi::Function::New(env, ManifoldLossJs, "manifoldLoss"));
  exports.Set("planLayerPairs", Napi::Function::New(env, PlanLayerPairsJs, "planLayerPairs"));
}

}  // namespace mdistill
