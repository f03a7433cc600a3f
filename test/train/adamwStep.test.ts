// The trainer's AdamW (native/train/adamw.cc, fused CPU loop) against the update written out here: two steps of
// plain cross-entropy training on a tiny DeiT, with the gradients taken from the model's own autograd.
import { describe, expect, it } from 'vitest';
import { resolveModel } from '../../src/model/modelConfig.js';
import { NativeModel } from '../../src/model/nativeModel.js';
import { NativeTrainer } from '../../src/train/nativeTrainer.js';
import { ownedBatch } from './tinyModels.js';

const config = resolveModel('deit_tiny_patch16_224', { imgSize: 8, patchSize: 4, inChans: 1, embedDim: 8, depth: 2, numHeads: 2, numClasses: 3 });
const B = 4;
const shape: [number, number, number, number] = [B, 1, 8, 8];
const images = new Float32Array(B * 64).map((_, i) => Math.sin(i * 0.37));
const labels = Int32Array.from([0, 2, 1, 2]);
const opts = { lr: 0.05, wd: 0.05, beta1: 0.9, beta2: 0.999, eps: 1e-8 };

/** d(mean cross-entropy)/dθ for every parameter, via parameterGradients with the logits' upstream gradient. */
async function crossEntropyGrads(model: NativeModel): Promise<Map<string, Float32Array>> {
  const { logits } = await model.forward(images, shape);
  const C = config.numClasses;
  const upstream = new Float32Array(B * C);
  for (let b = 0; b < B; b++) {
    const row = Array.from(logits.subarray(b * C, (b + 1) * C));
    const max = Math.max(...row);
    const exp = row.map((v) => Math.exp(v - max));
    const sum = exp.reduce((a, v) => a + v, 0);
    for (let c = 0; c < C; c++) upstream[b * C + c] = (exp[c] / sum - (labels[b] === c ? 1 : 0)) / B;
  }
  return new Map((await model.parameterGradients(images, shape, upstream)).map((w) => [w.name, w.data]));
}

describe('trainer AdamW', () => {
  it('two steps match the written-out AdamW update (decoupled decay, bias correction, timm no-decay rule)', async () => {
    const model = new NativeModel(config, { seed: 3 });
    const trainer = new NativeTrainer(model, null, null, {
      kd: 'none', alpha: 0, beta: 0, tau: 1, wSample: 0, wPatch: 0, wRand: 0, K: 0, maxPatchNum: 0, manifoldImpl: 'fused',
      sIds: [], tIds: [], clipGrad: 0, emaDecay: 0, amp: false, seed: 0, weightDecay: opts.wd,
    });
    const noDecay = new Set(trainer.noDecayNames());
    expect(noDecay.has('pos_embed') && noDecay.has('blocks.0.attn.qkv.bias') && !noDecay.has('blocks.0.attn.qkv.weight')).toBe(true);

    const m = new Map<string, Float64Array>();
    const v = new Map<string, Float64Array>();
    let checked = 0;
    for (let step = 1; step <= 2; step++) {
      const before = new Map(model.getWeights().map((w) => [w.name, w.data]));
      const grads = await crossEntropyGrads(model);
      const terms = await trainer.step(ownedBatch({ images, shape, labels }), opts.lr, step - 1);
      expect(Number.isFinite(terms.total)).toBe(true);
      const after = new Map(model.getWeights().map((w) => [w.name, w.data]));
      const state = trainer.optimizerState();
      expect(state.steps).toBe(step);
      const bias1 = 1 - opts.beta1 ** step;
      const bias2 = 1 - opts.beta2 ** step;
      for (const [name, p0] of before) {
        const g = grads.get(name) as Float32Array;
        const mi = m.get(name) ?? new Float64Array(g.length);
        const vi = v.get(name) ?? new Float64Array(g.length);
        const decay = noDecay.has(name) ? 1 : 1 - opts.lr * opts.wd;
        const p1 = after.get(name) as Float32Array;
        const stateM = state.tensors.get(`exp_avg.${name}`)?.data as Float32Array;
        const stateV = state.tensors.get(`exp_avg_sq.${name}`)?.data as Float32Array;
        // The moments follow from the gradients (up to float32 rounding of the gradient itself, hence the scale
        // term); the update then follows from the trainer's own moments exactly (tiny gradients make it sensitive).
        const gScale = g.reduce((a, x) => Math.max(a, Math.abs(x)), 0);
        for (let i = 0; i < g.length; i++) {
          mi[i] = opts.beta1 * mi[i] + (1 - opts.beta1) * g[i];
          vi[i] = opts.beta2 * vi[i] + (1 - opts.beta2) * g[i] * g[i];
          expect(Math.abs(stateM[i] - mi[i])).toBeLessThanOrEqual(1e-5 * Math.abs(mi[i]) + 1e-6 * gScale);
          expect(Math.abs(stateV[i] - vi[i])).toBeLessThanOrEqual(1e-4 * Math.abs(vi[i]) + 1e-6 * gScale * gScale);
          const want = p0[i] * decay - (opts.lr / bias1) * stateM[i] / (Math.sqrt(stateV[i]) / Math.sqrt(bias2) + opts.eps);
          expect(Math.abs(p1[i] - want)).toBeLessThanOrEqual(1e-6 * Math.abs(p0[i]) + 1e-6 * opts.lr);
          mi[i] = stateM[i];
          vi[i] = stateV[i];
          checked++;
        }
        m.set(name, mi);
        v.set(name, vi);
      }
    }
    expect(checked).toBe(2 * model.parameterShapes().reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0));
  });
});
