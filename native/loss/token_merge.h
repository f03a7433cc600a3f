// Dropping extra (class/distillation) tokens and merging g x g token groups, as the official ManifoldKD `merge`.
#pragma once
#include <ATen/ATen.h>

#include "loss/manifold_options.h"

namespace mdistill::loss {

// [B, Ns, ds] -> [B, N, g^2 ds] for the student side of `plan` (a view when nothing is merged).
at::Tensor PrepareStudent(const at::Tensor& features, const PairPlan& plan);
at::Tensor PrepareTeacher(const at::Tensor& features, const PairPlan& plan);

// Token merge of a [B, n*n, C] grid: every g x g group becomes one token, its features concatenated row-major.
at::Tensor MergeTokens(const at::Tensor& x, int64_t grid, int64_t factor);

// The inverse of PrepareStudent for a gradient: [B, N, g^2 ds] -> [B, Ns, ds], zero on the dropped tokens.
at::Tensor UnprepareStudentGrad(const at::Tensor& grad, const PairPlan& plan, at::IntArrayRef studentShape);

}  // namespace mdistill::loss
