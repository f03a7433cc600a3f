// Fused CUDA kernels of the manifold loss for one layer pair, over raw device pointers (no ATen: they build with
// nvcc alone). Same math as the CPU kernel (native/loss/manifold_cpu_kernel.h): every relation matrix is formed
// 16x16 tile by tile in shared memory, squared and summed, and, for the gradient, multiplied straight back into the
// rows it came from; nothing of size B*N*N, N*B*B or K*K ever reaches global memory.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

namespace mdistill::cuda {

// Features of one pair: s [B, N, ds] and t [B, N, dt] with unit feature stride; rows may be strided.
template <typename T>
struct PairView {
  const T* s = nullptr;
  int64_t sBatchStride = 0, sRowStride = 0;
  const T* t = nullptr;
  int64_t tBatchStride = 0, tRowStride = 0;
  int64_t batch = 0, tokens = 0, ds = 0, dt = 0;
  const int64_t* perm = nullptr;  // device, K distinct rows of the B*N rows
  int64_t k = 0;
  // nullptr: values only. Else zero-initialised, shaped like s: receives sum_t scale_t * d(sum of squares_t)/ds.
  T* grad = nullptr;
  int64_t gBatchStride = 0, gRowStride = 0;
};

struct TermFactors {
  double sample = 0, patch = 0, rand = 0;
};

// Bytes of device scratch LaunchManifoldPairKernels needs (row norms and the three sums).
size_t ManifoldCudaWorkspaceBytes(int64_t batch, int64_t tokens, size_t elementSize);

// Launches the kernels of one pair on `stream`: sums of squared relation differences (sample, patch, rand) into
// hostSums[3], and the gradient when view.grad is set. Synchronises the stream before returning the sums. The
// tensor-level entry point over it is loss::ManifoldPairCuda (manifold_cuda_launcher.h).
template <typename T>
cudaError_t LaunchManifoldPairKernels(const PairView<T>& view, const TermFactors& gradScales, void* workspace,
                                      double* hostSums, cudaStream_t stream);

}  // namespace mdistill::cuda
