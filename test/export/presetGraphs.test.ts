// Every preset's graph, at a small image size with random weights, runs in onnxruntime with a dynamic batch.
import { NativeModel } from '../../src/model/nativeModel.js';
import { loadStateDict } from '../../src/model/loadWeights.js';
import { describe, expect, it } from 'vitest';
import type { TensorEntry } from '../../src/io/safetensors.js';
import { buildOnnxModel } from '../../src/export/onnxModel.js';
import { MODEL_PRESETS, resolveModel, type ModelConfig } from '../../src/model/modelConfig.js';
import { assertStateDictFits } from '../../src/model/timmStateShapes.js';
import { maxAbsDiff, randomState, runOnnx } from './fixtures.js';

/** Independent forwards the ONNX logits must match (within `tolerance`) for every preset. */
interface Reference {
  name: string;
  tolerance: number;
  logits: (config: ModelConfig, state: Map<string, TensorEntry>, input: Float32Array, dims: number[]) => Promise<Float32Array>;
}
const references: Reference[] = [
  {
    // The native libtorch model (the one the trainer trains) with the same weights, in eval mode.
    name: 'native',
    tolerance: 1e-4,
    logits: async (config, state, input, dims) => {
      const model = new NativeModel(config);
      loadStateDict(model, state, { source: 'random' });
      return (await model.forward(input, dims)).logits;
    },
  },
];

/** Small but true to the preset: its width, heads and class; 2 blocks (1 class-attention block), 32 px, patch 8.
 *  Swin keeps its stages: 2 blocks in the first (the second shifted), 1 in each other, 32 px, patch 4, window 4. */
function smallConfig(preset: string): ModelConfig {
  const base = MODEL_PRESETS[preset];
  if (base.arch === 'swin') return resolveModel(preset, { imgSize: 32, patchSize: 4, windowSize: 4, depths: [2, 1, 1, 1], numClasses: 7 });
  return resolveModel(preset, { imgSize: 32, patchSize: 8, depth: 2, numClasses: 7, depthTokenOnly: base.arch === 'cait' ? 1 : 0 });
}

function randomImages(n: number, config: ModelConfig, seed: number): Float32Array {
  const size = n * config.inChans * config.imgSize * config.imgSize;
  return Float32Array.from({ length: size }, (_, i) => Math.sin(i * 0.37 + seed) * 1.5);
}

describe.each(Object.keys(MODEL_PRESETS))('preset %s', (preset) => {
  it('exports a graph with logits [N, classes]; batch rows do not mix', async () => {
    const config = smallConfig(preset);
    const state = randomState(config, 7);
    assertStateDictFits(config, state, 'random', preset);
    const onnx = buildOnnxModel(config, state);
    const image = [config.inChans, config.imgSize, config.imgSize];
    const per = image.reduce((a, b) => a * b, 1);
    const batch = randomImages(3, config, 1);
    const out3 = await runOnnx(onnx, batch, [3, ...image]);
    expect(out3.dims).toEqual([3, config.numClasses]);
    expect(out3.data.every(Number.isFinite)).toBe(true);
    // The dynamic batch axis: each row equals the image run alone, and the rows differ.
    for (let i = 0; i < 3; i++) {
      const single = await runOnnx(onnx, batch.slice(i * per, (i + 1) * per), [1, ...image]);
      expect(maxAbsDiff(single.data, out3.data.subarray(i * config.numClasses, (i + 1) * config.numClasses))).toBeLessThan(1e-5);
    }
    expect(maxAbsDiff(out3.data.subarray(0, config.numClasses), out3.data.subarray(config.numClasses, 2 * config.numClasses))).toBeGreaterThan(1e-3);
    for (const ref of references) {
      const expected = await ref.logits(config, state, batch, [3, ...image]);
      expect(maxAbsDiff(out3.data, expected), `vs ${ref.name}`).toBeLessThan(ref.tolerance);
    }
  });
});
