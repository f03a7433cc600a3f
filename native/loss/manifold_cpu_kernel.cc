#include "loss/manifold_cpu_kernel.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

// Reference BLAS (Fortran symbols). libtorch links the system BLAS (OpenBLAS on Debian), but ATen exposes no SYRK,
// which saves a third of the time of every relation matrix, nor SYMM, which reads only one triangle. The symbols
// are weak: with a libtorch that bundles its BLAS privately (e.g. MKL in the official zip) they resolve to null and
// the kernel falls back to ATen's mm.
extern "C" {
void ssyrk_(const char* uplo, const char* trans, const int* n, const int* k, const float* alpha, const float* a,
            const int* lda, const float* beta, float* c, const int* ldc) __attribute__((weak));
void dsyrk_(const char* uplo, const char* trans, const int* n, const int* k, const double* alpha, const double* a,
            const int* lda, const double* beta, double* c, const int* ldc) __attribute__((weak));
void ssymm_(const char* side, const char* uplo, const int* m, const int* n, const float* alpha, const float* a,
            const int* lda, const float* b, const int* ldb, const float* beta, float* c, const int* ldc) __attribute__((weak));
void dsymm_(const char* side, const char* uplo, const int* m, const int* n, const double* alpha, const double* a,
            const int* lda, const double* b, const int* ldb, const double* beta, double* c, const int* ldc) __attribute__((weak));
}

