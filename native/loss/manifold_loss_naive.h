// The paper's manifold loss in plain ATen ops, differentiated by autograd: the reference for the fused kernels
// and the `--manifold-impl naive` path. It holds every B*N*N, N*B*B and K*K relation matrix in the graph.
#pragma once
#include <ATen/ATen.h>

#include <vector>

#include "loss/manifold_options.h"

namespace mdistill::loss {

// perms[i]: int64 [K_i] rows of pair i (already validated). Teacher features are detached.
ManifoldTerms ManifoldLossNaive(const std::vector<at::Tensor>& student, const std::vector<at::Tensor>& teacher,
                                const std::vector<PairPlan>& plans, const std::vector<at::Tensor>& perms,
                                const ManifoldOptions& opts);

}  // namespace mdistill::loss
