#include "cuda/manifold_cuda_launcher.h"

#ifdef MDISTILL_WITH_CUDA
#include <c10/cuda/CUDAStream.h>
#include <c10/cuda/CUDAGuard.h>

#include "core/error.h"
#include "cuda/manifold_cuda.h"

namespace mdistill::loss {

namespace {

template <typename T>
PairSums Launch(const at::Tensor& s, const at::Tensor& t, const at::Tensor& perm, at::Tensor* grad,
                const TermScales& scales) {
  cuda::PairView<T> v;
  v.s = s.data_ptr<T>();
  v.sBatchStride = s.stride(0);
  v.sRowStride = s.stride(1);
  v.t = t.data_ptr<T>();
  v.tBatchStride = t.stride(0);
  v.tRowStride = t.stride(1);
  v.batch = s.size(0);
  v.tokens = s.size(1);
  v.ds = s.size(2);
  v.dt = t.size(2);
  v.perm = perm.data_ptr<int64_t>();
  v.k = perm.numel();
  if (grad != nullptr) {
    v.grad = grad->data_ptr<T>();
    v.gBatchStride = grad->stride(0);
    v.gRowStride = grad->stride(1);
  }
  const size_t bytes = cuda::ManifoldCudaWorkspaceBytes(v.batch, v.tokens, sizeof(T));
  at::Tensor workspace = at::empty({static_cast<int64_t>(bytes)}, s.options().dtype(at::kByte));
  double sums[3];
  const cudaError_t err = cuda::LaunchManifoldPairKernels<T>(v, cuda::TermFactors{scales.sample, scales.patch, scales.rand},
                                                    workspace.data_ptr(), sums, c10::cuda::getCurrentCUDAStream().stream());
  if (err != cudaSuccess) {
    throw Error(codes::kInternal, std::string("manifold loss CUDA kernel failed: ") + cudaGetErrorString(err));
  }
  return {sums[0], sums[1], sums[2]};
}

}  // namespace

PairSums ManifoldPairCuda(const at::Tensor& s, const at::Tensor& t, const at::Tensor& perm, at::Tensor* grad,
                          const TermScales& scales) {
  TORCH_CHECK(s.is_cuda() && t.is_cuda() && perm.is_cuda() && s.device() == t.device() && perm.device() == s.device(),
              "ManifoldPairCuda: tensors must be on one CUDA device");
  TORCH_CHECK(s.scalar_type() == t.scalar_type(), "ManifoldPairCuda: student and teacher dtypes differ");
  TORCH_CHECK(s.stride(2) == 1 && t.stride(2) == 1, "ManifoldPairCuda: features need a unit stride");
  TORCH_CHECK(perm.scalar_type() == at::kLong && perm.is_contiguous(), "ManifoldPairCuda: perm must be contiguous int64");
  if (grad) TORCH_CHECK(grad->sizes() == s.sizes() && grad->stride(2) == 1 && grad->scalar_type() == s.scalar_type() &&
                            grad->device() == s.device(), "ManifoldPairCuda: grad must match the student features");
  const c10::cuda::CUDAGuard guard(s.device());
  if (grad) grad->zero_();  // the kernels accumulate their terms; the contract is "overwritten"
  if (s.scalar_type() == at::kDouble) return Launch<double>(s, t, perm, grad, scales);
  TORCH_CHECK(s.scalar_type() == at::kFloat, "ManifoldPairCuda: float or double features expected");
  return Launch<float>(s, t, perm, grad, scales);
}

}  // namespace mdistill::loss
#endif  // MDISTILL_WITH_CUDA
