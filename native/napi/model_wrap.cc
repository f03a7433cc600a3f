#include "napi/model_wrap.h"

#include <c10/core/InferenceMode.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <unordered_map>

#include "core/device.h"
#include "model/parameter_gradients.h"
#include "napi/errors.h"
#include "napi/modules.h"
#include "napi/options_reader.h"
#include "napi/promise_worker.h"
#include "napi/tensor_bridge.h"

namespace mdistill {

namespace {

// Marks JS objects made by this class, so From() can reject look-alikes (N-API 8 type tags).
constexpr napi_type_tag kModelTag = {0x6d64697374696c6cULL, 0x4d6f64656c577261ULL};

std::string Dims(at::IntArrayRef shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// Checked before the input array is viewed, so the error names the method and the model's expected shape.
void CheckInputShape(const std::vector<int64_t>& shape, const model::ModelConfig& c, const char* method) {
  if (shape.size() != 4 || shape[1] != c.inChans || shape[2] != c.imgSize || shape[3] != c.imgSize || shape[0] < 1) {
    throw Error(codes::kShapeMismatch, std::string(method) + ": input shape " + Dims(shape) + " does not match the model's [B, " +
                                           std::to_string(c.inChans) + ", " + std::to_string(c.imgSize) + ", " +
                                           std::to_string(c.imgSize) + "]");
  }
}

model::ModelConfig ConfigFromJs(const OptionsReader& o) {
  model::ModelConfig c;
  const std::string arch = o.String("arch", {"vit", "cait", "swin"});
  c.arch = arch == "cait" ? model::Arch::kCait : arch == "swin" ? model::Arch::kSwin : model::Arch::kVit;
  c.imgSize = o.Integer("imgSize");
  c.patchSize = o.Integer("patchSize");
  c.inChans = o.Integer("inChans");
  c.numClasses = o.Integer("numClasses");
  c.embedDim = o.Integer("embedDim");
  c.depth = o.Integer("depth");
  c.numHeads = o.Integer("numHeads");
  c.mlpRatio = o.Number("mlpRatio");
  c.qkvBias = o.Bool("qkvBias");
  c.distilled = o.Bool("distilled");
  c.depthTokenOnly = o.Integer("depthTokenOnly");
  c.initValues = o.Number("initValues");
  c.depths = o.IntList("depths");
  c.stageHeads = o.IntList("stageHeads");
  c.windowSize = o.Integer("windowSize");
  c.dropPathRate = o.Number("dropPathRate");
  return c;
}

struct ForwardResult {
  model::ForwardOutput out;
  std::vector<int64_t> indices;
};

}  // namespace

Napi::Function ModelWrap::Define(Napi::Env env) {
  return DefineClass(env, "Model",
                     {
                         InstanceMethod<&ModelWrap::Forward>("forward"),
                         InstanceMethod<&ModelWrap::ParameterShapes>("parameterShapes"),
                         InstanceMethod<&ModelWrap::GetWeights>("getWeights"),
                         InstanceMethod<&ModelWrap::SetWeights>("setWeights"),
                         InstanceMethod<&ModelWrap::NumParameters>("numParameters"),
                         InstanceMethod<&ModelWrap::ParameterGradients>("parameterGradients"),
                     });
}

ModelWrap* ModelWrap::From(const Napi::Value& value, const std::string& what) {
  if (!value.IsObject() || !value.As<Napi::Object>().CheckTypeTag(&kModelTag)) {
    throw Error(codes::kBadArgument, what + " must be a native Model (made with new Model(config))");
  }
  return Napi::ObjectWrap<ModelWrap>::Unwrap(value.As<Napi::Object>());
}

ModelWrap::ModelWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ModelWrap>(info) {
  Napi::Env env = info.Env();
  Guarded(env, [&]() -> Napi::Value {
    if (!info.IsConstructCall()) throw Error(codes::kBadArgument, "Model is a class: use new Model(config)");
    OptionsReader o(info[0], "Model config");
    model::ModelConfig config = ConfigFromJs(o);
    const int64_t seed = o.Integer("seed");
    if (seed < 0) throw Error(codes::kBadArgument, "Model config: seed must be a non-negative integer");
    model_ = model::CreateModel(config, static_cast<uint64_t>(seed));
    bf16_ = std::make_shared<model::Bf16Replica>(model_);
    const at::Device device = ParseDevice(o.String("device"), "--device");
    if (!device.is_cpu()) model_->to(device);
    info.This().As<Napi::Object>().TypeTag(&kModelTag);
    return env.Undefined();
  });
}

Napi::Value ModelWrap::Forward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guarded(env, [&]() -> Napi::Value {
    if (info.Length() < 2) throw Error(codes::kBadArgument, "forward(input, shape, options?) takes at least 2 arguments");
    const auto shape = ShapeFromJs(info[1], "shape");
    CheckInputShape(shape, model_->config(), "forward");
    at::Tensor input = ViewFloat32(info[0], shape, "input");
    std::vector<int64_t> keep;
    bool train = false;
    bool amp = false;
    if (info.Length() > 2 && !info[2].IsUndefined()) {
      if (!info[2].IsObject()) throw Error(codes::kBadArgument, "forward: options must be an object {blocks?, train?, amp?}");
      auto options = info[2].As<Napi::Object>();
      if (options.Has("blocks") && !options.Get("blocks").IsUndefined()) keep = ShapeFromJs(options.Get("blocks"), "options.blocks");
      const auto flag = [&](const char* key, bool& out) {
        Napi::Value v = options.Get(key);
        if (v.IsUndefined()) return;
        if (!v.IsBoolean()) throw Error(codes::kBadArgument, std::string("forward: options.") + key + " must be a boolean");
        out = v.As<Napi::Boolean>().Value();
      };
      flag("train", train);
      flag("amp", amp);
    }
    model_->CheckBlocks(keep);
    auto model = model_;
    auto bf16 = amp ? bf16_ : nullptr;
    auto mutex = mutex_;
    return PromiseWorker<ForwardResult>::Start(
        env,
        [model, bf16, mutex, input, keep, train]() {
          std::lock_guard<std::mutex> lock(*mutex);
          // JS never runs a backward pass, so no autograd graph is needed even for a training-mode forward.
          c10::InferenceMode guard;
          const at::Tensor x = input.to(model->device());
          if (bf16) return ForwardResult{bf16->Get()->Forward(x.to(at::kBFloat16), keep, train), keep};
          return ForwardResult{model->Forward(x, keep, train), keep};
        },
        [](Napi::Env env, ForwardResult& r) -> Napi::Value {
          auto out = Napi::Object::New(env);
          out.Set("logits", ToFloat32Array(env, r.out.logits));
          out.Set("logitsShape", ShapeToJs(env, r.out.logits.sizes()));
          if (r.out.logitsDist.defined()) out.Set("logitsDist", ToFloat32Array(env, r.out.logitsDist));
          auto blocks = Napi::Array::New(env, r.out.blocks.size());
          for (size_t i = 0; i < r.out.blocks.size(); ++i) {
            auto b = Napi::Object::New(env);
            b.Set("index", Napi::Number::New(env, static_cast<double>(r.indices[i])));
            b.Set("shape", ShapeToJs(env, r.out.blocks[i].sizes()));
            b.Set("data", ToFloat32Array(env, r.out.blocks[i]));
            blocks.Set(static_cast<uint32_t>(i), b);
          }
          out.Set("blocks", blocks);
          return out;
        },
        {info[0]});
  });
}

Napi::Value ModelWrap::ParameterShapes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guarded(env, [&]() -> Napi::Value {
    const auto params = model_->NamedParameters();
    auto out = Napi::Array::New(env, params.size());
    for (size_t i = 0; i < params.size(); ++i) {
      auto entry = Napi::Object::New(env);
      entry.Set("name", params[i].first);
      entry.Set("shape", ShapeToJs(env, params[i].second.sizes()));
      out.Set(static_cast<uint32_t>(i), entry);
    }
    return out;
  });
}

