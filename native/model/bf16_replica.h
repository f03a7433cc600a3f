// A bfloat16 copy of a model, for inference under --amp: the teacher of a distillation step (it needs no gradient)
// and `forward` with amp. Its whole forward runs in bfloat16: the GEMM layer's products take and return bfloat16
// (accumulating in float32), and LayerNorm, softmax and GELU read and write bfloat16.
#pragma once
#include <ATen/ATen.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "model/model.h"

namespace mdistill::model {

class Bf16Replica {
 public:
  explicit Bf16Replica(std::shared_ptr<const Model> source);

  // The replica, built on the first call and refreshed whenever a source parameter changed since the previous
  // call (a weight load or an optimizer step moves its version counter); a frozen teacher converts once.
  // Thread-safe; the returned model stays valid while this object lives, but is refreshed by the next call.
  std::shared_ptr<const Model> Get();

 private:
  std::shared_ptr<const Model> source_;
  std::shared_ptr<Model> replica_;
  std::vector<int64_t> versions_;
  std::mutex mutex_;
};

}  // namespace mdistill::model
