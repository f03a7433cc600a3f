#include "loss/manifold_loss.h"

#include <torch/csrc/autograd/custom_function.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "core/error.h"
#include "loss/manifold_cpu_kernel.h"
#include "loss/manifold_loss_naive.h"
#include "loss/token_merge.h"
#ifdef MDISTILL_WITH_CUDA
#include "cuda/manifold_cuda_launcher.h"
#endif

namespace mdistill::loss {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

at::ScalarType ComputeType(const at::Tensor& x) { return x.scalar_type() == at::kDouble ? at::kDouble : at::kFloat; }

// Per-term factors turning a pair's sums of squares into its share of the weighted, pair-averaged loss.
TermScales ValueScales(const PairPlan& plan, int64_t k, const ManifoldOptions& opts, size_t pairs) {
  const double B = static_cast<double>(plan.batch), N = static_cast<double>(plan.tokens);
  const double K = static_cast<double>(EffectiveK(plan, k));
  const double common = 1.0 / static_cast<double>(pairs);
  return {common * opts.wSample / (N * B * B), common * opts.wPatch / (B * N * N), common * opts.wRand / (K * K)};
}

// The kernels read token rows in place: unit feature stride, tokens one row apart, images at least one row apart.
bool KernelLayout(const at::Tensor& x) {
  return x.stride(2) == 1 && x.stride(1) == x.size(2) && x.stride(0) >= x.size(2);
}

struct FusedResult {
  double sample = 0, patch = 0, rand = 0;
  std::vector<at::Tensor> grads;  // d(sum_t upstream_t * term_t)/d student[i], student dtype; empty when not wanted
};

FusedResult RunFused(const std::vector<at::Tensor>& student, const std::vector<at::Tensor>& teacher,
                     const std::vector<at::Tensor>& perms, const std::vector<PairPlan>& plans,
                     const ManifoldOptions& opts, bool wantGrad, const TermScales& upstream) {
  FusedResult out;
  for (size_t i = 0; i < student.size(); ++i) {
    const PairPlan& plan = plans[i];
    const at::Tensor& S = student[i];
    const at::ScalarType ct = ComputeType(S);
    at::Tensor s = PrepareStudent(S.detach(), plan).to(ct);
    at::Tensor t = PrepareTeacher(teacher[i].detach(), plan).to(ct);
    if (!KernelLayout(s)) s = s.contiguous();
    if (!KernelLayout(t)) t = t.contiguous();
    const TermScales v = ValueScales(plan, perms[i].numel(), opts, student.size());
    const TermScales g{v.sample * upstream.sample, v.patch * upstream.patch, v.rand * upstream.rand};
    // The gradient lands straight in the student-shaped result when no merge reorders the tokens. The kernels
    // overwrite `body`; only the dropped leading tokens need zeros.
    at::Tensor full, body;
    if (wantGrad) {
      if (plan.merges()) {
        body = at::empty(s.sizes(), s.options());
      } else {
        full = at::empty(S.sizes(), S.options().dtype(ct));
        full.slice(1, 0, plan.dropStudent).zero_();
        body = full.slice(1, plan.dropStudent);
      }
    }
    PairSums sums;
    if (S.is_cuda()) {
#ifdef MDISTILL_WITH_CUDA
      sums = ManifoldPairCuda(s, t, perms[i].to(S.device()), wantGrad ? &body : nullptr, g);
#else
      throw Error(codes::kBadArgument, "manifold loss: features are on CUDA but this addon was built without CUDA");
#endif
    } else {
      sums = ManifoldPairCpu(s, t, perms[i].contiguous(), wantGrad ? &body : nullptr, g);
    }
    out.sample += sums.sample * v.sample;
    out.patch += sums.patch * v.patch;
    out.rand += sums.rand * v.rand;
    if (wantGrad) {
      if (plan.merges()) full = UnprepareStudentGrad(body, plan, S.sizes());
      out.grads.push_back(full.scalar_type() == S.scalar_type() ? full : full.to(S.scalar_type()));
    }
  }
  return out;
}

// The plans travel through the autograd context as integers (IValues hold no structs).
std::vector<int64_t> PackPlans(const std::vector<PairPlan>& plans) {
  std::vector<int64_t> out;
  for (const PairPlan& p : plans) {
    out.insert(out.end(), {p.dropStudent, p.dropTeacher, p.gridStudent, p.gridTeacher, p.factorStudent, p.factorTeacher,
                           p.tokens, p.batch, p.widthStudent, p.widthTeacher});
  }
  return out;
}

std::vector<PairPlan> UnpackPlans(const std::vector<int64_t>& v) {
  std::vector<PairPlan> plans;
  for (size_t i = 0; i + 10 <= v.size(); i += 10) {
    plans.push_back({v[i], v[i + 1], v[i + 2], v[i + 3], v[i + 4], v[i + 5], v[i + 6], v[i + 7], v[i + 8], v[i + 9]});
  }
  return plans;
}

ManifoldOptions OptionsFrom(AutogradContext* ctx) {
  ManifoldOptions o;
  o.wSample = ctx->saved_data["w_sample"].toDouble();
  o.wPatch = ctx->saved_data["w_patch"].toDouble();
  o.wRand = ctx->saved_data["w_rand"].toDouble();
  o.k = ctx->saved_data["k"].toInt();
  return o;
}

// Fused manifold loss: forward returns (sample, patch, rand). When `eager`, forward also computes the student
// gradient of sample + patch + rand, and backward only scales it when the three upstream gradients agree (the
// usual case: the trainer backpropagates their sum). Otherwise backward recomputes the tiles.
class ManifoldLossFunction : public torch::autograd::Function<ManifoldLossFunction> {
 public:
  // `student` is a TensorList so that autograd registers each tensor as an input; the other arguments are not
  // variables, and backward returns an undefined gradient for each of them (kNonVariableArgs).
  static constexpr size_t kNonVariableArgs = 5;

