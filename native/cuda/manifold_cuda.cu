#include "manifold_cuda.h"

namespace mdistill::cuda {

namespace {

constexpr int kTile = 16;
constexpr double kEps = 1e-12;  // F.normalize's eps

enum Term { kSample = 0, kPatch = 1, kRand = 2 };

template <typename T>
struct Rows {
  PairView<T> v;
  const T* invS;  // [B*N] 1 / max(||row||, eps)
  const T* invT;
  // (b, i) of row r of problem p.
  __device__ void At(int term, int64_t p, int64_t r, int64_t& b, int64_t& i) const {
    if (term == kPatch) {
      b = p;
      i = r;
    } else if (term == kSample) {
      b = r;
      i = p;
    } else {
      const int64_t row = v.perm[r];
      b = row / v.tokens;
      i = row % v.tokens;
    }
  }
};

// One warp per row: inv[row] = 1 / max(||x_row||, eps).
template <typename T>
__global__ void RowInvNorms(const T* x, int64_t batchStride, int64_t rowStride, int64_t B, int64_t N, int64_t d, T* inv) {
  const int64_t row = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
  const int lane = threadIdx.x % 32;
  if (row >= B * N) return;
  const T* p = x + (row / N) * batchStride + (row % N) * rowStride;
  double sq = 0;
  for (int64_t c = lane; c < d; c += 32) sq += static_cast<double>(p[c]) * p[c];
  for (int off = 16; off > 0; off /= 2) sq += __shfl_down_sync(0xffffffffu, sq, off);
  if (lane == 0) inv[row] = static_cast<T>(1.0 / fmax(sqrt(sq), kEps));
}

// Gram entries of a 16x16 tile: sum_k x[i][k] x[j][k] for rows i of tile ti and j of tile tj, via shared memory.
template <typename T>
__device__ T TileDot(const T* base, int64_t batchStride, int64_t rowStride, int64_t d, const int64_t* bi, const int64_t* ii,
                     const int64_t* bj, const int64_t* ij, int validI, int validJ, T (*sa)[kTile + 1], T (*sb)[kTile + 1]) {
  const int tx = threadIdx.x, ty = threadIdx.y;
  T acc = 0;
  for (int64_t k0 = 0; k0 < d; k0 += kTile) {
    const int64_t k = k0 + tx;
    sa[ty][tx] = (ty < validI && k < d) ? base[bi[ty] * batchStride + ii[ty] * rowStride + k] : T(0);
    sb[ty][tx] = (ty < validJ && k < d) ? base[bj[ty] * batchStride + ij[ty] * rowStride + k] : T(0);
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < kTile; ++kk) acc += sa[ty][kk] * sb[tx][kk];
    __syncthreads();
  }
  return acc;
}

// Grid: (problems, row tiles). Block: 16x16. The block owns rows [16*blockIdx.y, +16) of problem blockIdx.x, walks
// every column tile j, forms D = Gt - Gs for that tile, adds sum(D^2) and, with a gradient, adds
// scale * -4 * D * Sn into the gradient rows it owns (no other block touches them during this launch).
template <typename T>
__global__ void RelationTiles(Rows<T> rows, int term, int64_t R, double gradScale, double* sums) {
  __shared__ T sa[kTile][kTile + 1];
  __shared__ T sb[kTile][kTile + 1];
  __shared__ T dTile[kTile][kTile + 1];
  __shared__ int64_t bi[kTile], ii[kTile], bj[kTile], ij[kTile];
  __shared__ T invSi[kTile], invTi[kTile], invSj[kTile], invTj[kTile];
  __shared__ double partial[kTile * kTile];
  const PairView<T>& v = rows.v;
  const int tx = threadIdx.x, ty = threadIdx.y, tid = ty * kTile + tx;
  const int64_t p = blockIdx.x;
  const int64_t i0 = static_cast<int64_t>(blockIdx.y) * kTile;
  const int validI = static_cast<int>(R - i0 < kTile ? R - i0 : kTile);
  if (tid < kTile) {
    if (tid < validI) {
      rows.At(term, p, i0 + tid, bi[tid], ii[tid]);
      invSi[tid] = rows.invS[bi[tid] * v.tokens + ii[tid]];
      invTi[tid] = rows.invT[bi[tid] * v.tokens + ii[tid]];
    } else {
      bi[tid] = ii[tid] = 0;
      invSi[tid] = invTi[tid] = 0;
    }
  }
  double sq = 0;
  for (int64_t j0 = 0; j0 < R; j0 += kTile) {
    const int validJ = static_cast<int>(R - j0 < kTile ? R - j0 : kTile);
    __syncthreads();
    if (tid < kTile) {
      if (tid < validJ) {
        rows.At(term, p, j0 + tid, bj[tid], ij[tid]);
        invSj[tid] = rows.invS[bj[tid] * v.tokens + ij[tid]];
        invTj[tid] = rows.invT[bj[tid] * v.tokens + ij[tid]];
      } else {
        bj[tid] = ij[tid] = 0;
        invSj[tid] = invTj[tid] = 0;
      }
    }
    __syncthreads();
    const T gt = TileDot(v.t, v.tBatchStride, v.tRowStride, v.dt, bi, ii, bj, ij, validI, validJ, sa, sb);
    const T gs = TileDot(v.s, v.sBatchStride, v.sRowStride, v.ds, bi, ii, bj, ij, validI, validJ, sa, sb);
    const T d = gt * invTi[ty] * invTj[tx] - gs * invSi[ty] * invSj[tx];  // zero outside the valid rows
    sq += static_cast<double>(d) * d;
    if (v.grad != nullptr) {
      dTile[ty][tx] = d;
      __syncthreads();
      if (ty < validI) {
        T* g = v.grad + bi[ty] * v.gBatchStride + ii[ty] * v.gRowStride;
        for (int64_t c = tx; c < v.ds; c += kTile) {
          T acc = 0;
          for (int j = 0; j < validJ; ++j) acc += dTile[ty][j] * v.s[bj[j] * v.sBatchStride + ij[j] * v.sRowStride + c] * invSj[j];
          g[c] += static_cast<T>(-4.0 * gradScale) * acc;
        }
      }
    }
  }
  partial[tid] = sq;
  __syncthreads();
  for (int stride = kTile * kTile / 2; stride > 0; stride /= 2) {
    if (tid < stride) partial[tid] += partial[tid + stride];
    __syncthreads();
  }
  if (tid == 0) atomicAdd(&sums[term], partial[0]);
}

// One warp per row: g = (g - y (y . g)) / ||x|| with y = x / ||x||, or g / eps when ||x|| <= eps.
template <typename T>
__global__ void NormalizeBackward(PairView<T> v, const T* invS) {
  const int64_t row = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
  const int lane = threadIdx.x % 32;
  if (row >= v.batch * v.tokens) return;
  const int64_t b = row / v.tokens, i = row % v.tokens;
  const T* x = v.s + b * v.sBatchStride + i * v.sRowStride;
  T* g = v.grad + b * v.gBatchStride + i * v.gRowStride;
  const double inv = invS[row];
  if (inv >= 1.0 / kEps * (1 - 1e-6)) {
    for (int64_t c = lane; c < v.ds; c += 32) g[c] = static_cast<T>(g[c] * inv);
    return;
  }
  double dot = 0;
  for (int64_t c = lane; c < v.ds; c += 32) dot += static_cast<double>(x[c]) * g[c];
  for (int off = 16; off > 0; off /= 2) dot += __shfl_down_sync(0xffffffffu, dot, off);
  dot = __shfl_sync(0xffffffffu, dot, 0) * inv;  // y . g
  for (int64_t c = lane; c < v.ds; c += 32) g[c] = static_cast<T>((g[c] - x[c] * inv * dot) * inv);
}

size_t AlignUp(size_t n) { return (n + 255) / 256 * 256; }

}  // namespace

