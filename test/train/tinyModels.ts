// Tiny models and batches for the trainer tests (seconds, not minutes).
import { defaultConfig } from '../../src/config/resolveConfig.js';
import type { Batch } from '../../src/data/batch.js';
import { resolveModel, type ModelConfig } from '../../src/model/modelConfig.js';
import { NativeModel } from '../../src/model/nativeModel.js';
import type { TrainerOptions } from '../../src/train/nativeTrainer.js';
import { trainerOptionsOf } from '../../src/train/runOptions.js';

export const CLASSES = 5;

export function tinyVit(overrides: Partial<ModelConfig> = {}): ModelConfig {
  return resolveModel('deit_tiny_patch16_224', {
    imgSize: 16, patchSize: 4, inChans: 3, numClasses: CLASSES, embedDim: 32, depth: 2, numHeads: 2, ...overrides,
  });
}

export function tinyModel(overrides: Partial<ModelConfig> = {}, seed = 0): NativeModel {
  return new NativeModel(tinyVit(overrides), { seed });
}

/** A Swin on the same 16 px images, patch 2: blocks 0-1 on an 8x8 grid in 4x4 windows (block 1 shifted), block 2
 *  on 4x4 after patch merging. */
export function tinySwin(overrides: Partial<ModelConfig> = {}, seed = 0): NativeModel {
  return new NativeModel(resolveModel('swin_tiny_patch4_window7_224', {
    imgSize: 16, patchSize: 2, inChans: 3, numClasses: CLASSES, embedDim: 16, depths: [2, 1], stageHeads: [2, 2], windowSize: 4, ...overrides,
  }), { seed });
}

/** A batch no loader lent: its arrays belong to the test, so release() has nothing to hand back. */
export function ownedBatch(fields: Pick<Batch, 'images' | 'shape' | 'labels' | 'targets'>): Batch {
  return { ...fields, epoch: 0, index: 0, next: { epoch: 1, index: 0 }, release: () => undefined };
}

export function randomBatch(b: number, seed: number): Batch {
  let s = seed >>> 0;
  const next = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  const images = Float32Array.from({ length: b * 3 * 16 * 16 }, () => next() * 2 - 1);
  const labels = Int32Array.from({ length: b }, () => Math.floor(next() * CLASSES));
  return ownedBatch({ images, shape: [b, 3, 16, 16], labels });
}

/** The training flags' defaults (soft KD, the paper's w_* weights), fitted to the tiny models. */
export function trainerOptions(overrides: Partial<TrainerOptions> = {}): TrainerOptions {
  return {
    ...trainerOptionsOf(defaultConfig()), alpha: 0.5, tau: 2, K: 16, sIds: [0, 1], tIds: [0, 1], emaDecay: 0.9, seed: 3,
    ...overrides,
  };
}
