// The native core without Node (it links mdistill_core only): model forwards (ViT and Swin) against timm's outputs
// on shared fixtures, the fused manifold loss against its naive reference, training steps with the malloc tuning the
// step applies, device specs and the step's keyed generators, the GEMM layer's ops against ATen
// (tests/gemm_checks.cc), a step on each GEMM engine and under --amp, and the teacher's bfloat16 replica. Prints one
// line per check, "ok <check>: <figures>", "FAIL <check>: <why>" or "skip <check>: <why>", and exits 1 on any
// failure. Usage: mdistill_core_test <fixtures dir> (the repository's ../shared/fixtures).
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "core/device.h"
#include "core/error.h"
#include "core/malloc_tuning.h"
#include "core/torch_compat.h"
#include "gemm/gemm_engine.h"
#include "gemm/onednn_matmul.h"
#include "loss/standalone_manifold_loss.h"
#include "model/bf16_replica.h"
#include "model/layers.h"
#include "model/model.h"
#include "tests/check_report.h"
#include "tests/gemm_checks.h"
#include "tests/json_value.h"
#include "tests/safetensors_file.h"
#include "train/distill_step.h"

namespace {

using namespace mdistill;
using tests::MaxRelDiff;
using tests::Num;
using tests::Report;

// ---- (a) a ViT and a Swin forward against timm (test/model/parity.test.ts does the same through the addon).

std::vector<int64_t> IntList(const tests::JsonValue& list) {
  std::vector<int64_t> out;
  for (const auto& v : list.array) out.push_back(static_cast<int64_t>(v.number));
  return out;
}

model::ModelConfig ConfigFromTimm(const tests::SafetensorsFile& weights, const std::string& file) {
  const std::string timmClass = weights.metadata.count("timm_class") ? weights.metadata.at("timm_class") : "";
  if (timmClass != "VisionTransformer" && timmClass != "SwinTransformer") {
    throw std::runtime_error(file + ": metadata timm_class must be VisionTransformer or SwinTransformer for this check");
  }
  const tests::JsonValue kwargs = tests::ParseJson(weights.metadata.at("kwargs"));
  model::ModelConfig c;
  c.arch = timmClass == "SwinTransformer" ? model::Arch::kSwin : model::Arch::kVit;
  c.imgSize = static_cast<int64_t>(kwargs.At("img_size").number);
  c.patchSize = static_cast<int64_t>(kwargs.At("patch_size").number);
  c.inChans = static_cast<int64_t>(kwargs.At("in_chans").number);
  c.numClasses = static_cast<int64_t>(kwargs.At("num_classes").number);
  c.embedDim = static_cast<int64_t>(kwargs.At("embed_dim").number);
  if (c.arch == model::Arch::kSwin) {
    c.depth = 0;
    c.numHeads = 0;
    c.depths = IntList(kwargs.At("depths"));
    c.stageHeads = IntList(kwargs.At("num_heads"));
    c.windowSize = static_cast<int64_t>(kwargs.At("window_size").number);
  } else {
    c.depth = static_cast<int64_t>(kwargs.At("depth").number);
    c.numHeads = static_cast<int64_t>(kwargs.At("num_heads").number);
  }
  c.mlpRatio = kwargs.At("mlp_ratio").number;
  c.qkvBias = kwargs.At("qkv_bias").boolean;
  c.distilled = false;
  c.depthTokenOnly = 0;
  c.initValues = 0;
  c.dropPathRate = 0;
  return c;
}

// Copies every fixture tensor into the parameter of the same (timm) name; both sets of names must agree exactly.
void LoadWeights(model::Model& model, const tests::SafetensorsFile& weights, const std::string& file) {
  const auto params = model.NamedParameters();
  if (params.size() != weights.tensors.size()) {
    throw std::runtime_error(file + " holds " + std::to_string(weights.tensors.size()) + " tensors but the model has " +
                             std::to_string(params.size()) + " parameters");
  }
  at::NoGradGuard noGrad;
  for (const auto& [name, param] : params) {
    auto it = weights.tensors.find(name);
    if (it == weights.tensors.end()) throw std::runtime_error(file + " has no tensor '" + name + "'");
    if (it->second.sizes() != param.sizes()) throw std::runtime_error(file + ": '" + name + "' has another shape than the model's");
    param.copy_(it->second);
  }
}

void CheckModelForward(const std::string& fixtures, const std::string& name) {
  constexpr double kTolerance = 1e-4;  // fp32 against timm, as test/model/parity.test.ts
  const std::string modelFile = fixtures + "/" + name + ".model.safetensors";
  const tests::SafetensorsFile weights = tests::ReadSafetensors(modelFile);
  const tests::SafetensorsFile io = tests::ReadSafetensors(fixtures + "/" + name + ".io.safetensors");
  const model::ModelConfig config = ConfigFromTimm(weights, modelFile);
  std::shared_ptr<model::Model> net = model::CreateModel(config, 0);
  LoadWeights(*net, weights, modelFile);
  std::vector<int64_t> blocks;
  for (int64_t i = 0; i < config.NumBlocks(); ++i) blocks.push_back(i);
  c10::InferenceMode inference;
  net->eval();
  const model::ForwardOutput out = net->Forward(io.tensors.at("input"), blocks, false);
  const at::Tensor& logits = io.tensors.at("logits");
  const bool shapeOk = out.logits.sizes() == logits.sizes();
  const double diff = shapeOk ? (out.logits - logits).abs().max().item<double>() : INFINITY;
  Report(shapeOk && diff < kTolerance, "model forward " + name + " logits",
         "max |diff| " + Num(diff) + " against timm (tolerance " + Num(kTolerance) + ")");
  for (size_t i = 0; i < blocks.size(); ++i) {
    const at::Tensor& want = io.tensors.at("block." + std::to_string(blocks[i]));
    const bool ok = out.blocks[i].sizes() == want.sizes();
    const double d = ok ? (out.blocks[i] - want).abs().max().item<double>() : INFINITY;
    Report(ok && d < kTolerance, "model forward " + name + " block." + std::to_string(blocks[i]),
           "max |diff| " + Num(d) + " against timm (tolerance " + Num(kTolerance) + ")");
  }
}

// ---- (b) the fused manifold loss against the naive one, float64, values and student gradients.

struct ManifoldCase {
  std::string name;
  std::vector<std::pair<std::vector<int64_t>, std::vector<int64_t>>> pairs;  // (student, teacher) shapes
  int64_t k;
  int64_t maxPatchNum;
  std::vector<TokenLayout> studentLayouts = {}, teacherLayouts = {};  // empty: read from the token counts
};

void CheckFusedAgainstNaive(const ManifoldCase& c, uint64_t seed) {
  constexpr double kTolerance = 1e-10;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  std::vector<at::Tensor> student, teacher;
  for (const auto& [s, t] : c.pairs) {
    student.push_back(at::randn(s, gen, at::TensorOptions().dtype(at::kDouble)));
    teacher.push_back(at::randn(t, gen, at::TensorOptions().dtype(at::kDouble)));
  }
  loss::StandaloneManifoldRequest request;
  request.options.wSample = 0.1;
  request.options.wPatch = 4;
  request.options.wRand = 0.2;
  request.options.k = c.k;
  request.options.maxPatchNum = c.maxPatchNum;
  request.options.studentLayouts = c.studentLayouts;
  request.options.teacherLayouts = c.teacherLayouts;
  request.seed = seed;
  request.returnGrad = true;
  request.options.impl = loss::ManifoldImpl::kFused;
  const loss::StandaloneManifoldResult fused = loss::StandaloneManifoldLoss(student, teacher, request);
  request.options.impl = loss::ManifoldImpl::kNaive;
  const loss::StandaloneManifoldResult naive = loss::StandaloneManifoldLoss(student, teacher, request);
  // Relative to the term, or to the total for a term that is ~0 by construction (as test/loss/manifoldLoss.test.ts).
  double worstValue = 0;
  const std::pair<double, double> terms[] = {{fused.sample, naive.sample}, {fused.patch, naive.patch},
                                             {fused.rand, naive.rand}, {fused.total, naive.total}};
  for (const auto& [f, n] : terms) {
    worstValue = std::max(worstValue, std::abs(f - n) / std::max(std::abs(n), std::abs(naive.total) * 1e-3));
  }
  bool samePerms = fused.perms.size() == naive.perms.size();
  for (size_t i = 0; samePerms && i < fused.perms.size(); ++i) samePerms = fused.perms[i].equal(naive.perms[i]);
  double worstGrad = 0;
  bool gradShapes = fused.grads.size() == student.size() && naive.grads.size() == student.size();
  for (size_t i = 0; gradShapes && i < student.size(); ++i) {
    gradShapes = fused.grads[i].sizes() == student[i].sizes() && naive.grads[i].sizes() == student[i].sizes();
    if (gradShapes) worstGrad = std::max(worstGrad, MaxRelDiff(fused.grads[i], naive.grads[i]));
  }
  const bool ok = samePerms && gradShapes && naive.total > 0 && worstValue < kTolerance && worstGrad < kTolerance;
  Report(ok, "manifold fused = naive (float64) " + c.name,
         "total " + Num(fused.total) + ", worst rel diff: values " + Num(worstValue) + ", student grads " +
             Num(worstGrad) + " (tolerance " + Num(kTolerance) + ")" + (samePerms ? "" : "; the rows differ") +
             (gradShapes ? "" : "; gradient shapes differ"));
}

// ---- (c) distillation steps (a ViT and a Swin student), then what glibc's malloc does with a large block.

model::ModelConfig TinyVit(int64_t dim) {
  model::ModelConfig c;
  c.arch = model::Arch::kVit;
  c.imgSize = 8;
  c.patchSize = 4;
  c.inChans = 1;
  c.numClasses = 3;
  c.embedDim = dim;
  c.depth = 2;
  c.numHeads = 2;
  c.mlpRatio = 2;
  c.qkvBias = true;
  c.distilled = false;
  c.depthTokenOnly = 0;
  c.initValues = 0;
  c.dropPathRate = 0;
  return c;
}

model::ModelConfig TinySwin() {
  model::ModelConfig c = TinyVit(8);
  c.arch = model::Arch::kSwin;
  c.patchSize = 1;  // grids 8 (2x2 windows of 4; block 1 shifted), then 4
  c.depth = 0;
  c.numHeads = 0;
  c.depths = {2, 1};
  c.stageHeads = {2, 2};
  c.windowSize = 4;
  return c;
}

// Soft KD (α 0.5, β 1, τ 1) with the three manifold terms at the paper's weights, fused, K 8, no merging, no
// clipping, no EMA, float32, seed 1; each check sets its layer pairs and what else it varies.
train::DistillOptions SoftManifoldOptions(std::vector<int64_t> sIds, std::vector<int64_t> tIds) {
  train::DistillOptions d;
  d.kd = train::KdType::kSoft;
  d.alpha = 0.5;
  d.beta = 1;
  d.tau = 1;
  d.wSample = 0.1;
  d.wPatch = 4;
  d.wRand = 0.2;
  d.k = 8;
  d.maxPatchNum = 0;
  d.fusedManifold = true;
  d.sIds = std::move(sIds);
  d.tIds = std::move(tIds);
  d.clipGrad = 0;
  d.emaDecay = 0;
  d.amp = false;
  d.seed = 1;
  return d;
}

struct OneStep {
  train::StepTerms terms;
  double moved;  // max |change| of the student's first parameter
};

// One step of `student` against a 12-wide ViT teacher on 4 seeded 8x8 images.
OneStep RunOneStep(std::shared_ptr<model::Model> student, const train::DistillOptions& d) {
  train::AdamWOptions a;
  a.weightDecay = 0.05;
  train::DistillStep step(student, model::CreateModel(TinyVit(12), 2), nullptr, d, a);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(3);
  train::StepInput input;
  input.images = at::randn({4, 1, 8, 8}, gen);
  input.targets = at::tensor({0, 1, 2, 1}, at::TensorOptions().dtype(at::kLong));
  input.lr = 1e-3;
  input.step = 0;
  const at::Tensor before = student->NamedParameters().front().second.detach().clone();
  const train::StepTerms t = step.Run(input);
  const double moved = (student->NamedParameters().front().second.detach() - before).abs().max().item<double>();
  return {t, moved};
}

// A Swin student's stage blocks (8x8, then 4x4 grid) against a ViT teacher's 2x2 grid (+cls): both merged to 2x2.
void CheckDistillStepSwinStudent() {
  train::DistillOptions d = SoftManifoldOptions({1, 2}, {1, 1});
  d.maxPatchNum = 4;
  d.emaDecay = 0.99;
  const auto [t, moved] = RunOneStep(model::CreateModel(TinySwin(), 1), d);
  const bool ok = std::isfinite(t.total) && t.sample > 0 && t.patch > 0 && t.rand > 0 && moved > 0;
  Report(ok, "distill step, Swin student merged to a ViT teacher's grid",
         "total " + Num(t.total) + ", sample " + Num(t.sample) + ", patch " + Num(t.patch) + ", rand " + Num(t.rand) +
             ", first parameter moved by " + Num(moved));
}

void CheckDistillStep() {
  train::DistillOptions d = SoftManifoldOptions({1}, {1});
  d.beta = 2;
  d.emaDecay = 0.99;
  const auto [t, moved] = RunOneStep(model::CreateModel(TinyVit(8), 1), d);
  const double weighted = (1 - d.alpha) * t.base + d.alpha * t.kd + d.beta * (t.sample + t.patch + t.rand);
  const double weightingError = std::abs(t.total - weighted) / std::abs(weighted);
  const bool ok = std::isfinite(t.total) && t.sample > 0 && t.patch > 0 && t.rand > 0 && weightingError < 1e-6 && moved > 0;
  Report(ok, "distill step",
         "total " + Num(t.total) + " = (1-a)*base + a*kd + b*(sample + patch + rand) to " + Num(weightingError) +
             " relative, first parameter moved by " + Num(moved));
}

// ---- (d) device specs, and the step's keyed randomness on the models' device (the CPU here, each GPU elsewhere).

// The error ParseDevice throws for `spec`, or "" when it accepts it.
std::string DeviceError(const std::string& spec) {
  try {
    ParseDevice(spec, "--device");
    return "";
  } catch (const Error& e) {
    return std::string(e.code()) + ": " + e.what();
  }
}

void CheckDeviceSpecs() {
  const bool cpuOk = ParseDevice("cpu", "--device") == at::Device(at::kCPU);
  bool malformedRefused = true;
  for (const char* bad : {"gpu", "cpu0", "cuda:", "cuda:x", "cuda0", "cuda:-1", "cuda:1:2", ""}) {
    const std::string e = DeviceError(bad);
    malformedRefused = malformedRefused && e.rfind("MDISTILL_BAD_ARGUMENT: --device '" + std::string(bad) + "' is not a device", 0) == 0;
  }
  const int gpus = at::hasCUDA() ? static_cast<int>(at::getNumGPUs()) : 0;
  const std::string past = DeviceError("cuda:" + std::to_string(gpus));
  const bool pastRefused = gpus == 0 ? past.find("this libtorch has no CUDA") != std::string::npos
                                     : past.find("this process sees " + std::to_string(gpus) + " CUDA device(s)") != std::string::npos;
  Report(cpuOk && malformedRefused && pastRefused, "device specs",
         "cpu accepted, 8 malformed specs refused, cuda:" + std::to_string(gpus) + " refused: " + past);
}

// --amp's autocast is per device type (torch_compat.h over both libtorch APIs): turning on CUDA's leaves the CPU's
// alone, and each keeps its own dtype. The state is thread-local flags, so this runs without a GPU.
void CheckAutocastPerDevice() {
  const bool cpuBefore = compat::AutocastEnabled(at::kCPU), cudaBefore = compat::AutocastEnabled(at::kCUDA);
  const at::ScalarType cpuDtype = compat::AutocastDtype(at::kCPU), cudaDtype = compat::AutocastDtype(at::kCUDA);
  compat::SetAutocastEnabled(at::kCUDA, true);
  compat::SetAutocastDtype(at::kCUDA, at::kBFloat16);
  const bool cudaOnly = compat::AutocastEnabled(at::kCUDA) && !compat::AutocastEnabled(at::kCPU);
  compat::SetAutocastEnabled(at::kCUDA, false);
  compat::SetAutocastEnabled(at::kCPU, true);
  compat::SetAutocastDtype(at::kCPU, at::kBFloat16);  // the only CPU autocast dtype 1.13 accepts
  compat::SetAutocastDtype(at::kCUDA, at::kHalf);
  const bool cpuOnly = compat::AutocastEnabled(at::kCPU) && !compat::AutocastEnabled(at::kCUDA);
  const bool dtypes = compat::AutocastDtype(at::kCPU) == at::kBFloat16 && compat::AutocastDtype(at::kCUDA) == at::kHalf;
  compat::SetAutocastEnabled(at::kCPU, cpuBefore);
  compat::SetAutocastEnabled(at::kCUDA, cudaBefore);
  compat::SetAutocastDtype(at::kCPU, cpuDtype);
  compat::SetAutocastDtype(at::kCUDA, cudaDtype);
  Report(!cpuBefore && !cudaBefore && cudaOnly && cpuOnly && dtypes, "autocast per device type",
         "CUDA's on leaves the CPU's off and the reverse; dtypes kept apart (libtorch " TORCH_VERSION ")");
}

// Drop-path masks drawn on `device` after seeding its default generator: the same seed gives the same mask.
void CheckStepGenerators(at::Device device) {
  const at::Tensor x = at::ones({256, 3, 4}, at::TensorOptions().device(device));
  auto draw = [&](uint64_t seed) {
    SeedDefaultGenerators(device, seed);
    return model::DropPath(x, 0.5, /*train=*/true).to(at::kCPU);
  };
  const at::Tensor a = draw(7), b = draw(7), c = draw(8);
  const bool ok = a.equal(b) && !a.equal(c) && a.eq(0).any().item<bool>() && a.ne(0).any().item<bool>();
  Report(ok, "step generators " + device.str(), "a drop-path mask repeats under the same seed and changes with another");
}

// ---- (e) a step of each GEMM engine, float32 and under --amp, and the bfloat16 replica of the teacher.

model::ModelConfig SmallVit() {
  model::ModelConfig c = TinyVit(24);
  c.imgSize = 16;  // 16 patches + cls: no block size divides the 17·6 token rows
  c.numHeads = 3;
  return c;
}

// A CaiT teacher, so the step covers talking heads and class attention too.
model::ModelConfig SmallCait() {
  model::ModelConfig c = SmallVit();
  c.arch = model::Arch::kCait;
  c.embedDim = 32;
  c.numHeads = 4;
  c.depthTokenOnly = 1;
  c.initValues = 0.1;
  return c;
}

struct StepsRun {
  std::vector<train::StepTerms> terms;
  std::vector<at::Tensor> grads;  // of the last step
};

StepsRun RunSmallSteps(gemm::Engine engine, bool amp, int steps) {
  gemm::ScopedEngine scoped(engine);
  train::DistillOptions d = SoftManifoldOptions({0, 1}, {0, 1});
  d.beta = 2;
  d.k = 16;
  d.amp = amp;
  d.seed = 5;
  train::AdamWOptions a;
  a.weightDecay = 0.05;
  auto student = model::CreateModel(SmallVit(), 1);
  train::DistillStep step(student, model::CreateModel(SmallCait(), 2), nullptr, d, a);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(3);
  train::StepInput input;
  input.images = at::randn({6, 1, 16, 16}, gen);
  input.targets = at::tensor({0, 1, 2, 1, 0, 2}, at::TensorOptions().dtype(at::kLong));
  input.lr = 1e-3;
  StepsRun run;
  for (int s = 0; s < steps; ++s) {
    input.step = s;
    run.terms.push_back(step.Run(input));
  }
  for (const auto& p : student->parameters()) run.grads.push_back(p.grad().detach().clone());
  return run;
}

double WorstTermDiff(const train::StepTerms& a, const train::StepTerms& b) {
  double worst = 0;
  const std::pair<double, double> terms[] = {{a.total, b.total}, {a.base, b.base}, {a.kd, b.kd}, {a.sample, b.sample},
                                             {a.patch, b.patch}, {a.rand, b.rand}};
  for (const auto& [x, y] : terms) worst = std::max(worst, std::abs(x - y) / std::max(std::abs(y), 1e-12));
  return worst;
}

double WorstGradDiff(const std::vector<at::Tensor>& a, const std::vector<at::Tensor>& b) {
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, MaxRelDiff(a[i], b[i]));
  return worst;
}

