#include "loss/token_merge.h"

#include <algorithm>
#include <cmath>
#include <tuple>

#include "core/error.h"

namespace mdistill::loss {

std::string ShapeString(at::IntArrayRef shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

namespace {

int64_t ISqrt(int64_t n) {
  auto r = static_cast<int64_t>(std::sqrt(static_cast<double>(n)));
  while (r * r > n) --r;
  while ((r + 1) * (r + 1) <= n) ++r;
  return r;
}

// The largest divisor m of n with m*m <= maxTokens (the merged grid side).
int64_t MergedSide(int64_t n, int64_t maxTokens) {
  for (int64_t m = n; m >= 1; --m) {
    if (n % m == 0 && m * m <= maxTokens) return m;
  }
  return 1;
}

int64_t Gcd(int64_t a, int64_t b) { return b == 0 ? a : Gcd(b, a % b); }

// The official reading of a token count: a square grid of side floor(sqrt(N)) after the extra tokens ahead of it.
TokenLayout ReadLayout(int64_t tokens) {
  const int64_t side = ISqrt(tokens);
  return {tokens - side * side, side, side};
}

std::string GridString(const TokenLayout& l) { return std::to_string(l.rows) + "x" + std::to_string(l.cols); }

}  // namespace

// Rules (the official code's behaviour, extended where it would crash or silently misalign):
//  * Each side is a patch grid after `prefix` leading tokens (cls/dist): its TokenLayout when the caller knows it
//    (the models do), else read from the count as a square grid of side n = floor(sqrt(N)) after N - n^2 tokens.
//  * Merge path, when maxPatchNum > 0 and the grids differ or one has more than maxPatchNum tokens: both sides drop
//    their prefix tokens, then each merges its n x n grid to the common m x m grid, every g x g group of adjacent
//    tokens becoming one token (features concatenated row-major). m is the smaller of the two sides' largest
//    divisors with m^2 <= maxPatchNum (the official `merge` takes m = floor(sqrt(M)) and g = n // m, and fails
//    unless m divides n; wherever it works the two agree, e.g. 14x14 -> 7x7 for M = 49), and it must divide both
//    grids. Merging needs square grids.
//  * Same grid, no merge: compare directly, after dropping the difference in leading tokens from the side with
//    more (the official code drops the first Ns - Nt student tokens). Without layouts, only the student side may
//    drop (Ns < Nt is an error, as is dropping at least as many tokens as remain: 197 vs 49 is a grid mismatch,
//    not extra tokens; the official code would silently compare the last 49 student tokens with the teacher grid).
//  * Different grids without a merge: an error that names both grids.
PairPlan PlanPair(at::IntArrayRef s, at::IntArrayRef t, int64_t maxPatchNum, size_t pairIndex,
                  std::optional<TokenLayout> studentLayout, std::optional<TokenLayout> teacherLayout) {
  const std::string where = "manifold loss pair " + std::to_string(pairIndex) + ": ";
  const std::string shapes = "student " + ShapeString(s) + ", teacher " + ShapeString(t);
  PairPlan plan;
  plan.batch = s[0];
  const int64_t ns = s[1], nt = t[1];
  if (ns < 1 || nt < 1 || s[2] < 1 || t[2] < 1) {
    throw Error(codes::kShapeMismatch, where + "empty features (" + shapes + ")");
  }
  for (const auto& [layout, n, side] : {std::tuple{studentLayout, ns, "student"}, std::tuple{teacherLayout, nt, "teacher"}}) {
    if (layout && (layout->prefix < 0 || layout->rows < 1 || layout->cols < 1 || layout->tokens() != n)) {
      throw Error(codes::kShapeMismatch, where + "the " + side + " features hold " + std::to_string(n) + " tokens but their layout is " +
                                             std::to_string(layout->prefix) + " prefix tokens and a " + GridString(*layout) + " grid (" + shapes + ")");
    }
  }
  const TokenLayout ls = studentLayout.value_or(ReadLayout(ns)), lt = teacherLayout.value_or(ReadLayout(nt));
  const std::string grids = "the student's " + GridString(ls) + " grid and the teacher's " + GridString(lt) + " grid";
  const bool sameGrid = ls.rows == lt.rows && ls.cols == lt.cols;
  const bool merge = maxPatchNum > 0 && (!sameGrid || ls.rows * ls.cols > maxPatchNum || lt.rows * lt.cols > maxPatchNum);
  if (merge) {
    if (ls.rows != ls.cols || lt.rows != lt.cols) {
      throw Error(codes::kShapeMismatch, where + "token counts cannot be reconciled (" + shapes + "): merging to a common grid needs square grids, but " + grids +
                                             " are not both square");
    }
    const int64_t gs = ls.rows, gt = lt.rows;
    const int64_t ms = MergedSide(gs, maxPatchNum), mt = MergedSide(gt, maxPatchNum), m = std::min(ms, mt);
    if (gs % m != 0 || gt % m != 0) {
      const int64_t common = MergedSide(Gcd(gs, gt), maxPatchNum);
      throw Error(codes::kShapeMismatch,
                  where + "token counts cannot be reconciled (" + shapes + "): the " + std::to_string(gs) + "x" +
                      std::to_string(gs) + " student grid merges to " + std::to_string(ms) + "x" + std::to_string(ms) +
                      " but the " + std::to_string(gt) + "x" + std::to_string(gt) + " teacher grid to " +
                      std::to_string(mt) + "x" + std::to_string(mt) + " under max_patch_num " +
                      std::to_string(maxPatchNum) + ", and " + std::to_string(m) + " does not divide both; pick a max_patch_num that is a square dividing both grids" +
                      (common > 1 ? " (" + std::to_string(common * common) + " merges both to " + std::to_string(common) + "x" + std::to_string(common) + ")" : ""));
    }
    plan.dropStudent = ls.prefix;
    plan.dropTeacher = lt.prefix;
    plan.gridStudent = gs;
    plan.gridTeacher = gt;
    plan.factorStudent = gs / m;
    plan.factorTeacher = gt / m;
    plan.tokens = m * m;
  } else if (studentLayout && teacherLayout) {
    if (!sameGrid) {
      throw Error(codes::kShapeMismatch, where + "token counts cannot be reconciled (" + shapes + "): " + grids +
                                             " differ; set max_patch_num to merge both to a common grid");
    }
    plan.dropStudent = std::max<int64_t>(ns - nt, 0);
    plan.dropTeacher = std::max<int64_t>(nt - ns, 0);
    plan.tokens = std::min(ns, nt);
  } else {
    const int64_t drop = ns - nt;
    if (drop < 0 || drop >= nt) {
      throw Error(codes::kShapeMismatch,
                  where + "token counts cannot be reconciled (" + shapes + "): " +
                      (drop < 0 ? "the student has fewer tokens than the teacher"
                                : "dropping " + std::to_string(drop) + " leading student tokens would leave only " +
                                      std::to_string(nt)) +
                      "; if the patch grids differ, set max_patch_num to merge both to a common grid");
    }
    plan.dropStudent = drop;
    plan.tokens = nt;
  }
  plan.widthStudent = s[2] * plan.factorStudent * plan.factorStudent;
  plan.widthTeacher = t[2] * plan.factorTeacher * plan.factorTeacher;
  return plan;
}

std::vector<PairPlan> PlanPairs(const std::vector<at::Tensor>& student, const std::vector<at::Tensor>& teacher,
                                const ManifoldOptions& opts) {
  if (student.empty()) throw Error(codes::kBadArgument, "manifold loss: the layer pair list is empty (give at least one student/teacher pair)");
  if (student.size() != teacher.size()) {
    throw Error(codes::kBadArgument, "manifold loss: " + std::to_string(student.size()) + " student features but " +
                                         std::to_string(teacher.size()) + " teacher features; give one of each per layer pair");
  }
  if (opts.k < 1) throw Error(codes::kBadArgument, "manifold loss: K must be at least 1, got " + std::to_string(opts.k));
  if (opts.maxPatchNum < 0) throw Error(codes::kBadArgument, "manifold loss: max_patch_num must be >= 0 (0 = no merge), got " + std::to_string(opts.maxPatchNum));
  for (double w : {opts.wSample, opts.wPatch, opts.wRand}) {
    if (!std::isfinite(w)) throw Error(codes::kBadArgument, "manifold loss: the weights must be finite numbers");
  }
  for (const auto* layouts : {&opts.studentLayouts, &opts.teacherLayouts}) {
    if (!layouts->empty() && layouts->size() != student.size()) {
      throw Error(codes::kBadArgument, "manifold loss: " + std::to_string(layouts->size()) + " token layouts for " + std::to_string(student.size()) +
                                           " layer pairs; give one per pair (or none)");
    }
  }
  std::vector<PairPlan> plans;
  for (size_t i = 0; i < student.size(); ++i) {
    const auto& s = student[i];
    const auto& t = teacher[i];
    if (s.dim() != 3 || t.dim() != 3) {
      throw Error(codes::kShapeMismatch, "manifold loss pair " + std::to_string(i) + ": features must be rank 3 [B, N, d], got student " +
                                             ShapeString(s.sizes()) + ", teacher " + ShapeString(t.sizes()));
    }
    if (s.size(0) != t.size(0) || s.size(0) != student[0].size(0)) {
      throw Error(codes::kShapeMismatch, "manifold loss pair " + std::to_string(i) + ": batch sizes differ (student " +
                                             ShapeString(s.sizes()) + ", teacher " + ShapeString(t.sizes()) +
                                             ", first student " + ShapeString(student[0].sizes()) + ")");
    }
    if (s.size(0) < 1) throw Error(codes::kShapeMismatch, "manifold loss pair " + std::to_string(i) + ": the batch is empty");
    if (!at::isFloatingType(s.scalar_type()) || !at::isFloatingType(t.scalar_type())) {
      throw Error(codes::kBadArgument, "manifold loss pair " + std::to_string(i) + ": features must be floating point");
    }
    if (s.device() != t.device()) {
      throw Error(codes::kBadArgument, "manifold loss pair " + std::to_string(i) + ": student and teacher are on different devices");
    }
    auto layout = [i](const std::vector<TokenLayout>& l) { return l.empty() ? std::nullopt : std::optional<TokenLayout>(l[i]); };
    plans.push_back(PlanPair(s.sizes(), t.sizes(), opts.maxPatchNum, i, layout(opts.studentLayouts), layout(opts.teacherLayouts)));
  }
  return plans;
}

at::Tensor MergeTokens(const at::Tensor& x, int64_t grid, int64_t factor) {
  const int64_t b = x.size(0), c = x.size(2), m = grid / factor;
  if (factor == 1) return x;
  return x.reshape({b, m, factor, m, factor, c}).permute({0, 1, 3, 2, 4, 5}).reshape({b, m * m, factor * factor * c});
}

at::Tensor PrepareStudent(const at::Tensor& features, const PairPlan& plan) {
  at::Tensor x = features.slice(1, plan.dropStudent);
  return plan.gridStudent > 0 ? MergeTokens(x, plan.gridStudent, plan.factorStudent) : x;
}

at::Tensor PrepareTeacher(const at::Tensor& features, const PairPlan& plan) {
  at::Tensor x = features.slice(1, plan.dropTeacher);
  return plan.gridTeacher > 0 ? MergeTokens(x, plan.gridTeacher, plan.factorTeacher) : x;
}

at::Tensor UnprepareStudentGrad(const at::Tensor& grad, const PairPlan& plan, at::IntArrayRef studentShape) {
  at::Tensor full = at::zeros(studentShape, grad.options());
  at::Tensor body = full.slice(1, plan.dropStudent);
  if (plan.gridStudent > 0 && plan.factorStudent > 1) {
    const int64_t b = grad.size(0), c = studentShape[2], g = plan.factorStudent, m = plan.gridStudent / g;
    body.view({b, m, g, m, g, c}).copy_(grad.view({b, m, m, g, g, c}).permute({0, 1, 3, 2, 4, 5}));
  } else {
    body.copy_(grad);
  }
  return full;
}

}  // namespace mdistill::loss
