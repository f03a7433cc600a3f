// Options, results and shape planning shared by the fused and naive manifold losses.
#pragma once
#include <ATen/ATen.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/token_layout.h"

namespace mdistill::loss {

enum class ManifoldImpl { kFused, kNaive };

// Set by the caller: the defaults live in TypeScript's schema (src/config/schema.ts).
struct ManifoldOptions {
  double wSample = 0;
  double wPatch = 0;
  double wRand = 0;
  // Rows drawn for the random term; K >= B*N is clamped to B*N (every row, in a random order).
  int64_t k = 0;
  // Merge both token grids down to a common square grid of at most this many tokens (0 = off).
  int64_t maxPatchNum = 0;
  ManifoldImpl impl = ManifoldImpl::kFused;
  // How each pair's student and teacher tokens lie (the models know: TokenLayout). Empty: read from the token counts
  // as the official code does (a square grid after N - floor(sqrt(N))^2 leading extra tokens).
  std::vector<TokenLayout> studentLayouts, teacherLayouts;
};

// The three terms, each carrying its w_* weight and averaged over the layer pairs (beta is the trainer's), each a
// 0-dim tensor differentiable with respect to the student features; their sum; the rows the random term used.
struct ManifoldTerms {
  at::Tensor sample, patch, rand, total;
  std::vector<at::Tensor> perms;  // int64 [K] per pair: rows of the B*N (dropped/merged) token rows
};

// How one (student, teacher) pair is brought to a common token set. See PlanPair for the rules.
struct PairPlan {
  int64_t dropStudent = 0;  // leading student tokens dropped
  int64_t dropTeacher = 0;  // leading teacher tokens dropped (only when merging: class tokens are not on the grid)
  int64_t gridStudent = 0;  // side of the student patch grid before merging (0 = no merge)
  int64_t gridTeacher = 0;
  int64_t factorStudent = 1;  // g: every g x g group of adjacent tokens becomes one token
  int64_t factorTeacher = 1;
  int64_t tokens = 0;  // N after dropping and merging (same for both sides)
  int64_t batch = 0;
  int64_t widthStudent = 0;  // feature width after merging (g^2 * d)
  int64_t widthTeacher = 0;
  int64_t rows() const { return batch * tokens; }
  bool merges() const { return factorStudent > 1 || factorTeacher > 1 || gridStudent > 0; }
};

// Sums of squared relation differences of one pair (not yet averaged or weighted).
struct PairSums {
  double sample = 0, patch = 0, rand = 0;
};

// Multipliers of each term's gradient (the chain rule's outer factor: weight / count * upstream gradient).
struct TermScales {
  double sample = 0, patch = 0, rand = 0;
};

std::string ShapeString(at::IntArrayRef shape);

// Checks one pair and decides how to reconcile its token counts (throws MDISTILL_SHAPE_MISMATCH with both shapes).
// With layouts, the features' token counts must match them; without, the layouts are read from the counts.
PairPlan PlanPair(at::IntArrayRef student, at::IntArrayRef teacher, int64_t maxPatchNum, size_t pairIndex,
                  std::optional<TokenLayout> studentLayout = std::nullopt, std::optional<TokenLayout> teacherLayout = std::nullopt);

// Checks the whole call: non-empty equal-length lists, rank 3, one batch size, K >= 1, weights finite, one layout
// per pair (or none).
std::vector<PairPlan> PlanPairs(const std::vector<at::Tensor>& student, const std::vector<at::Tensor>& teacher,
                                const ManifoldOptions& opts);

// The effective K of a pair: min(K, B*N).
inline int64_t EffectiveK(const PairPlan& plan, int64_t k) { return std::min(k, plan.rows()); }

}  // namespace mdistill::loss
