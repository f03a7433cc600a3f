// The manifold distillation loss (fine-grained manifold distillation, NeurIPS 2022) over a list of layer pairs.
// Entry point for the native training step and the N-API binding. The fused path is its own autograd Function:
// no relation matrix is kept for backward (it keeps the student inputs, the teacher inputs and, when the
// gradient is wanted, the student gradient it computed while the relation tiles were hot).
#pragma once
#include <ATen/ATen.h>

#include <vector>

#include "loss/manifold_options.h"

namespace mdistill::loss {

// Draws each pair's K rows (K clamped to B*N) from `gen`, then computes the loss. Student features may require
// grad; teacher features never receive one. CPU (fused or naive), or CUDA (fused) when built with CUDA.
ManifoldTerms ManifoldLoss(const std::vector<at::Tensor>& student, const std::vector<at::Tensor>& teacher,
                           const ManifoldOptions& opts, at::Generator gen);

// Same, with the random rows given: perms[i] holds min(K, B*N) distinct rows in [0, B*N) of pair i.
ManifoldTerms ManifoldLossWithPerms(const std::vector<at::Tensor>& student, const std::vector<at::Tensor>& teacher,
                                    const ManifoldOptions& opts, const std::vector<at::Tensor>& perms);

// The rows ManifoldLoss would draw: randperm(B*N, gen)[:K] per pair, like the official code.
std::vector<at::Tensor> DrawManifoldRows(const std::vector<PairPlan>& plans, int64_t k, at::Generator gen);

}  // namespace mdistill::loss
