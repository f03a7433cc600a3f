// manifoldLoss(args): the manifold distillation loss over layer pairs of student/teacher token features held in
// typed arrays, with optional student gradients. Used by tests, benchmarks and the TS face src/loss/manifoldLoss.ts.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/csrc/autograd/autograd.h>
#include <napi.h>

#include <cmath>

#include "loss/manifold_loss.h"
#include "napi/errors.h"
#include "napi/modules.h"
#include "napi/options_reader.h"
#include "napi/promise_worker.h"
#include "napi/tensor_bridge.h"

namespace mdistill {

namespace {

using loss::ManifoldImpl;
using loss::ManifoldLoss;
using loss::ManifoldLossWithPerms;
using loss::ManifoldOptions;
using loss::ManifoldTerms;

struct LossResult {
  double sample = 0, patch = 0, rand = 0, total = 0;
  std::vector<at::Tensor> perms;
  std::vector<at::Tensor> grads;
  std::vector<double> gradNormSq;
  bool doublePrecision = false;
};

std::vector<at::Tensor> Features(const Napi::Object& args, const char* arrays, const char* shapes,
                                 std::vector<Napi::Value>& keepAlive) {
  Napi::Value a = args.Get(arrays), s = args.Get(shapes);
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

Napi::Value ManifoldLossJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guarded(env, [&]() -> Napi::Value {
    if (info.Length() < 1 || !info[0].IsObject()) throw Error(codes::kBadArgument, "manifoldLoss(args) takes one options object");
    auto args = info[0].As<Napi::Object>();
    std::vector<Napi::Value> keepAlive;
    std::vector<at::Tensor> student = Features(args, "student", "studentShapes", keepAlive);
    std::vector<at::Tensor> teacher = Features(args, "teacher", "teacherShapes", keepAlive);
    OptionsReader o(info[0], "manifoldLoss");
    ManifoldOptions opts;
    opts.wSample = o.Number("wSample");
    opts.wPatch = o.Number("wPatch");
    opts.wRand = o.Number("wRand");
    opts.k = o.Integer("k");
    opts.maxPatchNum = o.Integer("maxPatchNum");
    opts.impl = o.String("impl", {"fused", "naive"}) == "naive" ? ManifoldImpl::kNaive : ManifoldImpl::kFused;
    const std::string dtype = o.Has("dtype") ? o.String("dtype", {"float32", "float64", "bfloat16"}) : "";
    const std::string device = o.String("device", {"cpu", "cuda"});
    if (device == "cuda" && !at::hasCUDA()) throw Error(codes::kBadArgument, "manifoldLoss: device 'cuda' requested but libtorch sees no CUDA device");
    const bool backward = o.Bool("backward") || o.Bool("returnGrad");
    const bool returnGrad = o.Bool("returnGrad");
    const bool hasPerms = o.Has("perms");
    std::vector<at::Tensor> perms = hasPerms ? Perms(o.Value("perms")) : std::vector<at::Tensor>{};
    const int64_t seedValue = o.Integer("seed");
    if (seedValue < 0) throw Error(codes::kBadArgument, "manifoldLoss: 'seed' must be a non-negative integer");
    const auto seed = static_cast<uint64_t>(seedValue);
    // Backward of upstream[0]*sample + upstream[1]*patch + upstream[2]*rand (default: of their sum).
    std::vector<double> upstream{1, 1, 1};
    if (args.Has("upstream") && !args.Get("upstream").IsUndefined()) {
      Napi::Value u = args.Get("upstream");
      if (!u.IsArray() || u.As<Napi::Array>().Length() != 3) {
        throw Error(codes::kBadArgument, "manifoldLoss: 'upstream' must be an array of 3 numbers (sample, patch, rand)");
      }
      for (uint32_t i = 0; i < 3; ++i) {
        Napi::Value x = u.As<Napi::Array>().Get(i);
        if (!x.IsNumber()) throw Error(codes::kBadArgument, "manifoldLoss: 'upstream' must hold numbers");
        upstream[i] = x.As<Napi::Number>().DoubleValue();
      }
    }

    return PromiseWorker<LossResult>::Start(
        env,
        [=]() mutable {
          LossResult r;
          r.doublePrecision = !student.empty() && student[0].scalar_type() == at::kDouble && dtype.empty();
          const at::Device dev = device == "cuda" ? at::Device(at::kCUDA) : at::Device(at::kCPU);
          auto convert = [&](at::Tensor x) {
            if (!dtype.empty()) x = x.to(dtype == "float64" ? at::kDouble : dtype == "bfloat16" ? at::kBFloat16 : at::kFloat);
            return x.to(dev);
          };
          for (auto& s : student) {
            s = convert(s);
            if (backward) s = s.detach().requires_grad_(true);
          }
          for (auto& t : teacher) t = convert(t);
          ManifoldTerms terms = hasPerms ? ManifoldLossWithPerms(student, teacher, opts, perms)
                                         : ManifoldLoss(student, teacher, opts, at::make_generator<at::CPUGeneratorImpl>(seed));
          r.sample = terms.sample.item<double>();
          r.patch = terms.patch.item<double>();
          r.rand = terms.rand.item<double>();
          r.total = terms.total.item<double>();
          r.perms = terms.perms;
          if (backward) {
            at::Tensor objective = upstream[0] == 1 && upstream[1] == 1 && upstream[2] == 1
                                       ? terms.total
                                       : terms.sample * upstream[0] + terms.patch * upstream[1] + terms.rand * upstream[2];
            auto grads = torch::autograd::grad({objective}, student, {}, false, false, /*allow_unused=*/true);
            for (size_t i = 0; i < grads.size(); ++i) {
              at::Tensor g = grads[i].defined() ? grads[i] : at::zeros_like(student[i]);
              const double norm = g.norm().item<double>();  // a reduction: no gradient-sized temporary
              r.gradNormSq.push_back(norm * norm);
              if (returnGrad) r.grads.push_back(g.to(at::kCPU));
            }
          }
          return r;
        },
        [](Napi::Env env, LossResult& r) -> Napi::Value {
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
              grads.Set(static_cast<uint32_t>(i), r.doublePrecision ? Napi::Value(ToFloat64Array(env, r.grads[i]))
                                                                    : Napi::Value(ToFloat32Array(env, r.grads[i])));
            }
            out.Set("gradStudent", grads);
          }
          return out;
        },
        keepAlive);
  });
}

}  // namespace

void RegisterManifoldLoss(Napi::Env env, Napi::Object exports) {
  exports.Set("manifoldLoss", Napi::Function::New(env, ManifoldLossJs, "manifoldLoss"));
}

}  // namespace mdistill
