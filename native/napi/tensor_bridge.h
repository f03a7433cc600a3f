// TypedArray <-> at::Tensor. Inputs are viewed without a copy; outputs are copied into new JS arrays.
#pragma once
#include <ATen/ATen.h>
#include <napi.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace mdistill {

// Reads a JS array of non-negative integers (a shape). `what` names the argument in errors.
std::vector<int64_t> ShapeFromJs(const Napi::Value& value, const std::string& what);

// A float32 CPU tensor over the array's memory (no copy). The caller keeps the array alive while it is used.
at::Tensor ViewFloat32(const Napi::Value& value, const std::vector<int64_t>& shape, const std::string& what);

// A float64 view, for tests that need double precision (gradcheck, fixtures).
at::Tensor ViewFloat64(const Napi::Value& value, const std::vector<int64_t>& shape, const std::string& what);

// Copies a tensor (any float dtype, any device) into a new Float32Array / Float64Array.
Napi::Float32Array ToFloat32Array(Napi::Env env, const at::Tensor& tensor);
Napi::Float64Array ToFloat64Array(Napi::Env env, const at::Tensor& tensor);

// A plain JS array holding the tensor's shape.
Napi::Array ShapeToJs(Napi::Env env, at::IntArrayRef shape);

// [{name, shape, data: Float32Array}] — how named weights, gradients and optimizer state cross to JS.
Napi::Array NamedTensorsToJs(Napi::Env env, const std::vector<std::pair<std::string, at::Tensor>>& entries);

}  // namespace mdistill
