// Native ViT/DeiT/CaiT against timm's outputs on the shared fixtures (fp32, 1e-4 absolute).
import { describe, expect, it } from 'vitest';
import { readSafetensors, toFloat32 } from '../../src/io/safetensors.js';
import { modelFromWeightsFile } from '../../src/model/loadWeights.js';
import { fixture, maxAbsDiff } from './fixtures.js';

const TOL = 1e-4;

describe.each(['vit_tiny_gray28', 'deit_distilled_32', 'cait_32'])('timm parity: %s', (name) => {
  it('eval logits and every block output match timm', async () => {
    const model = await modelFromWeightsFile(fixture(`${name}.model.safetensors`));
    const io = (await readSafetensors(fixture(`${name}.io.safetensors`))).tensors;
    const input = io.get('input')!;
    const depth = model.config.depth;
    const all = Array.from({ length: depth }, (_, i) => i);
    const out = await model.forward(toFloat32(input), input.shape, { blocks: all });

    const logits = io.get('logits')!;
    expect(out.logitsShape).toEqual(logits.shape);
    expect(out.logitsDist).toBeUndefined();
    expect(maxAbsDiff(out.logits, toFloat32(logits))).toBeLessThan(TOL);
    expect(out.blocks.map((b) => b.index)).toEqual(all);
    for (const b of out.blocks) {
      const ref = io.get(`block.${b.index}`)!;
      expect(b.shape).toEqual(ref.shape);
      expect(maxAbsDiff(b.data, toFloat32(ref))).toBeLessThan(TOL);
    }
  });
});

describe('timm parity: distilled training heads', () => {
  it('training mode returns the cls and dist heads separately', async () => {
    const model = await modelFromWeightsFile(fixture('deit_distilled_32.model.safetensors'));
    const io = (await readSafetensors(fixture('deit_distilled_32.io.safetensors'))).tensors;
    const input = io.get('input')!;
    const out = await model.forward(toFloat32(input), input.shape, { train: true });
    expect(out.logitsDist).toBeDefined();
    expect(maxAbsDiff(out.logits, toFloat32(io.get('logits_cls')!))).toBeLessThan(TOL);
    expect(maxAbsDiff(out.logitsDist!, toFloat32(io.get('logits_dist')!))).toBeLessThan(TOL);
    // The two heads really differ, so the eval mean is not trivially one of them.
    expect(maxAbsDiff(out.logits, out.logitsDist!)).toBeGreaterThan(1e-3);
  });
});