namespace mdistill::loss {

namespace {

constexpr double kEps = 1e-12;  // F.normalize's eps

template <typename T>
constexpr at::ScalarType kScalar = c10::CppTypeToScalarType<T>::value;

// A row-major [rows, cols] view of memory whose rows are `ld` elements apart.
template <typename T>
at::Tensor Wrap(const T* p, int64_t rows, int64_t cols, int64_t ld) {
  return at::from_blob(const_cast<T*>(p), {rows, cols}, {ld, 1}, at::TensorOptions().dtype(kScalar<T>));
}

// c [n, n] = x x^T for the n rows of x (k features each, rows ld apart). Only the upper triangle of the
// column-major c is guaranteed: element (r, col) with r <= col at c[col * n + r].
template <typename T>
void Gram(int n, int k, const T* x, int ld, T* c) {
  const char u = 'U', tr = 'T';
  const T one = 1, zero = 0;
  if constexpr (std::is_same_v<T, float>) {
    if (ssyrk_ != nullptr) return ssyrk_(&u, &tr, &n, &k, &one, x, &ld, &zero, c, &n);
  } else {
    if (dsyrk_ != nullptr) return dsyrk_(&u, &tr, &n, &k, &one, x, &ld, &zero, c, &n);
  }
  at::Tensor xs = Wrap(x, n, k, ld);
  at::Tensor out = Wrap(c, n, n, n);
  at::mm_out(out, xs, xs.t());
}

// Row i of g (rows ldg apart) = alpha * sum_j a_ij * row j of x (rows ldx apart), plus its old value when
// `accumulate`; k features per row. a is symmetric: only the upper triangle of the column-major [n, n] buffer is
// read (the rest is scratch).
template <typename T>
void SymmetricTimesRows(int n, int k, T alpha, T* a, const T* x, int ldx, bool accumulate, T* g, int ldg) {
  const char side = 'R', u = 'U';
  const T beta = accumulate ? 1 : 0;
  if constexpr (std::is_same_v<T, float>) {
    if (ssymm_ != nullptr) return ssymm_(&side, &u, &k, &n, &alpha, a, &n, x, &ldx, &beta, g, &ldg);
  } else {
    if (dsymm_ != nullptr) return dsymm_(&side, &u, &k, &n, &alpha, a, &n, x, &ldx, &beta, g, &ldg);
  }
  for (int c = 0; c < n; ++c) {
    for (int r = c + 1; r < n; ++r) a[static_cast<int64_t>(c) * n + r] = a[static_cast<int64_t>(r) * n + c];
  }
  Wrap(g, n, k, ldg).addmm_(Wrap(a, n, n, n), Wrap(x, n, k, ldx), beta, alpha);
}

// Unit-stride dot product with independent lanes, so the compiler vectorises it without reassociating.
template <typename T>
T Dot(const T* a, const T* b, int64_t d) {
  constexpr int kLanes = 16;
  T lanes[kLanes] = {};
  int64_t c = 0;
  for (; c + kLanes <= d; c += kLanes) {
    for (int l = 0; l < kLanes; ++l) lanes[l] += a[c + l] * b[c + l];
  }
  T sum = 0;
  for (int l = 0; l < kLanes; ++l) sum += lanes[l];
  for (; c < d; ++c) sum += a[c] * b[c];
  return sum;
}

// One side of a relation problem: n rows of `width` features, `ld` elements apart, and each row's 1 / max(||row||, eps).
template <typename T>
struct Rows {
  const T* data;
  int ld;
  int width;
  const T* inv;
};

// Per-thread scratch for one relation problem of up to `rows` rows.
template <typename T>
struct Workspace {
  std::vector<T> gramT, gramS, invT, invS;
  explicit Workspace(int64_t rows) : gramT(rows * rows), gramS(rows * rows), invT(rows), invS(rows) {}
};

// One relation problem over n rows: returns sum((Gt - Gs)^2) of the Grams of the normalised rows, which are never
// copied: Ghat_ij = G_ij inv_i inv_j. When g != nullptr, writes (or, when `accumulate`, adds) alpha * inv_i *
// d/d(normalised student row i) to g's row i (rows ldg apart). That gradient is -4 sum_j D_ij shat_j, so inv_i
// times it is -4 sum_j (inv_i D_ij inv_j) s_j: one SYMM of the symmetric diag(inv) D diag(inv) with the raw rows.
template <typename T>
double Problem(int n, const Rows<T>& s, const Rows<T>& t, T* g, int ldg, bool accumulate, double alpha, Workspace<T>& w) {
  T* D = w.gramT.data();
  T* Gs = w.gramS.data();
  Gram(n, t.width, t.data, t.ld, D);
  Gram(n, s.width, s.data, s.ld, Gs);
  double diag = 0, off = 0;
  for (int c = 0; c < n; ++c) {
    T* colD = D + static_cast<int64_t>(c) * n;
    const T* colS = Gs + static_cast<int64_t>(c) * n;
    const T tc = t.inv[c], sc = s.inv[c];
    for (int r = 0; r <= c; ++r) colD[r] = colD[r] * t.inv[r] * tc - colS[r] * s.inv[r] * sc;
    off += Dot(colD, colD, c);
    diag += static_cast<double>(colD[c]) * colD[c];
    if (g != nullptr) {
      for (int r = 0; r <= c; ++r) colD[r] *= s.inv[r] * sc;
    }
  }
  if (g != nullptr) SymmetricTimesRows(n, s.width, static_cast<T>(-4.0 * alpha), D, s.data, s.ld, accumulate, g, ldg);
  return diag + 2 * off;
}

template <typename T>
PairSums Run(const at::Tensor& sT, const at::Tensor& tT, const at::Tensor& perm, at::Tensor* gradT,
             const TermScales& scales) {
  const int64_t B = sT.size(0), N = sT.size(1);
  const int ds = static_cast<int>(sT.size(2)), dt = static_cast<int>(tT.size(2));
  const T* s = sT.data_ptr<T>();
  const T* t = tT.data_ptr<T>();
  const int64_t sb = sT.stride(0), sn = sT.stride(1), tb = tT.stride(0), tn = tT.stride(1);
  T* g = gradT ? gradT->data_ptr<T>() : nullptr;
  const int64_t gb = gradT ? gradT->stride(0) : 0, gn = gradT ? gradT->stride(1) : 0;
  PairSums sums;

  // Row norms, once: [B, N] each (ATen's vectorised reduction), and their clamped inverses.
  const at::Tensor normS = at::linalg_vector_norm(sT, 2, {2}).contiguous();
  const at::Tensor invS = normS.clamp_min(kEps).reciprocal().contiguous();
  const at::Tensor invT = at::linalg_vector_norm(tT, 2, {2}).clamp_min(kEps).reciprocal().contiguous();
  const T* is = invS.data_ptr<T>();
  const T* it = invT.data_ptr<T>();

  // Patch term: one problem per image, its N tokens (rows sn / tn apart, inverse norms contiguous). It covers every
  // row, so it writes the gradient and the other terms add to it.
  std::vector<double> perImage(B);
  at::parallel_for(0, B, 1, [&](int64_t begin, int64_t end) {
    Workspace<T> w(N);
    for (int64_t b = begin; b < end; ++b) {
      const Rows<T> rs{s + b * sb, static_cast<int>(sn), ds, is + b * N};
      const Rows<T> rt{t + b * tb, static_cast<int>(tn), dt, it + b * N};
      perImage[b] = Problem<T>(N, rs, rt, g ? g + b * gb : nullptr, static_cast<int>(gn), false, scales.patch, w);
    }
  });
  for (double v : perImage) sums.patch += v;

  // Sample term: one problem per token position, its B images (rows sb / tb apart; inverse norms gathered).
  std::vector<double> perPosition(N);
  at::parallel_for(0, N, 1, [&](int64_t begin, int64_t end) {
    Workspace<T> w(B);
    for (int64_t n = begin; n < end; ++n) {
      for (int64_t b = 0; b < B; ++b) {
        w.invS[b] = is[b * N + n];
        w.invT[b] = it[b * N + n];
      }
      const Rows<T> rs{s + n * sn, static_cast<int>(sb), ds, w.invS.data()};
      const Rows<T> rt{t + n * tn, static_cast<int>(tb), dt, w.invT.data()};
      perPosition[n] = Problem<T>(B, rs, rt, g ? g + n * gn : nullptr, static_cast<int>(gb), true, scales.sample, w);
    }
  });
  for (double v : perPosition) sums.sample += v;

  // Random term: one problem over the K drawn rows, gathered (they are distinct, so the scatter never collides).
  const int64_t K = perm.numel();
  const int64_t* rows = perm.data_ptr<int64_t>();
  {
    Workspace<T> w(K);
    std::vector<T> gs(K * ds), gt(K * dt), gg(g ? K * ds : 0);  // gathered rows and their gradient
    for (int64_t r = 0; r < K; ++r) {
      const int64_t b = rows[r] / N, n = rows[r] % N;
      std::copy_n(s + b * sb + n * sn, ds, gs.data() + r * ds);
      std::copy_n(t + b * tb + n * tn, dt, gt.data() + r * dt);
      w.invS[r] = is[rows[r]];
      w.invT[r] = it[rows[r]];
    }
    const Rows<T> rs{gs.data(), ds, ds, w.invS.data()};
    const Rows<T> rt{gt.data(), dt, dt, w.invT.data()};
    sums.rand = Problem<T>(static_cast<int>(K), rs, rt, g ? gg.data() : nullptr, ds, false, scales.rand, w);
    if (g != nullptr) {
      for (int64_t r = 0; r < K; ++r) {
        T* dst = g + (rows[r] / N) * gb + (rows[r] % N) * gn;
        const T* src = gg.data() + r * ds;
        for (int c = 0; c < ds; ++c) dst[c] += src[c];
      }
    }
  }

  // Through the normalisation y = x / max(||x||, eps), with g holding h = inv * dy: dx = (dy - y (y . dy)) / ||x||
  // = h - x inv^2 (x . h); below eps, dx = dy / eps = h.
  if (g != nullptr) {
    const T* norms = normS.data_ptr<T>();
    at::parallel_for(0, B * N, 256, [&](int64_t begin, int64_t end) {
      for (int64_t row = begin; row < end; ++row) {
        if (norms[row] <= kEps) continue;
        const T* x = s + (row / N) * sb + (row % N) * sn;
        T* h = g + (row / N) * gb + (row % N) * gn;
        const T k = Dot(x, h, ds) * is[row] * is[row];
        for (int c = 0; c < ds; ++c) h[c] -= x[c] * k;
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
