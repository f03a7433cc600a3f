// One distillation step: teacher forward (inference mode, only the needed blocks kept), student forward and
// backward, the official loss weighting, gradient clipping, AdamW and the EMA update.
#pragma once
#include <ATen/ATen.h>

#include <memory>
#include <optional>
#include <vector>

#include "loss/manifold_options.h"
#include "model/bf16_replica.h"
#include "model/model.h"
#include "train/adamw.h"
#include "train/logit_losses.h"
#include "train/model_ema.h"

namespace mdistill::dist {
class ProcessGroup;
class GradientSync;
}  // namespace mdistill::dist

namespace mdistill::train {

// Every field is set by the caller (the N-API binding reads each one from TypeScript, whose schema holds the
// defaults); the zeros here only keep the struct initialised.
struct DistillOptions {
  KdType kd = KdType::kNone;
  double alpha = 0;
  double beta = 0;
  double tau = 0;
  double wSample = 0;
  double wPatch = 0;
  double wRand = 0;
  int64_t k = 0;
  int64_t maxPatchNum = 0;
  bool fusedManifold = true;
  std::vector<int64_t> sIds, tIds;
  double clipGrad = 0;  // <= 0: off
  double emaDecay = 0;  // used when an EMA model is given
  bool amp = false;     // bf16: the student's products (bf16 operands, fp32 results), the teacher's whole forward
  uint64_t seed = 0;
};

struct StepInput {
  at::Tensor images;   // [B, C, H, W] float32, CPU (moved to the models' device)
  at::Tensor targets;  // [B] int64 labels, or [B, classes] float soft targets
  double lr = 0;
  int64_t step = 0;    // global step: keys the step's randomness (drop-path, the random relation's rows)
};

// Wall seconds of the step's phases (for benchmarks and profiling; the loss phase includes the fused manifold
// loss's student gradient, which it computes during its forward).
struct StepPhases {
  double teacher = 0, student = 0, loss = 0, backward = 0, optimizer = 0;
};

// The terms as the official code weighs them: total = (1−α)·base + α·kd + β·(sample + patch + rand),
// with sample/patch/rand already carrying their w_* weights. With kd none: total = base.
struct StepTerms {
  double total = 0, base = 0, kd = 0, sample = 0, patch = 0, rand = 0;
  double gradNorm = 0;
  double syncSeconds = 0;  // data parallel: time spent waiting on collectives (metrics + the gradient buckets' tail)
  int64_t correct = 0;  // top-1 hits of the student's cls head against hard labels (or the targets' argmax)
  StepPhases phases;    // filled by Run
};


class DistillStep {
 public:
  // Applies the process-wide malloc tuning (core/malloc_tuning.h) unless the environment opts out; idempotent.
  DistillStep(std::shared_ptr<model::Model> student, std::shared_ptr<model::Model> teacher,
              std::shared_ptr<model::Model> ema, DistillOptions options, AdamWOptions adamw);

  // Throws Error(kNonFiniteLoss) naming the step and every term before any weight changes.
  StepTerms Run(const StepInput& input);
  // The loss terms of a training-mode forward, without a backward pass or an update (tests check the weighting).
  StepTerms LossTerms(const StepInput& input);

  AdamW& optimizer() { return optimizer_; }
  const std::shared_ptr<model::Model>& student() const { return student_; }
  // Copies the student's weights into the EMA model (no-op without one).
  void ResetEma();
  const DistillOptions& options() const { return options_; }

  // Data-parallel training: broadcasts the student (and EMA) weights from rank 0, then every Run averages the
  // gradients over the group before clipping and AdamW, and returns the terms averaged over the ranks.
  // globalSampleManifold: the sample relation is computed over the features of the whole global batch.
  void AttachDistributed(std::shared_ptr<dist::ProcessGroup> group, bool globalSampleManifold, size_t bucketBytes);

 private:
  struct Forward {
    at::Tensor total, base, kd, sample, patch, rand, logits;
    at::Tensor objective;  // what backward() runs on: total, except the global sample term is scaled by the world size
  };
  Forward Compute(const StepInput& input, bool train, StepPhases* phases);
  // The token layouts of every layer pair's two blocks, checked against --max-patch-num.
  void PlanLayerPairs();
  uint64_t RankSeed() const;
  at::Tensor GlobalSampleTerm(const std::vector<at::Tensor>& student, const std::vector<at::Tensor>& teacher,
                              const loss::ManifoldOptions& m);

  std::shared_ptr<model::Model> student_, teacher_, ema_;
  std::optional<model::Bf16Replica> teacherBf16_;  // the teacher under --amp
  DistillOptions options_;
  std::vector<TokenLayout> studentLayouts_, teacherLayouts_;  // per layer pair
  AdamW optimizer_;
  std::optional<ModelEma> emaUpdater_;
  std::shared_ptr<dist::ProcessGroup> group_;
  std::shared_ptr<dist::GradientSync> gradientSync_;
  bool globalSampleManifold_ = false;
};

}  // namespace mdistill::train
