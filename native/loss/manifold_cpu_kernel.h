// The fused CPU manifold loss of one layer pair: no B*N*N / N*B*B / K*K tensor is ever materialised. Each
// image (patch term), patch position (sample term) and the random row set is one small problem whose relation
// matrix lives in a per-thread workspace: the Grams of the raw token rows by SYRK (half a GEMM each, reading the
// rows in place), the L2 normalisation folded in as diag(inv) G diag(inv), sum(D^2) from the upper triangle, and,
// when a gradient is wanted, one SYMM of the symmetric diag(inv) D diag(inv) with the raw rows, pushed through the
// normalisation at the end.
#pragma once
#include <ATen/ATen.h>

#include "loss/manifold_options.h"

namespace mdistill::loss {

// s [B, N, ds], t [B, N, dt]: float or double, same dtype, CPU, unit feature stride (rows may be strided).
// perm: int64 [K] distinct rows of the B*N rows. grad: nullptr, or a tensor shaped like s (unit feature stride) that
// is overwritten with the sum over terms of scale * d(sum of squares)/ds.
PairSums ManifoldPairCpu(const at::Tensor& s, const at::Tensor& t, const at::Tensor& perm, at::Tensor* grad,
                         const TermScales& scales);

}  // namespace mdistill::loss
