// Tiny models and batches for the trainer tests (seconds, not minutes).
import { resolveModel, type ModelConfig } from '../../src/model/modelConfig.js';
import { NativeModel } from '../../src/model/nativeModel.js';
import type { TrainerOptions } from '../../src/train/nativeTrainer.js';

export const CLASSES = 5;

export function tinyVit(overrides: Partial<ModelConfig> = {}): ModelConfig {
  return resolveModel('deit_tiny_patch16_224', {
    imgSize: 16, patchSize: 4, inChans: 3, numClasses: CLASSES, embedDim: 32, depth: 2, numHeads: 2, ...overrides,
  });
}

export function tinyModel(overrides: Partial<ModelConfig> = {}, seed = 0): NativeModel {
  return new NativeModel(tinyVit(overrides), { seed });
}

export function randomBatch(b: number, seed: number): { images: Float32Array; shape: number[]; labels: Int32Array } {
  let s = seed >>> 0;
  const next = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  const images = Float32Array.from({ length: b * 3 * 16 * 16 }, () => next() * 2 - 1);
  const labels = Int32Array.from({ length: b }, () => Math.floor(next() * CLASSES));
  return { images, shape: [b, 3, 16, 16], labels };
}

export function trainerOptions(overrides: Partial<TrainerOptions> = {}): TrainerOptions {
  return {
    kd: 'soft', alpha: 0.5, beta: 1, tau: 2, wSample: 0.1, wPatch: 4, wRand: 0.2, K: 16, maxPatchNum: 0,
    manifoldImpl: 'fused', sIds: [0, 1], tIds: [0, 1], clipGrad: 0, emaDecay: 0.9, amp: false, seed: 3, weightDecay: 0.05,
    ...overrides,
  };
}