// MDISTILL_GEMM=onednn and =aten must train alike: two float32 steps (the second on weights the first updated).
void CheckEnginesAgreeOnStep() {
  const std::string check = "distill step onednn = aten (float32)";
  if (!gemm::onednn::Compiled()) return tests::Skip(check, "this build has no oneDNN");
  // float32 through two models and the loss, summed in another order; the manifold terms are means of squared
  // differences of Gram matrices, whose cancellation magnifies the relative error of the features.
  constexpr double kTermTolerance = 1e-4, kGradTolerance = 1e-4;
  const StepsRun onednn = RunSmallSteps(gemm::Engine::kOneDnn, false, 2);
  const StepsRun aten = RunSmallSteps(gemm::Engine::kAten, false, 2);
  const double terms = std::max(WorstTermDiff(onednn.terms[0], aten.terms[0]), WorstTermDiff(onednn.terms[1], aten.terms[1]));
  const double grads = WorstGradDiff(onednn.grads, aten.grads);
  Report(terms < kTermTolerance && grads < kGradTolerance, check,
         "worst rel diff of the loss terms " + Num(terms) + " (tolerance " + Num(kTermTolerance) + "), of the second step's gradients " +
             Num(grads) + " (tolerance " + Num(kGradTolerance) + ")");
}

