// resamplePosEmbed(data, shape, newGrid, numPrefixTokens): timm's resample_abs_pos_embed for loading weights
// trained at another image size.
#include <napi.h>

#include "model/pos_embed_resample.h"
#include "napi/errors.h"
#include "napi/modules.h"
#include "napi/tensor_bridge.h"

namespace mdistill {

namespace {

Napi::Value ResamplePosEmbedJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return Guarded(env, [&]() -> Napi::Value {
    if (info.Length() < 4) throw Error(codes::kBadArgument, "resamplePosEmbed(data, shape, newGrid, numPrefixTokens) takes 4 arguments");
    const auto shape = ShapeFromJs(info[1], "shape");
    if (shape.size() != 3 || shape[0] != 1) throw Error(codes::kShapeMismatch, "resamplePosEmbed: pos_embed shape must be [1, tokens, dim]");
    const auto grid = ShapeFromJs(info[2], "newGrid");
    if (grid.size() != 2) throw Error(codes::kBadArgument, "resamplePosEmbed: newGrid must be [height, width] in patches");
    if (!info[3].IsNumber()) throw Error(codes::kBadArgument, "resamplePosEmbed: numPrefixTokens must be a number");
    at::Tensor posEmbed = ViewFloat32(info[0], shape, "data");
    at::Tensor out = model::ResamplePosEmbed(posEmbed, {grid[0], grid[1]}, info[3].As<Napi::Number>().Int64Value());
    auto result = Napi::Object::New(env);
    result.Set("data", ToFloat32Array(env, out));
    result.Set("shape", ShapeToJs(env, out.sizes()));
    return result;
  });
}

}  // namespace

void RegisterPosEmbedResample(Napi::Env env, Napi::Object exports) {
  exports.Set("resamplePosEmbed", Napi::Function::New(env, ResamplePosEmbedJs, "resamplePosEmbed"));
}

}  // namespace mdistill
