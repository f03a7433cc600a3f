#include "loss/manifold_cpu_kernel.h"

#include <ATen/Parallel.h>

#include <cmath>
#include <type_traits>
#include <vector>

// Reference BLAS (Fortran symbols). libtorch links the system BLAS (OpenBLAS on Debian), but ATen exposes no SYRK,
// which halves the work of every relation matrix. The symbols are weak: with a libtorch that bundles its BLAS
// privately (e.g. MKL in the official zip) they resolve to null and the kernel falls back to ATen's mm.
extern "C" {
void ssyrk_(const char* uplo, const char* trans, const int* n, const int* k, const float* alpha, const float* a,
            const int* lda, const float* beta, float* c, const int* ldc) __attribute__((weak));
void dsyrk_(const char* uplo, const char* trans, const int* n, const int* k, const double* alpha, const double* a,
            const int* lda, const double* beta, double* c, const int* ldc) __attribute__((weak));
void sgemm_(const char* ta, const char* tb, const int* m, const int* n, const int* k, const float* alpha, const float* a,
            const int* lda, const float* b, const int* ldb, const float* beta, float* c, const int* ldc) __attribute__((weak));
void dgemm_(const char* ta, const char* tb, const int* m, const int* n, const int* k, const double* alpha, const double* a,
            const int* lda, const double* b, const int* ldb, const double* beta, double* c, const int* ldc) __attribute__((weak));
}