// --amp: bfloat16 products in the student, the teacher whole in bfloat16; finite, and near the float32 step. On each
// engine: the ATen engine takes bfloat16 from autocast and runs the bfloat16 teacher through at::linear.
void CheckAmpStep(gemm::Engine engine) {
  const std::string check = std::string("distill step amp (bfloat16) near float32, ") + gemm::EngineName(engine);
  if (engine == gemm::Engine::kOneDnn && !gemm::onednn::Compiled()) return tests::Skip(check, "this build has no oneDNN");
  constexpr double kTermTolerance = 0.05, kGradTolerance = 0.1;  // bfloat16's 8-bit significand through a whole step
  const StepsRun amp = RunSmallSteps(engine, true, 2);
  const StepsRun fp32 = RunSmallSteps(engine, false, 2);
  bool finite = true;
  for (const auto& t : amp.terms) finite = finite && std::isfinite(t.total) && std::isfinite(t.gradNorm);
  for (const auto& g : amp.grads) finite = finite && g.scalar_type() == at::kFloat && g.isfinite().all().item<bool>();
  const double terms = std::max(WorstTermDiff(amp.terms[0], fp32.terms[0]), WorstTermDiff(amp.terms[1], fp32.terms[1]));
  const double grads = WorstGradDiff(amp.grads, fp32.grads);
  Report(finite && terms < kTermTolerance && grads < kGradTolerance, check,
         std::string("float32 gradients, finite; worst rel diff to float32 of the loss terms ") + Num(terms) + " (tolerance " +
             Num(kTermTolerance) + "), of the second step's gradients " + Num(grads) + " (tolerance " + Num(kGradTolerance) + ")");
}

