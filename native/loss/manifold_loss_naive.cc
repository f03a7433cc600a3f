#include "loss/manifold_loss_naive.h"

#include "loss/token_merge.h"

namespace mdistill::loss {

namespace {

// F.normalize(x, dim=-1): x / max(||x||, 1e-12).
at::Tensor Normalize(const at::Tensor& x) {
  return x / x.norm(2, {-1}, /*keepdim=*/true).clamp_min(1e-12).expand_as(x);
}

// mean((A A^T - B B^T)^2) over a batch of row sets [P, R, d], rows already normalised.
at::Tensor RelationMse(const at::Tensor& s, const at::Tensor& t) {
  at::Tensor diff = at::bmm(t, t.transpose(1, 2)) - at::bmm(s, s.transpose(1, 2));
  return (diff * diff).mean();
}

}  // namespace

ManifoldTerms ManifoldLossNaive(const std::vector<at::Tensor>& student, const std::vector<at::Tensor>& teacher,
                                const std::vector<PairPlan>& plans, const std::vector<at::Tensor>& perms,
                                const ManifoldOptions& opts) {
  const auto computeType = student[0].scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
  std::vector<at::Tensor> sample, patch, rand;
  for (size_t i = 0; i < student.size(); ++i) {
    const PairPlan& plan = plans[i];
    at::Tensor s = PrepareStudent(student[i], plan).to(computeType);
    at::Tensor t = PrepareTeacher(teacher[i].detach(), plan).to(computeType);
    // intra-sample: relations between the patches of each image
    patch.push_back(RelationMse(Normalize(s), Normalize(t)));
    // inter-sample: relations between the images at each patch position
    sample.push_back(RelationMse(Normalize(s.permute({1, 0, 2})), Normalize(t.permute({1, 0, 2}))));
    // random rows of the whole batch
    at::Tensor rows = perms[i].to(s.device());
    at::Tensor sr = Normalize(s.reshape({plan.rows(), -1}).index_select(0, rows)).unsqueeze(0);
    at::Tensor tr = Normalize(t.reshape({plan.rows(), -1}).index_select(0, rows)).unsqueeze(0);
    rand.push_back(RelationMse(sr, tr));
  }
  const double pairs = static_cast<double>(student.size());
  ManifoldTerms out;
  out.sample = at::stack(sample).sum() * (opts.wSample / pairs);
  out.patch = at::stack(patch).sum() * (opts.wPatch / pairs);
  out.rand = at::stack(rand).sum() * (opts.wRand / pairs);
  out.total = out.sample + out.patch + out.rand;
  out.perms = perms;
  return out;
}

}  // namespace mdistill::loss
