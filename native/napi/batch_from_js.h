// A batch as TypeScript hands it over: {images: Float32Array, shape: [B, C, H, W], labels?: Int32Array,
// targets?: Float32Array} (src/data/batch.ts). Viewed without a copy; the arrays stay referenced by keepAlive.
#pragma once
#include <ATen/ATen.h>
#include <napi.h>

#include <string>
#include <vector>

namespace mdistill {

struct BatchView {
  at::Tensor images;   // [B, C, H, W] float32 over the JS memory
  at::Tensor labels;   // [B] int64, or undefined when the batch has none
  at::Tensor targets;  // [B, classes] float32 soft targets, or undefined
  std::vector<Napi::Value> keepAlive;
};

// Throws Error(kBadArgument / kShapeMismatch) naming `what` and the field at fault.
BatchView BatchFromJs(const Napi::Value& value, const std::string& what);

}  // namespace mdistill