Napi::Value ModelWrap::GetWeights(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guarded(env, [&]() -> Napi::Value {
    std::lock_guard<std::mutex> lock(*mutex_);
    return NamedTensorsToJs(env, model_->NamedParameters());
  });
}

Napi::Value ModelWrap::SetWeights(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guarded(env, [&]() -> Napi::Value {
    if (info.Length() < 1 || !info[0].IsArray()) {
      throw Error(codes::kBadArgument, "setWeights(entries) takes an array of {name, shape, data: Float32Array}");
    }
    std::unordered_map<std::string, at::Tensor> params;
    for (auto& [name, tensor] : model_->NamedParameters()) params.emplace(name, tensor);
    // Check every entry before writing any, so a bad list leaves the model unchanged.
    auto entries = info[0].As<Napi::Array>();
    std::vector<std::pair<at::Tensor, at::Tensor>> copies;
    for (uint32_t i = 0; i < entries.Length(); ++i) {
      Napi::Value e = entries.Get(i);
      if (!e.IsObject() || !e.As<Napi::Object>().Get("name").IsString()) {
        throw Error(codes::kBadArgument, "setWeights: entry " + std::to_string(i) + " must be {name: string, shape, data}");
      }
      auto entry = e.As<Napi::Object>();
      const std::string name = entry.Get("name").As<Napi::String>().Utf8Value();
      auto it = params.find(name);
      if (it == params.end()) throw Error(codes::kBadWeights, "setWeights: the model has no parameter '" + name + "'");
      const auto shape = ShapeFromJs(entry.Get("shape"), "setWeights: shape of '" + name + "'");
      if (at::IntArrayRef(shape) != it->second.sizes()) {
        throw Error(codes::kShapeMismatch, "setWeights: '" + name + "' has shape " + Dims(shape) + " but the model's is " + Dims(it->second.sizes()));
      }
      copies.emplace_back(it->second, ViewFloat32(entry.Get("data"), shape, "setWeights: data of '" + name + "'"));
    }
    std::lock_guard<std::mutex> lock(*mutex_);
    at::NoGradGuard noGrad;
    for (auto& [param, source] : copies) param.copy_(source);
    return env.Undefined();
  });
}

