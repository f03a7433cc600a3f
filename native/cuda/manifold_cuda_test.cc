// Standalone check of the CUDA manifold kernels against a plain CPU implementation (no libtorch, no Node).
// Prints one JSON line. Without a CUDA device it still checks the CPU reference by finite differences and reports
// {"skipped":"no CUDA device", ...} with exit status 0; any mismatch exits 1.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "manifold_cuda.h"

namespace {

using mdistill::cuda::ManifoldCudaWorkspaceBytes;
using mdistill::cuda::LaunchManifoldPairKernels;
using mdistill::cuda::PairView;
using mdistill::cuda::TermFactors;

struct Shape {
  int64_t batch, tokens, extra, ds, dt, k;
};

struct Case {
  Shape shape;
  std::vector<double> s, t;  // s: [B, N + extra, ds] (the first `extra` tokens are skipped), t: [B, N, dt]
  std::vector<int64_t> perm;
};

Case MakeCase(const Shape& sh, unsigned seed) {
  std::mt19937_64 gen(seed);
  std::normal_distribution<double> normal;
  Case c{sh, {}, {}, {}};
  c.s.resize(sh.batch * (sh.tokens + sh.extra) * sh.ds);
  c.t.resize(sh.batch * sh.tokens * sh.dt);
  for (auto& x : c.s) x = normal(gen);
  for (auto& x : c.t) x = normal(gen);
  std::vector<int64_t> all(sh.batch * sh.tokens);
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int64_t>(i);
  std::shuffle(all.begin(), all.end(), gen);
  c.perm.assign(all.begin(), all.begin() + std::min<int64_t>(sh.k, sh.batch * sh.tokens));
  return c;
}

// The definition, literally: normalise rows, form each relation matrix, sum squared differences. With `grad`,
// d(sum_t scale_t * sumsq_t)/ds by the chain rule through the normalisation.
void Reference(const Case& c, const TermFactors& scales, double sums[3], std::vector<double>* grad) {
  const auto& sh = c.shape;
  const int64_t B = sh.batch, N = sh.tokens, S = sh.tokens + sh.extra;
  auto sRow = [&](int64_t b, int64_t i) { return &c.s[(b * S + sh.extra + i) * sh.ds]; };
  auto tRow = [&](int64_t b, int64_t i) { return &c.t[(b * N + i) * sh.dt]; };
  std::vector<double> sn(B * N * sh.ds), tn(B * N * sh.dt), norms(B * N), gn(B * N * sh.ds, 0.0);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < N; ++i) {
      double qs = 0, qt = 0;
      for (int64_t k = 0; k < sh.ds; ++k) qs += sRow(b, i)[k] * sRow(b, i)[k];
      for (int64_t k = 0; k < sh.dt; ++k) qt += tRow(b, i)[k] * tRow(b, i)[k];
      norms[b * N + i] = std::max(std::sqrt(qs), 1e-12);
      for (int64_t k = 0; k < sh.ds; ++k) sn[(b * N + i) * sh.ds + k] = sRow(b, i)[k] / norms[b * N + i];
      for (int64_t k = 0; k < sh.dt; ++k) tn[(b * N + i) * sh.dt + k] = tRow(b, i)[k] / std::max(std::sqrt(qt), 1e-12);
    }
  auto dot = [](const double* x, const double* y, int64_t d) {
    double a = 0;
    for (int64_t k = 0; k < d; ++k) a += x[k] * y[k];
    return a;
  };
  // rows: flat row ids (b * N + i) of one problem
  auto problem = [&](const std::vector<int64_t>& rows, double scale) {
    double sq = 0;
    for (int64_t x : rows)
      for (int64_t y : rows) {
        const double d = dot(&tn[x * sh.dt], &tn[y * sh.dt], sh.dt) - dot(&sn[x * sh.ds], &sn[y * sh.ds], sh.ds);
        sq += d * d;
        for (int64_t k = 0; k < sh.ds; ++k) gn[x * sh.ds + k] += -4.0 * scale * d * sn[y * sh.ds + k];
      }
    return sq;
  };
  sums[0] = sums[1] = sums[2] = 0;
  for (int64_t i = 0; i < N; ++i) {
    std::vector<int64_t> rows;
    for (int64_t b = 0; b < B; ++b) rows.push_back(b * N + i);
    sums[0] += problem(rows, scales.sample);
  }
  for (int64_t b = 0; b < B; ++b) {
    std::vector<int64_t> rows;
    for (int64_t i = 0; i < N; ++i) rows.push_back(b * N + i);
    sums[1] += problem(rows, scales.patch);
  }
  sums[2] = problem(c.perm, scales.rand);
  if (!grad) return;
  grad->assign(c.s.size(), 0.0);
  for (int64_t r = 0; r < B * N; ++r) {
    const double* y = &sn[r * sh.ds];
    const double* g = &gn[r * sh.ds];
    const double yg = dot(y, g, sh.ds);
    double* out = &(*grad)[((r / N) * S + sh.extra + r % N) * sh.ds];
    for (int64_t k = 0; k < sh.ds; ++k) out[k] = (g[k] - y[k] * yg) / norms[r];
  }
}

