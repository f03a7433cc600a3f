// AdamW with timm's no-decay rule, written over ATen so its state is plain named tensors
// (saved in checkpoints, restored bit-exactly on resume).
#pragma once
#include <ATen/ATen.h>

#include <string>
#include <utility>
#include <vector>

namespace mdistill::train {

struct AdamWOptions {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weightDecay = 0.05;
};

// timm's rule: no weight decay on 1-D parameters, biases, pos_embed, cls_token and dist_token.
bool DecaysWeight(const std::string& name, const at::Tensor& param);

class AdamW {
 public:
  AdamW(std::vector<std::pair<std::string, at::Tensor>> params, AdamWOptions options);

  // One update with learning rate `lr` from the parameters' .grad().
  void Step(double lr);
  void ZeroGrad();

  int64_t steps() const { return steps_; }
  // exp_avg.<name> and exp_avg_sq.<name> for every parameter.
  std::vector<std::pair<std::string, at::Tensor>> State() const;
  // Restores what State() returned; throws naming a missing or mis-shaped entry.
  void LoadState(const std::vector<std::pair<std::string, at::Tensor>>& state, int64_t steps);
  std::vector<std::string> NoDecayNames() const;

 private:
  struct Slot {
    std::string name;
    at::Tensor param, expAvg, expAvgSq;
    bool decay;
  };
  std::vector<Slot> slots_;
  AdamWOptions options_;
  int64_t steps_ = 0;
};

}  // namespace mdistill::train
