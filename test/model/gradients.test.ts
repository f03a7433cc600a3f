// The backward path the training step relies on (attention kernel, talking heads, class attention, LayerScale,
// distillation heads): autograd gradients against central finite differences of the forward, on tiny models.
import { describe, expect, it } from 'vitest';
import { resolveModel, type ModelConfig } from '../../src/model/modelConfig.js';
import { NativeModel, type NamedWeight } from '../../src/model/nativeModel.js';

const B = 2;
const sized = { imgSize: 16, patchSize: 4, embedDim: 16, depth: 2, numHeads: 4, numClasses: 3 };
const cases: [string, ModelConfig, string[]][] = [
  ['cait', resolveModel('cait_xxs24_224', { ...sized, depthTokenOnly: 1, initValues: 0.5 }), [
    'cls_token', 'pos_embed', 'patch_embed.proj.weight', 'blocks.0.gamma_1', 'blocks.0.attn.qkv.weight', 'blocks.0.attn.proj_l.weight',
    'blocks.0.attn.proj_w.weight', 'blocks.1.attn.proj_w.bias', 'blocks.1.mlp.fc1.weight', 'blocks_token_only.0.attn.q.weight',
    'blocks_token_only.0.attn.k.weight', 'blocks_token_only.0.attn.v.bias', 'blocks_token_only.0.gamma_2', 'norm.weight', 'head.weight',
  ]],
  ['deit distilled', resolveModel('deit_tiny_distilled_patch16_224', sized), [
    'cls_token', 'dist_token', 'pos_embed', 'patch_embed.proj.bias', 'blocks.0.norm1.weight', 'blocks.0.attn.qkv.weight',
    'blocks.1.attn.proj.weight', 'blocks.1.mlp.fc2.weight', 'head.bias', 'head_dist.weight',
  ]],
];

describe.each(cases)('gradients: %s', (_, config, names) => {
  it('autograd matches finite differences', async () => {
    const model = new NativeModel(config, { seed: 21 });
    // Larger weights than the init, so that every path carries signal.
    model.setWeights(model.getWeights().map((w, i) => ({ ...w, data: w.data.map((v, j) => v * 4 + (w.name.includes('norm') ? 0 : 0.05 * Math.sin(i + j))) })));
    const shape = [B, config.inChans, config.imgSize, config.imgSize];
    const x = new Float32Array(shape.reduce((a, b) => a * b)).map((_, i) => Math.sin(i * 0.7));
    const g = new Float32Array(B * config.numClasses).map((_, i) => Math.cos(i * 1.3));
    const objective = async () => (await model.forward(x, shape)).logits.reduce((s, v, i) => s + v * g[i], 0);

    const grads = new Map((await model.parameterGradients(x, shape, g)).map((w) => [w.name, w.data]));
    expect([...grads.keys()]).toEqual(model.parameterShapes().map((p) => p.name));
    const base = model.getWeights();
    const eps = 3e-3;
    let largest = 0;
    for (const name of names) {
      const w = base.find((p) => p.name === name) as NamedWeight;
      for (const idx of [0, Math.floor(w.data.length / 2) + 1]) {
        const nudged = (delta: number) => {
          const data = Float32Array.from(w.data);
          data[idx] += delta;
          model.setWeights([{ ...w, data }]);
        };
        nudged(eps);
        const up = await objective();
        nudged(-eps);
        const down = await objective();
        model.setWeights([w]);
        const fd = (up - down) / (2 * eps);
        const ad = grads.get(name)![idx];
        largest = Math.max(largest, Math.abs(ad));
        expect(Math.abs(fd - ad), `${name}[${idx}]: autograd ${ad}, finite difference ${fd}`).toBeLessThan(2e-3 + 0.03 * Math.abs(ad));
      }
    }
    expect(largest).toBeGreaterThan(1e-2);
  });
});