  static variable_list forward(AutogradContext* ctx, at::TensorList studentList, std::vector<at::Tensor> teacher,
                               std::vector<at::Tensor> perms, std::vector<PairPlan> plans, ManifoldOptions opts,
                               bool eager) {
    const std::vector<at::Tensor> student = studentList.vec();
    FusedResult r = RunFused(student, teacher, perms, plans, opts, eager, TermScales{1, 1, 1});
    ctx->save_for_backward(student);
    ctx->saved_data["teacher"] = teacher;
    ctx->saved_data["perms"] = perms;
    ctx->saved_data["w_sample"] = opts.wSample;
    ctx->saved_data["w_patch"] = opts.wPatch;
    ctx->saved_data["w_rand"] = opts.wRand;
    ctx->saved_data["k"] = opts.k;
    ctx->saved_data["eager"] = eager;
    ctx->saved_data["plans"] = PackPlans(plans);
    if (eager) ctx->saved_data["grads"] = r.grads;
    const auto options = student[0].options().dtype(student[0].scalar_type() == at::kDouble ? at::kDouble : at::kFloat);
    return {at::scalar_tensor(r.sample, options), at::scalar_tensor(r.patch, options), at::scalar_tensor(r.rand, options)};
  }

  static variable_list backward(AutogradContext* ctx, variable_list upstream) {
    auto value = [](const at::Tensor& g) { return g.defined() ? g.item<double>() : 0.0; };
    const TermScales up{value(upstream[0]), value(upstream[1]), value(upstream[2])};
    if (ctx->saved_data["eager"].toBool() && up.sample == up.patch && up.patch == up.rand) {
      std::vector<at::Tensor> grads = ctx->saved_data["grads"].toTensorVector();
      // Hand the buffers over (no copy for AccumulateGrad); a second backward (retain_graph) recomputes.
      ctx->saved_data["eager"] = false;
      ctx->saved_data["grads"] = std::vector<at::Tensor>{};
      if (up.sample != 1.0) {
        for (auto& g : grads) g.mul_(up.sample);
      }
      grads.resize(grads.size() + kNonVariableArgs);
      return grads;
    }
    std::vector<at::Tensor> student = ctx->get_saved_variables();
    std::vector<at::Tensor> teacher = ctx->saved_data["teacher"].toTensorVector();
    std::vector<at::Tensor> perms = ctx->saved_data["perms"].toTensorVector();
    const ManifoldOptions opts = OptionsFrom(ctx);
    const std::vector<PairPlan> plans = UnpackPlans(ctx->saved_data["plans"].toIntVector());
    std::vector<at::Tensor> grads = RunFused(student, teacher, perms, plans, opts, true, up).grads;
    grads.resize(grads.size() + kNonVariableArgs);
    return grads;
  }
};

std::vector<at::Tensor> CheckPerms(const std::vector<at::Tensor>& perms, const std::vector<PairPlan>& plans, int64_t k) {
  if (perms.size() != plans.size()) {
    throw Error(codes::kBadArgument, "manifold loss: " + std::to_string(perms.size()) + " row permutations for " +
                                         std::to_string(plans.size()) + " layer pairs; give one per pair");
  }
  std::vector<at::Tensor> out;
  for (size_t i = 0; i < perms.size(); ++i) {
    const int64_t want = EffectiveK(plans[i], k), rows = plans[i].rows();
    at::Tensor p = perms[i].to(at::kCPU).to(at::kLong).contiguous().view({-1});
    if (p.numel() != want) {
      throw Error(codes::kBadArgument, "manifold loss pair " + std::to_string(i) + ": perms holds " + std::to_string(p.numel()) +
                                           " rows but K = min(" + std::to_string(k) + ", B*N = " + std::to_string(rows) +
                                           ") = " + std::to_string(want));
    }
    at::Tensor sorted = std::get<0>(p.sort());
    const int64_t* v = sorted.data_ptr<int64_t>();
    for (int64_t j = 0; j < want; ++j) {
      if (v[j] < 0 || v[j] >= rows || (j > 0 && v[j] == v[j - 1])) {
        throw Error(codes::kBadArgument, "manifold loss pair " + std::to_string(i) + ": perms must hold distinct rows in [0, " +
                                             std::to_string(rows) + "), found " + std::to_string(v[j]) +
                                             (j > 0 && v[j] == v[j - 1] ? " twice" : ""));
      }
    }
    out.push_back(p);
  }
  return out;
}

ManifoldTerms Compute(const std::vector<at::Tensor>& student, const std::vector<at::Tensor>& teacher,
                      const ManifoldOptions& opts, const std::vector<PairPlan>& plans, std::vector<at::Tensor> perms) {
  if (opts.impl == ManifoldImpl::kNaive) return ManifoldLossNaive(student, teacher, plans, perms, opts);
  bool needGrad = false;
  for (const auto& s : student) needGrad = needGrad || s.requires_grad();
  needGrad = needGrad && at::GradMode::is_enabled();
  std::vector<at::Tensor> detachedTeacher;
  for (const auto& t : teacher) detachedTeacher.push_back(t.detach());
  variable_list out = ManifoldLossFunction::apply(at::TensorList(student), detachedTeacher, perms, plans, opts, needGrad);
  ManifoldTerms terms{out[0], out[1], out[2], out[0] + out[1] + out[2], perms};
  return terms;
}

}  // namespace

std::vector<at::Tensor> DrawManifoldRows(const std::vector<PairPlan>& plans, int64_t k, at::Generator gen) {
  std::vector<at::Tensor> perms;
  for (const auto& plan : plans) {
    perms.push_back(at::randperm(plan.rows(), gen, at::TensorOptions().dtype(at::kLong)).slice(0, 0, EffectiveK(plan, k)).contiguous());
  }
  return perms;
}

ManifoldTerms ManifoldLoss(const std::vector<at::Tensor>& student, const std::vector<at::Tensor>& teacher,
                           const ManifoldOptions& opts, at::Generator gen) {
  const auto plans = PlanPairs(student, teacher, opts);
  return Compute(student, teacher, opts, plans, DrawManifoldRows(plans, opts.k, gen));
}

ManifoldTerms ManifoldLossWithPerms(const std::vector<at::Tensor>& student, const std::vector<at::Tensor>& teacher,
                                    const ManifoldOptions& opts, const std::vector<at::Tensor>& perms) {
  const auto plans = PlanPairs(student, teacher, opts);
  return Compute(student, teacher, opts, plans, CheckPerms(perms, plans, opts.k));
}

}  // namespace mdistill::loss