Napi::Value ModelWrap::NumParameters(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(model_->NumParameters()));
}

Napi::Value ModelWrap::ParameterGradients(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guarded(env, [&]() -> Napi::Value {
    if (info.Length() < 3) throw Error(codes::kBadArgument, "parameterGradients(input, shape, gradLogits) takes 3 arguments");
    const auto shape = ShapeFromJs(info[1], "shape");
    CheckInputShape(shape, model_->config(), "parameterGradients");
    at::Tensor input = ViewFloat32(info[0], shape, "input");
    at::Tensor gradLogits = ViewFloat32(info[2], {shape[0], model_->config().numClasses}, "gradLogits");
    auto model = model_;
    auto mutex = mutex_;
    using Grads = std::vector<std::pair<std::string, at::Tensor>>;
    return PromiseWorker<Grads>::Start(
        env,
        [model, mutex, input, gradLogits]() {
          std::lock_guard<std::mutex> lock(*mutex);
          return model::ParameterGradients(*model, input, gradLogits);
        },
        [](Napi::Env env, Grads& grads) -> Napi::Value { return NamedTensorsToJs(env, grads); },
        {info[0], info[2]});
  });
}

void RegisterModel(Napi::Env env, Napi::Object exports) { exports.Set("Model", ModelWrap::Define(env)); }

}  // namespace mdistill