double Weighted(const double sums[3], const TermFactors& f) { return f.sample * sums[0] + f.patch * sums[1] + f.rand * sums[2]; }

// The reference gradient against central differences of the reference value (double).
double ReferenceGradcheck() {
  const TermFactors f{0.3, 1.7, 0.9};
  Case c = MakeCase({2, 5, 1, 3, 4, 6}, 99);
  double sums[3];
  std::vector<double> grad;
  Reference(c, f, sums, &grad);
  double worst = 0;
  for (size_t i = 0; i < c.s.size(); ++i) {
    const double keep = c.s[i], h = 1e-6;
    c.s[i] = keep + h;
    Reference(c, f, sums, nullptr);
    const double plus = Weighted(sums, f);
    c.s[i] = keep - h;
    Reference(c, f, sums, nullptr);
    const double minus = Weighted(sums, f);
    c.s[i] = keep;
    worst = std::max(worst, std::abs((plus - minus) / (2 * h) - grad[i]));
  }
  return worst;
}

#define CUDA_OK(expr)                                                                      \
  do {                                                                                     \
    cudaError_t e_ = (expr);                                                               \
    if (e_ != cudaSuccess) {                                                               \
      std::printf("{\"ok\":false,\"error\":\"%s: %s\"}\n", #expr, cudaGetErrorString(e_)); \
      std::exit(1);                                                                        \
    }                                                                                      \
  } while (0)

// The loss weights of the training recipe, per element of each relation.
TermFactors Factors(const Case& c) {
  const auto& sh = c.shape;
  return {0.1 / (sh.tokens * sh.batch * sh.batch), 4.0 / (sh.batch * sh.tokens * sh.tokens),
          0.2 / (static_cast<double>(c.perm.size()) * c.perm.size())};
}

// Runs the kernels in precision T and returns the worst relative error of the sums and of the gradient against the
// reference's (computed once per case: at the paper's shapes it takes seconds).
template <typename T>
std::pair<double, double> CompareOnDevice(const Case& c, const double want[3], const std::vector<double>& wantGrad) {
  const auto& sh = c.shape;
  const TermFactors f = Factors(c);
  std::vector<T> hs(c.s.begin(), c.s.end()), ht(c.t.begin(), c.t.end());
  T *ds_, *dt_, *dg;
  int64_t* dp;
  void* ws;
  CUDA_OK(cudaMalloc(&ds_, hs.size() * sizeof(T)));
  CUDA_OK(cudaMalloc(&dt_, ht.size() * sizeof(T)));
  CUDA_OK(cudaMalloc(&dg, hs.size() * sizeof(T)));
  CUDA_OK(cudaMalloc(&dp, c.perm.size() * sizeof(int64_t)));
  CUDA_OK(cudaMalloc(&ws, ManifoldCudaWorkspaceBytes(sh.batch, sh.tokens, sizeof(T))));
  CUDA_OK(cudaMemcpy(ds_, hs.data(), hs.size() * sizeof(T), cudaMemcpyHostToDevice));
  CUDA_OK(cudaMemcpy(dt_, ht.data(), ht.size() * sizeof(T), cudaMemcpyHostToDevice));
  CUDA_OK(cudaMemcpy(dp, c.perm.data(), c.perm.size() * sizeof(int64_t), cudaMemcpyHostToDevice));
  CUDA_OK(cudaMemset(dg, 0, hs.size() * sizeof(T)));
  const int64_t S = sh.tokens + sh.extra;
  PairView<T> v;
  v.s = ds_ + sh.extra * sh.ds;  // skip the extra tokens: rows strided inside a batch of S tokens
  v.sBatchStride = S * sh.ds;
  v.sRowStride = sh.ds;
  v.t = dt_;
  v.tBatchStride = sh.tokens * sh.dt;
  v.tRowStride = sh.dt;
  v.batch = sh.batch;
  v.tokens = sh.tokens;
  v.ds = sh.ds;
  v.dt = sh.dt;
  v.perm = dp;
  v.k = static_cast<int64_t>(c.perm.size());
  v.grad = dg + sh.extra * sh.ds;
  v.gBatchStride = S * sh.ds;
  v.gRowStride = sh.ds;
  double got[3];
  CUDA_OK(LaunchManifoldPairKernels<T>(v, f, ws, got, nullptr));
  std::vector<T> hg(hs.size());
  CUDA_OK(cudaMemcpy(hg.data(), dg, hg.size() * sizeof(T), cudaMemcpyDeviceToHost));
  for (void* p : {static_cast<void*>(ds_), static_cast<void*>(dt_), static_cast<void*>(dg), static_cast<void*>(dp), ws}) cudaFree(p);
  double valueErr = 0, gradErr = 0, gradScale = 0;
  for (int t = 0; t < 3; ++t) valueErr = std::max(valueErr, std::abs(got[t] - want[t]) / std::max(std::abs(want[t]), 1e-30));
  for (size_t i = 0; i < hg.size(); ++i) {
    gradErr = std::max(gradErr, std::abs(hg[i] - wantGrad[i]));
    gradScale = std::max(gradScale, std::abs(wantGrad[i]));
  }
  return {valueErr, gradErr / gradScale};
}

}  // namespace

