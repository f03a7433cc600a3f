#include "train/distill_step.h"

#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/DeviceGuard.h>
#include <c10/core/InferenceMode.h>
#include <torch/csrc/autograd/autograd.h>

#include <chrono>
#include <cmath>
#include <sstream>

#include "core/device.h"
#include "core/error.h"
#include "core/malloc_tuning.h"
#include "core/torch_compat.h"
#include "dist/gradient_sync.h"
#include "dist/process_group.h"
#include "loss/manifold_loss.h"

namespace mdistill::train {

namespace {

// The step's randomness (drop-path, the random relation's rows) is keyed by (seed, step), so a resumed run
// draws exactly what an uninterrupted one would, with no generator state to save.
uint64_t StepSeed(uint64_t seed, int64_t step) {
  uint64_t z = seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(step) + 0x632BE59BD9B4E019ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// Scoped bf16 autocast on the models' device type (thread-local state, set on the worker thread running the
// step). bf16 keeps fp32's 8-bit exponent, so gradients do not underflow as fp16's do and no loss scaling is needed.
class DeviceAutocast {
 public:
  DeviceAutocast(bool on, at::DeviceType device) : on_(on), device_(device) {
    if (!on_) return;
    previous_ = compat::AutocastEnabled(device_);
    previousDtype_ = compat::AutocastDtype(device_);
    compat::SetAutocastEnabled(device_, true);
    compat::SetAutocastDtype(device_, at::kBFloat16);
  }
  ~DeviceAutocast() {
    if (!on_) return;
    compat::SetAutocastEnabled(device_, previous_);
    compat::SetAutocastDtype(device_, previousDtype_);
    at::autocast::clear_cache();
  }

 private:
  bool on_;
  at::DeviceType device_;
  bool previous_ = false;
  at::ScalarType previousDtype_ = at::kBFloat16;
};

// A step runs on a pool thread: the models' CUDA device is made current there, so whatever the step creates without
// naming a device (collective buffers, streams, workspaces) lands on it rather than on cuda:0.
class ModelDeviceGuard {
 public:
  explicit ModelDeviceGuard(at::Device device) {
    if (!device.is_cpu()) guard_.reset_device(device);
  }

 private:
  c10::OptionalDeviceGuard guard_;
};

// Adds the seconds since the last Lap() to a phase (nothing without a phase record).
class PhaseClock {
 public:
  explicit PhaseClock(StepPhases* phases) : phases_(phases), last_(std::chrono::steady_clock::now()) {}
  void Lap(double StepPhases::*phase) {
    if (!phases_) return;
    const auto now = std::chrono::steady_clock::now();
    phases_->*phase += std::chrono::duration<double>(now - last_).count();
    last_ = now;
  }

 private:
  StepPhases* phases_;
  std::chrono::steady_clock::time_point last_;
};

// "nan" rather than the platform's "-nan", so the message reads the same everywhere.
std::string Fmt(double v) {
  if (std::isnan(v)) return "nan";
  std::ostringstream s;
  s << v;
  return s.str();
}

double ClipGradNorm(const std::vector<at::Tensor>& params, double maxNorm) {
  at::NoGradGuard noGrad;
  std::vector<at::Tensor> norms;
  for (const auto& p : params) {
    if (p.grad().defined()) norms.push_back(p.grad().norm(2));
  }
  if (norms.empty()) return 0;
  const double total = at::stack(norms).norm(2).item<double>();
  if (maxNorm > 0 && total > maxNorm) {
    const double scale = maxNorm / (total + 1e-6);
    for (const auto& p : params) {
      if (p.grad().defined()) p.mutable_grad().mul_(scale);
    }
  }
  return total;
}

}  // namespace

DistillStep::DistillStep(std::shared_ptr<model::Model> student, std::shared_ptr<model::Model> teacher,
                         std::shared_ptr<model::Model> ema, DistillOptions options, AdamWOptions adamw)
    : student_(std::move(student)), teacher_(std::move(teacher)), ema_(std::move(ema)), options_(std::move(options)),
      optimizer_(student_->NamedParameters(), adamw) {
  TuneMalloc();  // for hosts without the addon (which tunes at load); the same idempotent call
  if (options_.sIds.size() != options_.tIds.size()) {
    throw Error(codes::kBadArgument, "s-id and t-id must have the same length");
  }
  student_->CheckBlocks(options_.sIds);
  if (teacher_) {
    teacher_->CheckBlocks(options_.tIds);
    PlanLayerPairs();
    teacher_->eval();
    for (auto& p : teacher_->parameters()) p.set_requires_grad(false);
    if (options_.amp) teacherBf16_.emplace(teacher_);
  }
  if (ema_) {
    for (auto& p : ema_->parameters()) p.set_requires_grad(false);
    emaUpdater_.emplace(ema_->NamedParameters(), student_->NamedParameters());
  }
}

void DistillStep::PlanLayerPairs() {
  studentLayouts_.clear();
  teacherLayouts_.clear();
  for (size_t i = 0; i < options_.sIds.size(); ++i) {
    const TokenLayout s = student_->BlockLayout(options_.sIds[i]), t = teacher_->BlockLayout(options_.tIds[i]);
    studentLayouts_.push_back(s);
    teacherLayouts_.push_back(t);
    // Fails here, before any step, when the two grids cannot be brought together (the message names both).
    try {
      loss::PlanPair({1, s.tokens(), 1}, {1, t.tokens(), 1}, options_.maxPatchNum, i, s, t);
    } catch (const Error& e) {
      throw Error(e.code(), "--s-id " + std::to_string(options_.sIds[i]) + " / --t-id " + std::to_string(options_.tIds[i]) + ": " + e.what());
    }
  }
}

void DistillStep::AttachDistributed(std::shared_ptr<dist::ProcessGroup> group, bool globalSampleManifold, size_t bucketBytes) {
  if (!group) throw Error(codes::kBadArgument, "AttachDistributed: no process group");
  std::vector<at::Tensor> weights;
  {
    at::NoGradGuard noGrad;
    for (auto& p : student_->parameters()) weights.push_back(p.detach());
    if (ema_) {
      for (auto& p : ema_->parameters()) weights.push_back(p.detach());
    }
    group->Broadcast(weights);
  }
  group_ = group;
  globalSampleManifold_ = globalSampleManifold;
  gradientSync_ = group->size() > 1 ? std::make_shared<dist::GradientSync>(group, student_->parameters(), bucketBytes) : nullptr;
}

void DistillStep::ResetEma() {
  if (emaUpdater_) emaUpdater_->Reset();
}

uint64_t DistillStep::RankSeed() const {
  // Rank 0 keeps the single-process stream; other ranks draw their own drop-path masks and random rows.
  return group_ && group_->rank() > 0 ? options_.seed ^ (0xD1B54A32D192ED03ULL * static_cast<uint64_t>(group_->rank())) : options_.seed;
}

at::Tensor DistillStep::GlobalSampleTerm(const std::vector<at::Tensor>& student, const std::vector<at::Tensor>& teacher,
                                         const loss::ManifoldOptions& m) {
  std::vector<at::Tensor> gs, gt;
  const int64_t rank = group_->rank();
  for (size_t i = 0; i < student.size(); ++i) {
    const at::Tensor live = student[i].to(at::kFloat);
    const int64_t b = live.size(0);
    const at::Tensor all = group_->AllGather(live.detach());
    std::vector<at::Tensor> parts;
    if (rank > 0) parts.push_back(all.narrow(0, 0, rank * b));
    parts.push_back(live);
    if (all.size(0) > (rank + 1) * b) parts.push_back(all.narrow(0, (rank + 1) * b, all.size(0) - (rank + 1) * b));
    gs.push_back(at::cat(parts, 0));
    gt.push_back(group_->AllGather(teacher[i].to(at::kFloat).contiguous()));
  }
  loss::ManifoldOptions sampleOnly = m;
  sampleOnly.wPatch = 0;
  sampleOnly.wRand = 0;
  auto unused = at::detail::createCPUGenerator(0);
  return loss::ManifoldLoss(gs, gt, sampleOnly, unused).sample;
}

DistillStep::Forward DistillStep::Compute(const StepInput& rawInput, bool train, StepPhases* phases) {
  student_->CheckInput(rawInput.images);
  PhaseClock clock(phases);
  const at::Device device = student_->device();
  StepInput input = rawInput;
  input.images = rawInput.images.to(device);
  input.targets = rawInput.targets.to(device);
  const bool useTeacher = teacher_ && options_.kd != KdType::kNone;
  const bool useManifold = useTeacher && options_.beta != 0 && !options_.sIds.empty() &&
                           (options_.wSample != 0 || options_.wPatch != 0 || options_.wRand != 0);
  SeedDefaultGenerators(device, StepSeed(RankSeed(), input.step));
  DeviceAutocast autocast(options_.amp, device.type());

  at::Tensor teacherLogits;
  std::vector<at::Tensor> teacherBlocks;
  if (useTeacher) {
    c10::InferenceMode inference;
    const std::vector<int64_t> keep = useManifold ? options_.tIds : std::vector<int64_t>{};
    // Under --amp the teacher runs whole in bfloat16 (its blocks and logits are upcast by the losses).
    model::ForwardOutput t = teacherBf16_ ? teacherBf16_->Get()->Forward(input.images.to(at::kBFloat16), keep, false)
                                          : teacher_->Forward(input.images, keep, false);
    teacherLogits = t.logits.to(at::kFloat);
    teacherBlocks = std::move(t.blocks);
  }
  // Inference tensors cannot enter autograd; clones are ordinary tensors (the teacher side needs no gradient).
  for (auto& b : teacherBlocks) b = b.clone();
  if (teacherLogits.defined()) teacherLogits = teacherLogits.clone();
  clock.Lap(&StepPhases::teacher);

  model::ForwardOutput s = student_->Forward(input.images, useManifold ? options_.sIds : std::vector<int64_t>{}, train);
  clock.Lap(&StepPhases::student);
  Forward f;
  f.logits = s.logits.to(at::kFloat);
  const at::Tensor kdLogits = s.logitsDist.defined() ? s.logitsDist.to(at::kFloat) : f.logits;
  f.base = CrossEntropy(f.logits, input.targets);
  f.kd = useTeacher ? KdLoss(options_.kd, kdLogits, teacherLogits, options_.tau) : at::zeros({}, f.logits.options());
  if (useManifold) {
    loss::ManifoldOptions m;
    m.wSample = options_.wSample;
    m.wPatch = options_.wPatch;
    m.wRand = options_.wRand;
    m.k = options_.k;
    m.maxPatchNum = options_.maxPatchNum;
    m.studentLayouts = studentLayouts_;
    m.teacherLayouts = teacherLayouts_;
    m.impl = options_.fusedManifold ? loss::ManifoldImpl::kFused : loss::ManifoldImpl::kNaive;
    auto gen = at::detail::createCPUGenerator(StepSeed(RankSeed() ^ 0x5A5A5A5AULL, input.step));
    const bool global = globalSampleManifold_ && group_ && group_->size() > 1 && options_.wSample != 0;
    if (global) {
      // The sample (inter-image) relation over the whole global batch: remote features are gathered detached,
      // so each rank's gradient reaches only its own images; the patch and random terms stay per rank.
      loss::ManifoldOptions local = m;
      local.wSample = 0;
      loss::ManifoldTerms terms = loss::ManifoldLoss(s.blocks, teacherBlocks, local, gen);
      f.patch = terms.patch;
      f.rand = terms.rand;
      f.sample = GlobalSampleTerm(s.blocks, teacherBlocks, m);
    } else {
      loss::ManifoldTerms terms = loss::ManifoldLoss(s.blocks, teacherBlocks, m, gen);
      f.sample = terms.sample;
      f.patch = terms.patch;
      f.rand = terms.rand;
    }
  } else {
    f.sample = f.patch = f.rand = at::zeros({}, f.logits.options());
  }
  if (useTeacher) {
    f.total = (1.0 - options_.alpha) * f.base + options_.alpha * f.kd + options_.beta * (f.sample + f.patch + f.rand);
  } else {
    f.total = f.base;
  }
  f.objective = f.total;
  if (useManifold && globalSampleManifold_ && group_ && group_->size() > 1 && options_.wSample != 0) {
    // Every rank holds the same global sample term but only its own images' share of the gradient; the
    // gradient all-reduce averages (divides by the world size), so the sum over ranks needs this factor back.
    f.objective = f.total + (group_->size() - 1) * options_.beta * f.sample;
  }
  clock.Lap(&StepPhases::loss);
  return f;
}

namespace {
StepTerms Scalars(const at::Tensor& total, const at::Tensor& base, const at::Tensor& kd, const at::Tensor& sample,
                  const at::Tensor& patch, const at::Tensor& rand) {
  StepTerms t;
  t.total = total.item<double>();
  t.base = base.item<double>();
  t.kd = kd.item<double>();
  t.sample = sample.item<double>();
  t.patch = patch.item<double>();
  t.rand = rand.item<double>();
  return t;
}

int64_t TopOneHits(const at::Tensor& logits, const at::Tensor& targets) {
  at::Tensor labels = targets.dim() == 1 ? targets : targets.argmax(1);
  return logits.detach().argmax(1).eq(labels).sum().item<int64_t>();
}
}  // namespace

StepTerms DistillStep::Run(const StepInput& input) {
  const ModelDeviceGuard deviceGuard(student_->device());
  student_->train();
  StepPhases phases;
  Forward f = Compute(input, true, &phases);
  PhaseClock clock(&phases);
  StepTerms terms = Scalars(f.total, f.base, f.kd, f.sample, f.patch, f.rand);
  terms.correct = TopOneHits(f.logits, input.targets);
  const auto syncClock = [] { return std::chrono::steady_clock::now(); };
  const auto seconds = [](auto a, auto b) { return std::chrono::duration<double>(b - a).count(); };
  if (group_ && group_->size() > 1) {
    const auto t0 = syncClock();
    // One small all-reduce: every rank logs the same global means and agrees on whether the step is finite.
    at::Tensor v = at::tensor({terms.total, terms.base, terms.kd, terms.sample, terms.patch, terms.rand,
                               static_cast<double>(terms.correct)}, at::kDouble);
    group_->AllReduceSum(v);
    const double n = group_->size();
    auto a = v.accessor<double, 1>();
    terms.total = a[0] / n;
    terms.base = a[1] / n;
    terms.kd = a[2] / n;
    terms.sample = a[3] / n;
    terms.patch = a[4] / n;
    terms.rand = a[5] / n;
    terms.correct = static_cast<int64_t>(a[6]);
    terms.syncSeconds += seconds(t0, syncClock());
  }
  if (!std::isfinite(terms.total)) {
    std::ostringstream msg;
    msg << "non-finite loss at step " << input.step << ": total=" << Fmt(terms.total) << " base=" << Fmt(terms.base)
        << " kd=" << Fmt(terms.kd) << " sample=" << Fmt(terms.sample) << " patch=" << Fmt(terms.patch) << " rand=" << Fmt(terms.rand)
        << ". Lower --lr, set --clip-grad, or check the inputs; the weights were not updated.";
    throw Error(codes::kNonFiniteLoss, msg.str());
  }
  optimizer_.ZeroGrad();
  clock.Lap(&StepPhases::loss);
  if (gradientSync_) gradientSync_->BeginBackward();
  f.objective.backward();
  if (gradientSync_) {
    const auto t0 = syncClock();
    gradientSync_->FinishBackward();
    terms.syncSeconds += seconds(t0, syncClock());
  }
  clock.Lap(&StepPhases::backward);
  std::vector<at::Tensor> params;
  for (auto& [name, p] : student_->NamedParameters()) params.push_back(p);
  terms.gradNorm = ClipGradNorm(params, options_.clipGrad);
  optimizer_.Step(input.lr);
  if (emaUpdater_) emaUpdater_->Update(options_.emaDecay);
  clock.Lap(&StepPhases::optimizer);
  terms.phases = phases;
  return terms;
}

StepTerms DistillStep::LossTerms(const StepInput& input) {
  const ModelDeviceGuard deviceGuard(student_->device());
  student_->train();
  at::NoGradGuard noGrad;
  Forward f = Compute(input, true, nullptr);
  StepTerms terms = Scalars(f.total, f.base, f.kd, f.sample, f.patch, f.rand);
  terms.correct = TopOneHits(f.logits, input.targets);
  return terms;
}

}  // namespace mdistill::train
