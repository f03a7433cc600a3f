#include "gemm/talking_heads_softmax.h"

#include <ATen/Parallel.h>
#include <c10/util/BFloat16.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "core/shape_text.h"

namespace mdistill::gemm {

namespace {

// Everything the row kernels call is inlined into them, so that each of their builds (below) compiles it for its
// own vector width: an out-of-line copy would be compiled for baseline x86-64 only.
#define MDISTILL_INLINE inline __attribute__((always_inline))

// exp(x) for the shifted scores of a softmax (x ≤ 0), in a form the compiler vectorises (std::exp is a library
// call): x = n·ln2 + r with |r| ≤ ln2/2, exp(r) by its Taylor polynomial to r⁶ (truncation ≤ |r|⁷/7! = 1.2e-7
// relative, 1 ulp), times 2ⁿ built in the exponent bits. Below −87 the result would leave float's normal range:
// it is clamped there (exp(−87) = 1.6e-38, nothing next to the row's maximum, whose term is 1).
MDISTILL_INLINE float ExpNonPositive(float x) {
  x = x < -87.0f ? -87.0f : x;
  constexpr float kRound = 12582912.0f;  // 1.5·2²³: adding and subtracting it rounds to an integer
  const float n = (x * 1.44269504088896341f + kRound) - kRound;
  const float r = (x - n * 0.693145751953125f) - n * 1.42860682030941723e-6f;  // ln2 split in two for an exact n·ln2_hi
  const float p =
      1.0f + r * (1.0f + r * (0.5f + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120 + r * (1.0f / 720))))));
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;  // n ∈ [−126, 0]: a normal power of two
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

MDISTILL_INLINE float ToFloat(float v) { return v; }
MDISTILL_INLINE float ToFloat(c10::BFloat16 v) { return static_cast<float>(v); }
MDISTILL_INLINE void Store(float& dst, float v) { dst = v; }
MDISTILL_INLINE void Store(c10::BFloat16& dst, float v) { dst = c10::BFloat16(v); }  // round to nearest even, as .to() does

struct Mixing {
  const float* preWeight;
  const float* preBias;
  const float* postWeight;
  const float* postBias;
};

// The scratch rows are padded to whole blocks of kLanes floats, so every loop below runs on fixed-size blocks that
// the compiler keeps in vector registers (the padding lanes compute harmless values and are never stored back).
constexpr int64_t kLanes = 16;

MDISTILL_INLINE int64_t Padded(int64_t n) { return (n + kLanes - 1) / kLanes * kLanes; }

// dst[h][j] = bias[h] + Σ_g weight[h][g]·src[g][j], for H padded rows of P floats; each output block stays in
// registers through the H terms.
MDISTILL_INLINE void MixHeads(const float* src, float* dst, const float* weight, const float* bias, int64_t H, int64_t P) {
  for (int64_t j0 = 0; j0 < P; j0 += kLanes) {
    for (int64_t h = 0; h < H; ++h) {
      float acc[kLanes];
      for (int64_t t = 0; t < kLanes; ++t) acc[t] = bias[h];
      for (int64_t g = 0; g < H; ++g) {
        const float w = weight[h * H + g];
        const float* in = src + g * P + j0;
        for (int64_t t = 0; t < kLanes; ++t) acc[t] += w * in[t];
      }
      float* out = dst + h * P + j0;
      for (int64_t t = 0; t < kLanes; ++t) out[t] = acc[t];
    }
  }
}

// Each head's first N entries of a padded row, softmaxed. Max and sum run lane-wise over whole blocks (a float sum
// is only vectorised when its order is spelled out), then over the tail.
MDISTILL_INLINE void SoftmaxRows(float* rows, int64_t H, int64_t N, int64_t P) {
  const int64_t whole = N / kLanes * kLanes;
  for (int64_t h = 0; h < H; ++h) {
    float* row = rows + h * P;
    float lanes[kLanes];
    for (int64_t t = 0; t < kLanes; ++t) lanes[t] = row[0];
    for (int64_t j0 = 0; j0 < whole; j0 += kLanes) {
      for (int64_t t = 0; t < kLanes; ++t) lanes[t] = row[j0 + t] > lanes[t] ? row[j0 + t] : lanes[t];
    }
    float max = lanes[0];
    for (int64_t t = 1; t < kLanes; ++t) max = lanes[t] > max ? lanes[t] : max;
    for (int64_t j = whole; j < N; ++j) max = row[j] > max ? row[j] : max;
    for (int64_t t = 0; t < kLanes; ++t) lanes[t] = 0;
    for (int64_t j0 = 0; j0 < whole; j0 += kLanes) {
      for (int64_t t = 0; t < kLanes; ++t) {
        row[j0 + t] = ExpNonPositive(row[j0 + t] - max);
        lanes[t] += row[j0 + t];
      }
    }
    float sum = 0;
    for (int64_t t = 0; t < kLanes; ++t) sum += lanes[t];
    for (int64_t j = whole; j < N; ++j) {
      row[j] = ExpNonPositive(row[j] - max);
      sum += row[j];
    }
    const float inv = 1.0f / sum;
    for (int64_t j = 0; j < N; ++j) row[j] *= inv;
  }
}