int main() {
  const double refGrad = ReferenceGradcheck();
  if (refGrad > 1e-7) {
    std::printf("{\"ok\":false,\"error\":\"CPU reference gradient off by %g\"}\n", refGrad);
    return 1;
  }
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    std::printf("{\"ok\":true,\"skipped\":\"no CUDA device\",\"reference_gradcheck\":%g}\n", refGrad);
    return 0;
  }
  cudaDeviceProp prop{};
  cudaGetDeviceProperties(&prop, 0);
  const std::vector<Shape> shapes = {
      {4, 9, 1, 8, 12, 16},    // the fixture's shape
      {3, 37, 2, 21, 40, 50},  // ragged tiles, two extra tokens
      {1, 20, 0, 5, 7, 100},   // B = 1, K clamped to B*N
      {8, 49, 1, 64, 96, 64},
      {64, 196, 1, 192, 384, 192},  // the paper's: DeiT-Tiny (+cls) from CaiT-S24, K = 192
      {64, 196, 1, 384, 384, 192},  // a DeiT-Small student
  };
  double worstF64 = 0, worstF32 = 0;
  std::string cases;
  for (size_t i = 0; i < shapes.size(); ++i) {
    const Case c = MakeCase(shapes[i], 7 + static_cast<unsigned>(i));
    double want[3];
    std::vector<double> wantGrad;
    Reference(c, Factors(c), want, &wantGrad);
    const auto d = CompareOnDevice<double>(c, want, wantGrad);
    const auto f = CompareOnDevice<float>(c, want, wantGrad);
    worstF64 = std::max({worstF64, d.first, d.second});
    worstF32 = std::max({worstF32, f.first, f.second});
    const Shape& sh = shapes[i];
    char line[256];
    std::snprintf(line, sizeof line, "%s{\"shape\":[%lld,%lld,%lld,%lld,%lld,%lld],\"f64\":[%g,%g],\"f32\":[%g,%g]}",
                  i ? "," : "", static_cast<long long>(sh.batch), static_cast<long long>(sh.tokens), static_cast<long long>(sh.extra),
                  static_cast<long long>(sh.ds), static_cast<long long>(sh.dt), static_cast<long long>(sh.k), d.first, d.second,
                  f.first, f.second);
    cases += line;
  }
  const bool ok = worstF64 < 1e-10 && worstF32 < 1e-4;
  std::printf("{\"ok\":%s,\"device\":\"%s\",\"worst_rel_f64\":%g,\"worst_rel_f32\":%g,\"reference_gradcheck\":%g,"
              "\"cases\":[%s]}\n",
              ok ? "true" : "false", prop.name, worstF64, worstF32, refGrad, cases.c_str());
  return ok ? 0 : 1;
}
