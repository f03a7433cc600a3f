#include "napi/tensor_bridge.h"

#include <cstring>

#include "napi/errors.h"

namespace mdistill {

namespace {

int64_t NumelOf(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string ShapeString(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

template <typename Array>
at::Tensor ViewTyped(const Napi::Value& value, const std::vector<int64_t>& shape, const std::string& what,
                     napi_typedarray_type expected, const char* expectedName, at::ScalarType dtype) {
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != expected) {
    throw Error(codes::kBadArgument, what + " must be a " + expectedName);
  }
  auto array = value.As<Array>();
  const int64_t numel = NumelOf(shape);
  if (static_cast<int64_t>(array.ElementLength()) != numel) {
    throw Error(codes::kShapeMismatch, what + " has " + std::to_string(array.ElementLength()) +
                                           " elements but shape " + ShapeString(shape) + " needs " +
                                           std::to_string(numel));
  }
  return at::from_blob(array.Data(), shape, at::TensorOptions().dtype(dtype));
}

}  // namespace

std::vector<int64_t> ShapeFromJs(const Napi::Value& value, const std::string& what) {
  if (!value.IsArray()) throw Error(codes::kBadArgument, what + " must be an array of integers");
  auto array = value.As<Napi::Array>();
  std::vector<int64_t> shape;
  for (uint32_t i = 0; i < array.Length(); ++i) {
    Napi::Value v = array.Get(i);
    double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
    if (d < 0 || d != static_cast<double>(static_cast<int64_t>(d))) {
      throw Error(codes::kBadArgument, what + "[" + std::to_string(i) + "] must be a non-negative integer");
    }
    shape.push_back(static_cast<int64_t>(d));
  }
  return shape;
}

at::Tensor ViewFloat32(const Napi::Value& value, const std::vector<int64_t>& shape, const std::string& what) {
  return ViewTyped<Napi::Float32Array>(value, shape, what, napi_float32_array, "Float32Array", at::kFloat);
}

at::Tensor ViewFloat64(const Napi::Value& value, const std::vector<int64_t>& shape, const std::string& what) {
  return ViewTyped<Napi::Float64Array>(value, shape, what, napi_float64_array, "Float64Array", at::kDouble);
}

Napi::Float32Array ToFloat32Array(Napi::Env env, const at::Tensor& tensor) {
  at::Tensor t = tensor.detach().to(at::kCPU, at::kFloat).contiguous();
  auto out = Napi::Float32Array::New(env, t.numel());
  if (t.numel() > 0) std::memcpy(out.Data(), t.data_ptr<float>(), t.numel() * sizeof(float));
  return out;
}

Napi::Float64Array ToFloat64Array(Napi::Env env, const at::Tensor& tensor) {
  at::Tensor t = tensor.detach().to(at::kCPU, at::kDouble).contiguous();
  auto out = Napi::Float64Array::New(env, t.numel());
  if (t.numel() > 0) std::memcpy(out.Data(), t.data_ptr<double>(), t.numel() * sizeof(double));
  return out;
}

Napi::Array ShapeToJs(Napi::Env env, at::IntArrayRef shape) {
  auto out = Napi::Array::New(env, shape.size());
  for (size_t i = 0; i < shape.size(); ++i) out.Set(static_cast<uint32_t>(i), Napi::Number::New(env, shape[i]));
  return out;
}

Napi::Array NamedTensorsToJs(Napi::Env env, const std::vector<std::pair<std::string, at::Tensor>>& entries) {
  auto out = Napi::Array::New(env, entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    auto entry = Napi::Object::New(env);
    entry.Set("name", entries[i].first);
    entry.Set("shape", ShapeToJs(env, entries[i].second.sizes()));
    entry.Set("data", ToFloat32Array(env, entries[i].second));
    out.Set(static_cast<uint32_t>(i), entry);
  }
  return out;
}

}  // namespace mdistill