// Query rows [begin, end) of the maps (row r: image r / N, query r % N), through two H×P float scratch blocks.
template <typename T>
MDISTILL_INLINE void Rows(T* maps, int64_t begin, int64_t end, int64_t H, int64_t N, const Mixing& m, float* a, float* b) {
  const int64_t P = Padded(N);
  for (int64_t r = begin; r < end; ++r) {
    T* base = maps + (r / N) * H * N * N + (r % N) * N;  // head h's row at base + h·N·N
    for (int64_t h = 0; h < H; ++h) {
      const T* src = base + h * N * N;
      for (int64_t j = 0; j < N; ++j) a[h * P + j] = ToFloat(src[j]);
    }
    MixHeads(a, b, m.preWeight, m.preBias, H, P);
    SoftmaxRows(b, H, N, P);
    MixHeads(b, a, m.postWeight, m.postBias, H, P);
    for (int64_t h = 0; h < H; ++h) {
      T* dst = base + h * N * N;
      for (int64_t j = 0; j < N; ++j) Store(dst[j], a[h * P + j]);
    }
  }
}

// One build per vector width, picked at load time by the CPU (the library is compiled for baseline x86-64).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define MDISTILL_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define MDISTILL_VECTOR_CLONES
#endif

MDISTILL_VECTOR_CLONES void RowsFloat(float* maps, int64_t begin, int64_t end, int64_t H, int64_t N, const Mixing& m,
                                      float* a, float* b) {
  Rows(maps, begin, end, H, N, m, a, b);
}

MDISTILL_VECTOR_CLONES void RowsBf16(c10::BFloat16* maps, int64_t begin, int64_t end, int64_t H, int64_t N,
                                     const Mixing& m, float* a, float* b) {
  Rows(maps, begin, end, H, N, m, a, b);
}

}  // namespace

bool TalkingHeadsSoftmaxApplies(const at::Tensor& maps) {
  return maps.is_cpu() && maps.dim() == 4 && maps.is_contiguous() && maps.size(2) == maps.size(3) && maps.numel() > 0 &&
         (maps.scalar_type() == at::kFloat || maps.scalar_type() == at::kBFloat16);
}

void TalkingHeadsSoftmaxInPlace(const at::Tensor& maps, const at::Tensor& preWeight, const at::Tensor& preBias,
                                const at::Tensor& postWeight, const at::Tensor& postBias) {
  if (!TalkingHeadsSoftmaxApplies(maps)) {
    throw Error(codes::kShapeMismatch, "TalkingHeadsSoftmax: maps must be a contiguous float32 or bfloat16 CPU [B, H, N, N], got " +
                                           ShapeText(maps.sizes()));
  }
  const int64_t B = maps.size(0), H = maps.size(1), N = maps.size(2);
  for (const at::Tensor* w : {&preWeight, &postWeight}) {
    if (w->sizes() != at::IntArrayRef({H, H})) throw Error(codes::kShapeMismatch, "TalkingHeadsSoftmax: a mixing weight is " + ShapeText(w->sizes()) + ", not [H, H] for H = " + std::to_string(H));
  }
  for (const at::Tensor* b : {&preBias, &postBias}) {
    if (b->sizes() != at::IntArrayRef({H})) throw Error(codes::kShapeMismatch, "TalkingHeadsSoftmax: a mixing bias is " + ShapeText(b->sizes()) + ", not [H] for H = " + std::to_string(H));
  }
  const auto asFloat = [](const at::Tensor& t) { return t.detach().to(at::kCPU, at::kFloat).contiguous(); };
  const at::Tensor pw = asFloat(preWeight), pb = asFloat(preBias), qw = asFloat(postWeight), qb = asFloat(postBias);
  const Mixing m{pw.data_ptr<float>(), pb.data_ptr<float>(), qw.data_ptr<float>(), qb.data_ptr<float>()};
  const bool bf16 = maps.scalar_type() == at::kBFloat16;
  void* data = maps.data_ptr();
  // A few query rows per task: each is H·N·N·… of work, enough to outweigh the scheduling.
  at::parallel_for(0, B * N, 4, [&](int64_t begin, int64_t end) {
    std::vector<float> scratch(2 * H * Padded(N));  // zeroed: the padding lanes start finite
    float* a = scratch.data();
    float* b = a + H * Padded(N);
    if (bf16) {
      RowsBf16(static_cast<c10::BFloat16*>(data), begin, end, H, N, m, a, b);
    } else {
      RowsFloat(static_cast<float*>(data), begin, end, H, N, m, a, b);
    }
  });
}

}  // namespace mdistill::gemm
