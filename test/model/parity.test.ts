// Native ViT/DeiT/CaiT/Swin against timm's outputs on the shared fixtures (fp32, 1e-4 absolute).
import { describe, expect, it } from 'vitest';
import { readSafetensors, toFloat32 } from '../../src/io/safetensors.js';
import { modelFromWeightsFile } from '../../src/model/loadWeights.js';
import { blockCount, blockLayouts } from '../../src/model/modelConfig.js';
import { fixture, maxAbsDiff } from './fixtures.js';

const TOL = 1e-4;

describe.each(['vit_tiny_gray28', 'deit_distilled_32', 'cait_32', 'swin_32'])('timm parity: %s', (name) => {
  it('eval logits and every block output match timm', async () => {
    const model = await modelFromWeightsFile(fixture(`${name}.model.safetensors`));
    const io = (await readSafetensors(fixture(`${name}.io.safetensors`))).tensors;
    const input = io.get('input')!;
    const depth = blockCount(model.config);
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

describe('timm parity: Swin block numbering', () => {
  it('numbers blocks across stages in the fixture\'s (stage, block) order, each on its stage\'s grid', async () => {
    const { metadata } = await readSafetensors(fixture('swin_32.io.safetensors'));
    const order = JSON.parse(metadata.blocks) as [number, number][];
    const model = await modelFromWeightsFile(fixture('swin_32.model.safetensors'));
    const { depths } = model.config;
    // Global index = blocks of the earlier stages + index within the stage.
    expect(order.map(([stage, block]) => depths.slice(0, stage).reduce((a, b) => a + b, 0) + block)).toEqual(order.map((_, i) => i));
    // img 32, patch 2: grids 16, 8, 4; no prefix tokens.
    expect(blockLayouts(model.config)).toEqual(order.map(([stage]) => ({ prefix: 0, rows: 16 >> stage, cols: 16 >> stage })));
  });
});
