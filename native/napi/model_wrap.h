// The JS class `Model`: a native ViT/DeiT, CaiT or Swin built from a ModelConfig object.
#pragma once
#include <napi.h>

#include <memory>
#include <mutex>
#include <string>

#include "model/bf16_replica.h"
#include "model/model.h"

namespace mdistill {

class ModelWrap : public Napi::ObjectWrap<ModelWrap> {
 public:
  static Napi::Function Define(Napi::Env env);
  // The wrapper behind a JS `Model` object, for native code (the training step) that receives one.
  // Throws Error(kBadArgument) naming `what` when the value is not a Model.
  static ModelWrap* From(const Napi::Value& value, const std::string& what);

  explicit ModelWrap(const Napi::CallbackInfo& info);

  const std::shared_ptr<model::Model>& model() const { return model_; }
  // Held while weights are read or written and while a forward pass runs, so neither sees a half-written model.
  const std::shared_ptr<std::mutex>& mutex() const { return mutex_; }

 private:
  Napi::Value Forward(const Napi::CallbackInfo& info);
  Napi::Value ParameterShapes(const Napi::CallbackInfo& info);
  Napi::Value GetWeights(const Napi::CallbackInfo& info);
  Napi::Value SetWeights(const Napi::CallbackInfo& info);
  Napi::Value NumParameters(const Napi::CallbackInfo& info);
  Napi::Value ParameterGradients(const Napi::CallbackInfo& info);

  std::shared_ptr<model::Model> model_;
  std::shared_ptr<model::Bf16Replica> bf16_;  // forward with amp: built on first use, refreshed after weight changes
  std::shared_ptr<std::mutex> mutex_ = std::make_shared<std::mutex>();
};

}  // namespace mdistill