// The teacher's bfloat16 copy is made once and follows weight changes without being rebuilt.
void CheckBf16Replica() {
  auto source = model::CreateModel(SmallCait(), 7);
  model::Bf16Replica replica(source);
  const auto first = replica.Get();
  const auto sameAs = [&](const model::Model& copy) {
    bool same = true;
    const auto a = source->NamedParameters(), b = copy.NamedParameters();
    for (size_t i = 0; i < a.size(); ++i) same = same && b[i].second.scalar_type() == at::kBFloat16 && b[i].second.equal(a[i].second.to(at::kBFloat16));
    return same;
  };
  const bool copied = sameAs(*first);
  const int64_t versionBefore = first->NamedParameters()[0].second._version();
  const bool kept = replica.Get()->NamedParameters()[0].second._version() == versionBefore;  // nothing changed: no copy
  {
    at::NoGradGuard noGrad;
    source->NamedParameters().back().second.add_(1.0);
  }
  const auto second = replica.Get();
  const bool followed = second.get() == first.get() && sameAs(*second);
  Report(copied && kept && followed, "bf16 replica",
         std::string("bfloat16 copy of every parameter: ") + (copied ? "yes" : "no") + "; untouched when the source is: " +
             (kept ? "yes" : "no") + "; follows a weight change in place: " + (followed ? "yes" : "no"));
}

