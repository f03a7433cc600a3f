// The TypeScript face of the native Trainer (native/napi/trainer_wrap.cc) and of evaluateBatch.
import { createRawTrainer, evaluateBatch as rawEvaluateBatch, type RawBatch, type RawStepTerms, type RawTrainerOptions } from '../native/index.js';
import type { NativeModel } from '../model/nativeModel.js';
import type { RawProcessGroup } from '../native/index.js';
import type { TensorEntry } from '../io/safetensors.js';

export type StepTerms = RawStepTerms;
export type TrainerOptions = RawTrainerOptions;

export type StepBatch = RawBatch;

export class NativeTrainer {
  private readonly raw;

  constructor(student: NativeModel, teacher: NativeModel | null, ema: NativeModel | null, options: TrainerOptions) {
    this.raw = createRawTrainer(student.raw, teacher?.raw ?? null, ema?.raw ?? null, options);
  }

  /** One optimizer step at learning rate `lr`; `step` is the global step (it keys the step's randomness). */
  step(batch: StepBatch, lr: number, step: number): Promise<StepTerms> {
    return this.raw.step(batch, lr, step);
  }

  /** The loss terms of a training-mode forward, as step() computes them, without a backward pass or an update. */
  lossTerms(batch: StepBatch, step: number): Promise<StepTerms> {
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

export interface EvalTotals {
  correct1: number;
  correct5: number;
  count: number;
  lossSum: number;
}

export function evaluateBatch(model: NativeModel, batch: StepBatch & { labels: Int32Array }): Promise<EvalTotals> {
  return rawEvaluateBatch(model.raw, batch);
}
