#include "napi/batch_from_js.h"

#include "napi/errors.h"
#include "napi/options_reader.h"
#include "napi/tensor_bridge.h"

namespace mdistill {

BatchView BatchFromJs(const Napi::Value& value, const std::string& what) {
  OptionsReader batch(value, what);
  BatchView out;
  const auto shape = batch.IntList("shape");
  if (shape.size() != 4) throw Error(codes::kShapeMismatch, what + ": images must be [B, C, H, W]");
  const int64_t b = shape[0];
  out.images = ViewFloat32(batch.Value("images"), shape, what + ".images");
  out.keepAlive.push_back(batch.Value("images"));
  if (batch.Has("labels")) {
    Napi::Value labels = batch.Value("labels");
    if (!labels.IsTypedArray() || labels.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
      throw Error(codes::kBadArgument, what + ".labels must be an Int32Array");
    }
    auto array = labels.As<Napi::Int32Array>();
    if (static_cast<int64_t>(array.ElementLength()) != b) {
      throw Error(codes::kShapeMismatch, what + ".labels has " + std::to_string(array.ElementLength()) + " entries for a batch of " + std::to_string(b));
    }
    out.labels = at::from_blob(array.Data(), {b}, at::kInt).to(at::kLong);
    out.keepAlive.push_back(labels);
  }
  if (batch.Has("targets")) {
    Napi::Value targets = batch.Value("targets");
    if (!targets.IsTypedArray() || targets.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
      throw Error(codes::kBadArgument, what + ".targets must be a Float32Array");
    }
    const auto n = static_cast<int64_t>(targets.As<Napi::Float32Array>().ElementLength());
    if (b == 0 || n % b != 0) {
      throw Error(codes::kShapeMismatch, what + ".targets has " + std::to_string(n) + " entries, not a multiple of the batch of " + std::to_string(b));
    }
    out.targets = ViewFloat32(targets, {b, n / b}, what + ".targets");
    out.keepAlive.push_back(targets);
  }
  return out;
}

}  // namespace mdistill
