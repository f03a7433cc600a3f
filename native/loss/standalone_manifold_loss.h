// The manifold loss computed on its own rather than inside a training step (tests, benchmarks and the TypeScript
// face src/loss/manifoldLoss.ts): features converted to the requested dtype and device, the rows drawn from a
// seed or given, and optionally the student gradients of a weighted sum of the three terms.
#pragma once
#include <ATen/ATen.h>

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "loss/manifold_options.h"

namespace mdistill::loss {

struct StandaloneManifoldRequest {
  ManifoldOptions options;
  std::optional<at::ScalarType> dtype;  // features are converted to it; unset: they keep their own
  at::Device device = at::kCPU;
  // The rows of the random term per pair (see ManifoldLossWithPerms); unset: drawn from a generator seeded by `seed`.
  std::optional<std::vector<at::Tensor>> perms;
  uint64_t seed = 0;
  bool backward = false;    // compute the student gradients (their squared norms are returned)
  bool returnGrad = false;  // also return the gradients themselves
  // The gradient is that of upstream[0]·sample + upstream[1]·patch + upstream[2]·rand (the default: of their sum).
  std::array<double, 3> upstream{1, 1, 1};
};

struct StandaloneManifoldResult {
  double sample = 0, patch = 0, rand = 0, total = 0;
  std::vector<at::Tensor> perms;   // the rows used, one int64 [K] per pair
  std::vector<double> gradNormSq;  // ‖d objective / d student[i]‖², when backward
  std::vector<at::Tensor> grads;   // d objective / d student[i] on the CPU in the compute dtype, when returnGrad
};

StandaloneManifoldResult StandaloneManifoldLoss(std::vector<at::Tensor> student, std::vector<at::Tensor> teacher,
                                                const StandaloneManifoldRequest& request);

}  // namespace mdistill::loss