size_t ManifoldCudaWorkspaceBytes(int64_t batch, int64_t tokens, size_t elementSize) {
  return AlignUp(3 * sizeof(double)) + 2 * AlignUp(static_cast<size_t>(batch * tokens) * elementSize);
}

template <typename T>
cudaError_t LaunchManifoldPairKernels(const PairView<T>& v, const TermFactors& scales, void* workspace,
                                      double* hostSums, cudaStream_t stream) {
  const int64_t rowsTotal = v.batch * v.tokens;
  auto* sums = static_cast<double*>(workspace);
  T* invS = reinterpret_cast<T*>(static_cast<char*>(workspace) + AlignUp(3 * sizeof(double)));
  T* invT = reinterpret_cast<T*>(reinterpret_cast<char*>(invS) + AlignUp(static_cast<size_t>(rowsTotal) * sizeof(T)));
  cudaError_t err = cudaMemsetAsync(sums, 0, 3 * sizeof(double), stream);
  if (err != cudaSuccess) return err;
  const int warpsPerBlock = 8;
  const unsigned rowBlocks = static_cast<unsigned>((rowsTotal + warpsPerBlock - 1) / warpsPerBlock);
  RowInvNorms<<<rowBlocks, 32 * warpsPerBlock, 0, stream>>>(v.s, v.sBatchStride, v.sRowStride, v.batch, v.tokens, v.ds, invS);
  RowInvNorms<<<rowBlocks, 32 * warpsPerBlock, 0, stream>>>(v.t, v.tBatchStride, v.tRowStride, v.batch, v.tokens, v.dt, invT);
  const Rows<T> rows{v, invS, invT};
  const dim3 block(kTile, kTile);
  // The three terms run one after another: the rows a block owns in one term belong to other blocks in the next.
  auto launch = [&](int term, int64_t problems, int64_t R, double scale) {
    const dim3 grid(static_cast<unsigned>(problems), static_cast<unsigned>((R + kTile - 1) / kTile));
    RelationTiles<<<grid, block, 0, stream>>>(rows, term, R, scale, sums);
  };
  launch(kPatch, v.batch, v.tokens, scales.patch);
  launch(kSample, v.tokens, v.batch, scales.sample);
  launch(kRand, 1, v.k, scales.rand);
  if (v.grad != nullptr) NormalizeBackward<<<rowBlocks, 32 * warpsPerBlock, 0, stream>>>(v, invS);
  err = cudaGetLastError();
  if (err != cudaSuccess) return err;
  err = cudaMemcpyAsync(hostSums, sums, 3 * sizeof(double), cudaMemcpyDeviceToHost, stream);
  if (err != cudaSuccess) return err;
  return cudaStreamSynchronize(stream);
}

template cudaError_t LaunchManifoldPairKernels<float>(const PairView<float>&, const TermFactors&, void*, double*, cudaStream_t);
template cudaError_t LaunchManifoldPairKernels<double>(const PairView<double>&, const TermFactors&, void*, double*, cudaStream_t);

}  // namespace mdistill::cuda
