// The TypeScript face of the native Trainer (native/napi/trainer_wrap.cc), and the one place its step terms meet
// the log's LossTerms.
import { createRawTrainer, type Proof, type RawProcessGroup, type RawStepTerms, type RawTrainer, type RawTrainerOptions, type SameFields } from '../native/index.js';
import type { Batch } from '../data/batch.js';
import type { LossTerms } from '../log/records.js';
import type { NativeModel } from '../model/nativeModel.js';
import type { TensorEntry } from '../io/safetensors.js';

/** Every option is required (src/train/trainerOptions.ts maps a run's config onto them). */
export type TrainerOptions = RawTrainerOptions;

/** The loss terms of a step (the log's LossTerms), its gradient norm, top-1 hits, sync wait and phase timings. */
export type StepTerms = RawStepTerms;

// The step's loss terms are the log's, field for field.
type _LossTermsOnTheWire = Proof<SameFields<LossTerms, Pick<RawStepTerms, keyof LossTerms>>>;

/** The loss terms of a step as the log records them. */
export function lossTermsOf(terms: StepTerms): LossTerms {
  return { total: terms.total, base: terms.base, kd: terms.kd, sample: terms.sample, patch: terms.patch, rand: terms.rand };
}

export class NativeTrainer {
  private readonly raw: RawTrainer;

  constructor(student: NativeModel, teacher: NativeModel | null, ema: NativeModel | null, options: TrainerOptions) {
    this.raw = createRawTrainer(student.raw, teacher?.raw ?? null, ema?.raw ?? null, options);
  }

  /** One optimizer step at learning rate `lr`; `step` is the global step (it keys the step's randomness). */
  step(batch: Batch, lr: number, step: number): Promise<StepTerms> {
    return this.raw.step(batch, lr, step);
  }

  /** The loss terms of a training-mode forward, as step() computes them, without a backward pass or an update. */
  lossTerms(batch: Batch, step: number): Promise<StepTerms> {
    return this.raw.lossTerms(batch, step);
  }

  optimizerState(): { steps: number; tensors: Map<string, TensorEntry> } {
    const { steps, entries } = this.raw.optimizerState();
    return { steps, tensors: new Map(entries.map((e) => [e.name, { dtype: 'F32', shape: e.shape, data: e.data }])) };
  }

  loadOptimizerState(tensors: Map<string, TensorEntry>, steps: number): void {
    const entries = [...tensors].map(([name, t]) => {
      if (t.dtype !== 'F32') throw new Error(`optimizer state '${name}' must be F32, got ${t.dtype}`);
      return { name, shape: t.shape, data: t.data as Float32Array };
    });
    this.raw.loadOptimizerState(entries, steps);
  }

  noDecayNames(): string[] {
    return this.raw.noDecayNames();
  }

  resetEma(): void {
    this.raw.resetEma();
  }

  /** Data parallel: broadcasts rank 0's weights, then every step averages its gradients over `group`. */
  attachProcessGroup(group: RawProcessGroup, options: { globalSampleManifold: boolean; bucketMb: number }): Promise<void> {
    return this.raw.attachProcessGroup(group, options);
  }
}
