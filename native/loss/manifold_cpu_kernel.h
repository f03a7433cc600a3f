// The fused CPU manifold loss of one layer pair: no B*N*N / N*B*B / K*K tensor is ever materialised. Each
// image (patch term), patch position (sample term) and the random row set is one small problem whose relation
// matrix lives in a per-thread workspace: D = T T^T - S S^T by two symmetric rank-k updates (half a GEMM each),
// sum(D^2) from its upper triangle, and, when a gradient is wanted, d sum(D^2) / dS = -4 D S by one GEMM on
// the mirrored D, pushed through the L2 normalisation of the rows.
#pragma once
#include <ATen/ATen.h>

#include "loss/manifold_options.h"

namespace mdistill::loss {

// s [B, N, ds], t [B, N, dt]: float or double, same dtype, CPU, unit feature stride (rows may be strided).
// perm: int64 [K] distinct rows of the B*N rows. grad: nullptr, or a zero-initialised tensor shaped and strided
// like s (unit feature stride) that receives sum over terms of scale * d(sum of squares)/ds.
PairSums ManifoldPairCpu(const at::Tensor& s, const at::Tensor& t, const at::Tensor& perm, at::Tensor* grad,
                         const TermScales& scales);

}  // namespace mdistill::loss