// A Swin's bfloat16 copy keeps its integer relative-position index, and its forward stays near the float32 one.
void CheckBf16ReplicaSwin() {
  auto source = model::CreateModel(TinySwin(), 8);
  model::Bf16Replica replica(source);
  const auto copy = replica.Get();
  auto gen = at::make_generator<at::CPUGeneratorImpl>(9);
  const at::Tensor x = at::randn({2, 1, 8, 8}, gen);
  at::NoGradGuard noGrad;
  const at::Tensor fp32 = source->Forward(x, {}, false).logits;
  const at::Tensor bf16 = copy->Forward(x.to(at::kBFloat16), {}, false).logits;
  // The integer buffers (relative-position and token-permutation indices) keep their dtype.
  int64_t longBuffers = 0, sourceLongBuffers = 0;
  for (const auto& b : copy->buffers()) longBuffers += b.scalar_type() == at::kLong;
  for (const auto& b : source->buffers()) sourceLongBuffers += b.scalar_type() == at::kLong;
  const bool indexKept = longBuffers > 0 && longBuffers == sourceLongBuffers;
  const double diff = MaxRelDiff(bf16.to(at::kFloat), fp32);
  constexpr double kTolerance = 0.05;  // bfloat16's 8-bit significand through three blocks and a head
  Report(indexKept && bf16.scalar_type() == at::kBFloat16 && diff < kTolerance, "bf16 replica of a Swin",
         std::to_string(longBuffers) + " integer index buffer(s) kept; bfloat16 logits, max rel diff to float32 " + Num(diff) + " (tolerance " + Num(kTolerance) + ")");
}