namespace mdistill::loss {

namespace {

constexpr double kEps = 1e-12;  // F.normalize's eps

template <typename T>
at::Tensor Wrap(const T* p, int64_t rows, int64_t cols) {
  return at::from_blob(const_cast<T*>(p), {rows, cols}, at::TensorOptions().dtype(c10::CppTypeToScalarType<T>::value));
}

// c [n, n] = alpha * x x^T + beta * c for row-major x [n, k]; only the upper triangle (column-major) is guaranteed.
template <typename T>
void Syrk(int n, int k, T alpha, const T* x, T beta, T* c) {
  const char u = 'U', tr = 'T';
  if constexpr (std::is_same_v<T, float>) {
    if (ssyrk_ != nullptr) return ssyrk_(&u, &tr, &n, &k, &alpha, x, &k, &beta, c, &n);
  } else {
    if (dsyrk_ != nullptr) return dsyrk_(&u, &tr, &n, &k, &alpha, x, &k, &beta, c, &n);
  }
  at::Tensor xs = Wrap(x, n, k);
  Wrap(c, n, n).addmm_(xs, xs.t(), beta, alpha);
}

// Row-major g [n, d] = alpha * D [n, n] * x [n, d] for a full (both triangles filled) symmetric D.
template <typename T>
void SymMul(int n, int d, T alpha, const T* D, const T* x, T* g) {
  const char nn = 'N';
  const T zero = 0;
  if constexpr (std::is_same_v<T, float>) {
    if (sgemm_ != nullptr) return sgemm_(&nn, &nn, &d, &n, &n, &alpha, x, &d, D, &n, &zero, g, &d);
  } else {
    if (dgemm_ != nullptr) return dgemm_(&nn, &nn, &d, &n, &n, &alpha, x, &d, D, &n, &zero, g, &d);
  }
  Wrap(g, n, d).addmm_(Wrap(D, n, n), Wrap(x, n, d), 0, alpha);
}

// Copies a row and scales it to unit length; returns 1 / max(||row||, eps).
template <typename T>
T NormalizeRow(const T* src, int64_t d, T* dst) {
  double sq = 0;
  for (int64_t c = 0; c < d; ++c) sq += static_cast<double>(src[c]) * src[c];
  const T inv = static_cast<T>(1.0 / std::max(std::sqrt(sq), kEps));
  for (int64_t c = 0; c < d; ++c) dst[c] = src[c] * inv;
  return inv;
}

// Per-thread scratch for one relation problem of up to `rows` rows.
template <typename T>
struct Workspace {
  std::vector<T> s, t, d, g;
  Workspace(int64_t rows, int64_t ds, int64_t dt, bool grad)
      : s(rows * ds), t(rows * dt), d(rows * rows), g(grad ? rows * ds : 0) {}
};

struct Layout {
  int64_t batchStride, rowStride;
};

// One relation problem over R rows. rowOf(r) gives (b, i) of row r. Returns sum((Dt - Ds)^2); adds
// scale * d/d(normalised rows) into gradN at the same rows when gradN != nullptr.
template <typename T, typename RowOf>
double Problem(int64_t R, const RowOf& rowOf, const T* s, Layout ls, int64_t ds, const T* t, Layout lt, int64_t dt,
               T* gradN, Layout lg, double scale, Workspace<T>& w) {
  for (int64_t r = 0; r < R; ++r) {
    const auto [b, i] = rowOf(r);
    NormalizeRow(s + b * ls.batchStride + i * ls.rowStride, ds, w.s.data() + r * ds);
    NormalizeRow(t + b * lt.batchStride + i * lt.rowStride, dt, w.t.data() + r * dt);
  }
  const int n = static_cast<int>(R);
  Syrk(n, static_cast<int>(dt), T(1), w.t.data(), T(0), w.d.data());
  Syrk(n, static_cast<int>(ds), T(-1), w.s.data(), T(1), w.d.data());
  double diag = 0, off = 0;
  for (int64_t j = 0; j < R; ++j) {
    const T* col = w.d.data() + j * R;
    for (int64_t i = 0; i < j; ++i) off += static_cast<double>(col[i]) * col[i];
    diag += static_cast<double>(col[j]) * col[j];
  }
  if (gradN != nullptr) {
    T* D = w.d.data();
    for (int64_t j = 0; j < R; ++j) {
      for (int64_t i = 0; i < j; ++i) D[i * R + j] = D[j * R + i];
    }
    SymMul(n, static_cast<int>(ds), static_cast<T>(-4.0 * scale), D, w.s.data(), w.g.data());
    for (int64_t r = 0; r < R; ++r) {
      const auto [b, i] = rowOf(r);
      T* dst = gradN + b * lg.batchStride + i * lg.rowStride;
      const T* src = w.g.data() + r * ds;
      for (int64_t c = 0; c < ds; ++c) dst[c] += src[c];
    }
  }
  return diag + 2 * off;
}

template <typename T>
PairSums Run(const at::Tensor& sT, const at::Tensor& tT, const at::Tensor& perm, at::Tensor* gradT,
             const TermScales& scales) {
  const int64_t B = sT.size(0), N = sT.size(1), ds = sT.size(2), dt = tT.size(2);
  const T* s = sT.data_ptr<T>();
  const T* t = tT.data_ptr<T>();
  const Layout ls{sT.stride(0), sT.stride(1)}, lt{tT.stride(0), tT.stride(1)};
  T* g = gradT ? gradT->data_ptr<T>() : nullptr;
  const Layout lg = gradT ? Layout{gradT->stride(0), gradT->stride(1)} : Layout{0, 0};
  const bool wantGrad = g != nullptr;
  PairSums sums;

  // Patch term: one problem per image, its N tokens.
  std::vector<double> perImage(B);
  at::parallel_for(0, B, 1, [&](int64_t begin, int64_t end) {
    Workspace<T> w(N, ds, dt, wantGrad);
    for (int64_t b = begin; b < end; ++b) {
      auto rowOf = [b](int64_t r) { return std::pair<int64_t, int64_t>{b, r}; };
      perImage[b] = Problem<T>(N, rowOf, s, ls, ds, t, lt, dt, g, lg, scales.patch, w);
    }
  });
  for (double v : perImage) sums.patch += v;

  // Sample term: one problem per token position, its B images (rows of different positions never overlap).
  std::vector<double> perPosition(N);
  at::parallel_for(0, N, 1, [&](int64_t begin, int64_t end) {
    Workspace<T> w(B, ds, dt, wantGrad);
    for (int64_t n = begin; n < end; ++n) {
      auto rowOf = [n](int64_t r) { return std::pair<int64_t, int64_t>{r, n}; };
      perPosition[n] = Problem<T>(B, rowOf, s, ls, ds, t, lt, dt, g, lg, scales.sample, w);
    }
  });
  for (double v : perPosition) sums.sample += v;

  // Random term: one problem over the K drawn rows (distinct, so the scatter never collides).
  const int64_t K = perm.numel();
  const int64_t* rows = perm.data_ptr<int64_t>();
  {
    Workspace<T> w(K, ds, dt, wantGrad);
    auto rowOf = [rows, N](int64_t r) { return std::pair<int64_t, int64_t>{rows[r] / N, rows[r] % N}; };
    sums.rand = Problem<T>(K, rowOf, s, ls, ds, t, lt, dt, g, lg, scales.rand, w);
  }

  // Through the normalisation y = x / max(||x||, eps): dx = (dy - y (y . dy)) / ||x||, or dy / eps below eps.
  if (wantGrad) {
    at::parallel_for(0, B * N, 256, [&](int64_t begin, int64_t end) {
      for (int64_t row = begin; row < end; ++row) {
        const int64_t b = row / N, i = row % N;
        const T* x = s + b * ls.batchStride + i * ls.rowStride;
        T* dy = g + b * lg.batchStride + i * lg.rowStride;
        double sq = 0;
        for (int64_t c = 0; c < ds; ++c) sq += static_cast<double>(x[c]) * x[c];
        const double norm = std::sqrt(sq);
        if (norm > kEps) {
          const double inv = 1.0 / norm;
          double dot = 0;
          for (int64_t c = 0; c < ds; ++c) dot += static_cast<double>(x[c]) * dy[c];
          dot *= inv;  // y . dy
          for (int64_t c = 0; c < ds; ++c) dy[c] = static_cast<T>((dy[c] - x[c] * inv * dot) * inv);
        } else {
          for (int64_t c = 0; c < ds; ++c) dy[c] = static_cast<T>(dy[c] / kEps);
        }
      }
    });
  }
  return sums;
}

}  // namespace

PairSums ManifoldPairCpu(const at::Tensor& s, const at::Tensor& t, const at::Tensor& perm, at::Tensor* grad,
                         const TermScales& scales) {
  TORCH_CHECK(s.scalar_type() == t.scalar_type(), "ManifoldPairCpu: student and teacher dtypes differ");
  TORCH_CHECK(s.stride(2) == 1 && t.stride(2) == 1, "ManifoldPairCpu: features need a unit stride");
  TORCH_CHECK(perm.scalar_type() == at::kLong && perm.is_contiguous(), "ManifoldPairCpu: perm must be contiguous int64");
  if (grad) TORCH_CHECK(grad->sizes() == s.sizes() && grad->stride(2) == 1 && grad->scalar_type() == s.scalar_type(),
                        "ManifoldPairCpu: grad must match the student features");
  if (s.scalar_type() == at::kDouble) return Run<double>(s, t, perm, grad, scales);
  TORCH_CHECK(s.scalar_type() == at::kFloat, "ManifoldPairCpu: float or double features expected");
  return Run<float>(s, t, perm, grad, scales);
}

}  // namespace mdistill::loss
