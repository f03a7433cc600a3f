// The exported ONNX graphs run in onnxruntime and reproduce timm's logits from the fixtures.
import { describe, expect, it } from 'vitest';
import { buildOnnxModel } from '../../src/export/onnxModel.js';
import { assertStateDictFits } from '../../src/model/timmStateShapes.js';
import { batchOf, FIXTURE_MODELS, loadFixture, maxAbsDiff, runOnnx } from './fixtures.js';

describe.each(FIXTURE_MODELS)('ONNX export of %s matches timm', (name) => {
  for (const fp16 of [false, true]) {
    const tolerance = fp16 ? 1e-2 : 1e-4;
    it(`${fp16 ? 'fp16 weights' : 'fp32'}: batch 1 and batch 3 within ${tolerance}`, async () => {
      const f = await loadFixture(name);
      assertStateDictFits(f.config, f.state, f.modelFile, name);
      const onnx = buildOnnxModel(f.config, f.state, { fp16 });
      for (const n of [1, 3]) {
        const { input, dims, expected } = batchOf(f, n);
        const out = await runOnnx(onnx, input, dims);
        expect(out.dims).toEqual([n, f.config.numClasses]);
        expect(maxAbsDiff(out.data, expected)).toBeLessThan(tolerance);
      }
    });
  }
});