// Whether a block of `bytes` is mmapped (glibc's default threshold) or taken from the heap (the tuned 32 MiB one).
const char* WhereMallocPutsIt(size_t bytes) {
#if defined(__GLIBC__) && __GLIBC_PREREQ(2, 33)
  const size_t mappedBefore = mallinfo2().hblkhd;
  void* volatile block = std::malloc(bytes);
  const size_t mappedAfter = mallinfo2().hblkhd;
  std::free(block);
  return mappedAfter >= mappedBefore + bytes ? "mmapped" : "heap";
#else
  return "unknown (needs glibc >= 2.33)";
#endif
}

// Run after the step, without calling TuneMalloc first: the step must apply the tuning or leave malloc alone, as the
// environment says, and TuneMalloc must report what is in effect. Tuned, a 30 MiB block (under the 32 MiB threshold)
// comes from the heap; untouched, glibc mmaps it (its threshold starts at 128 KiB and only grows to the largest
// mmapped block freed so far, nothing near 30 MiB here). With the user's own MALLOC_*_ variables glibc follows
// them, and only the report is checked (by the caller).
void CheckMallocTuningAfterStep() {
  constexpr size_t kBlock = 30u << 20;
  const std::string& state = TuneMalloc();
  const std::string where = WhereMallocPutsIt(kBlock);
  const bool applied = state.rfind("applied: ", 0) == 0;
  const bool userChose = state.rfind("skipped: MALLOC_", 0) == 0;
  const bool ok = userChose || where == (applied ? "heap" : "mmapped");
  Report(ok, "malloc tuning after a step", state + "; a 30 MiB block is " + where);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s <fixtures dir>\n", argv[0]);
    return 2;
  }
  const std::string fixtures = argv[1];
  const auto guarded = tests::Guarded;
  guarded("model forward vit_tiny_gray28", [&] { CheckModelForward(fixtures, "vit_tiny_gray28"); });
  guarded("model forward swin_32", [&] { CheckModelForward(fixtures, "swin_32"); });
  const std::vector<ManifoldCase> cases = {
      {"two pairs, one extra student token", {{{3, 8, 5}, {3, 7, 11}}, {{3, 8, 5}, {3, 7, 6}}}, 10, 0},
      {"K >= B*N clamped", {{{2, 5, 3}, {2, 5, 3}}}, 100, 0},
      {"merge 8x8 (+cls) with 4x4, max_patch_num 16", {{{2, 65, 4}, {2, 16, 6}}}, 8, 16},
      {"merge 14x14 (+cls) with 7x7, max_patch_num 49", {{{2, 197, 8}, {2, 49, 12}}}, 20, 49},
      {"Swin stages 8x8 and 4x4 against a ViT 4x4 (+cls), max_patch_num 16",
       {{{2, 64, 4}, {2, 17, 6}}, {{2, 16, 8}, {2, 17, 6}}}, 12, 16, {{0, 8, 8}, {0, 4, 4}}, {{1, 4, 4}, {1, 4, 4}}},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    guarded("manifold fused = naive (float64) " + cases[i].name, [&] { CheckFusedAgainstNaive(cases[i], 11 + i); });
  }
  guarded("device specs", CheckDeviceSpecs);
  guarded("autocast per device type", CheckAutocastPerDevice);
  guarded("step generators cpu", [] { CheckStepGenerators(at::Device(at::kCPU)); });
  if (at::hasCUDA()) guarded("step generators cuda", [] { CheckStepGenerators(at::Device(at::kCUDA, 0)); });
  guarded("distill step", CheckDistillStep);
  guarded("distill step, Swin student merged to a ViT teacher's grid", CheckDistillStepSwinStudent);
  guarded("malloc tuning after a step", CheckMallocTuningAfterStep);
  tests::RunGemmChecks();
  guarded("distill step onednn = aten (float32)", CheckEnginesAgreeOnStep);
  guarded("distill step amp (bfloat16) near float32, onednn", [] { CheckAmpStep(gemm::Engine::kOneDnn); });
  guarded("distill step amp (bfloat16) near float32, aten", [] { CheckAmpStep(gemm::Engine::kAten); });
  guarded("bf16 replica", CheckBf16Replica);
  guarded("bf16 replica of a Swin", CheckBf16ReplicaSwin);
  const int failures = tests::Failures();
  std::printf("%s: %d check(s) failed\n", failures == 0 ? "passed" : "FAILED", failures);
  return failures == 0 ? 0 : 1;
}
