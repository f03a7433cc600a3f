// The torch-facing side of the CUDA manifold kernels: tensors in, raw pointers to native/cuda/manifold_cuda.cu.
// Compiled only when the addon is built with CUDA (MDISTILL_WITH_CUDA).
#pragma once
#ifdef MDISTILL_WITH_CUDA
#include <ATen/ATen.h>

#include "loss/manifold_options.h"

namespace mdistill::loss {

// CUDA twin of ManifoldPairCpu (same arguments and contract; tensors on one CUDA device, float or double).
PairSums ManifoldPairCuda(const at::Tensor& s, const at::Tensor& t, const at::Tensor& perm, at::Tensor* grad,
                          const TermScales& scales);

}  // namespace mdistill::loss
#endif
