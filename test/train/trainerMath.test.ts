import { describe, expect, it } from 'vitest';
import { NativeTrainer } from '../../src/train/nativeTrainer.js';
import { crossEntropyRef, hardKdRef, softKdRef } from './logitReference.js';
import { CLASSES, randomBatch, tinyModel, tinySwin, trainerOptions } from './tinyModels.js';

const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);

/** The native value equals the float64 reference within what float32 arithmetic allows for these magnitudes. */
function expectWithinBound(native: number, ref: { value: number; bound: number }) {
  expect(Math.abs(native - ref.value)).toBeLessThanOrEqual(ref.bound);
}

describe('distillation step: the official weighting', () => {
  const batch = randomBatch(4, 11);

  it('computes base CE and soft KD on the logits exactly', async () => {
    const student = tinyModel({}, 1), teacher = tinyModel({ embedDim: 48, depth: 3 }, 2);
    const trainer = new NativeTrainer(student, teacher, null, trainerOptions());
    const terms = await trainer.lossTerms(batch, 0);
    const s = await student.forward(batch.images, batch.shape, { train: true });
    const t = await teacher.forward(batch.images, batch.shape);
    expectWithinBound(terms.base, crossEntropyRef(s.logits, CLASSES, batch.labels));
    expectWithinBound(terms.kd, softKdRef(s.logits, t.logits, CLASSES, 2));
  });

  it('combines the terms as (1-α)·base + α·kd + β·(w_s·sample + w_p·patch + w_r·rand)', async () => {
    const student = tinyModel({}, 1), teacher = tinyModel({ embedDim: 48, depth: 3 }, 2);
    const unit = async (w: { wSample: number; wPatch: number; wRand: number }) =>
      new NativeTrainer(student, teacher, null, trainerOptions({ ...w, alpha: 0, beta: 1 })).lossTerms(batch, 7);
    const sample = (await unit({ wSample: 1, wPatch: 0, wRand: 0 })).sample;
    const patch = (await unit({ wSample: 0, wPatch: 1, wRand: 0 })).patch;
    const rand = (await unit({ wSample: 0, wPatch: 0, wRand: 1 })).rand;
    expect(sample).toBeGreaterThan(0);
    expect(patch).toBeGreaterThan(0);
    expect(rand).toBeGreaterThan(0);
    for (const o of [
      { alpha: 0.5, beta: 1, wSample: 0.1, wPatch: 4, wRand: 0.2 },
      { alpha: 0.9, beta: 2.5, wSample: 0.3, wPatch: 1, wRand: 0 },
      { alpha: 0, beta: 0.5, wSample: 0, wPatch: 8, wRand: 0.7 },
    ]) {
      const t = await new NativeTrainer(student, teacher, null, trainerOptions(o)).lossTerms(batch, 7);
      expect(rel(t.sample, o.wSample * sample)).toBeLessThan(1e-5);
      expect(rel(t.patch, o.wPatch * patch)).toBeLessThan(1e-5);
      expect(rel(t.rand, o.wRand * rand)).toBeLessThan(1e-5);
      const expected = (1 - o.alpha) * t.base + o.alpha * t.kd + o.beta * (t.sample + t.patch + t.rand);
      expect(rel(t.total, expected)).toBeLessThan(1e-6);
    }
  });

  it('runs with kd none (no teacher at all): total = base', async () => {
    const student = tinyModel({}, 1);
    const trainer = new NativeTrainer(student, null, null, trainerOptions({ kd: 'none' }));
    const t = await trainer.step(batch, 1e-3, 0);
    expect(t.kd).toBe(0);
    expect(t.patch + t.sample + t.rand).toBe(0);
    expect(t.total).toBe(t.base);
  });

  it('uses head_dist for hard KD with a distilled student, and the only head otherwise', async () => {
    const teacher = tinyModel({ embedDim: 48, depth: 3 }, 2);
    const t = await teacher.forward(batch.images, batch.shape);
    const distilled = tinyModel({ distilled: true }, 4);
    const terms = await new NativeTrainer(distilled, teacher, null, trainerOptions({ kd: 'hard' })).lossTerms(batch, 0);
    const s = await distilled.forward(batch.images, batch.shape, { train: true });
    expect(s.logitsDist).toBeDefined();
    expectWithinBound(terms.kd, hardKdRef(s.logitsDist!, t.logits, CLASSES));
    expectWithinBound(terms.base, crossEntropyRef(s.logits, CLASSES, batch.labels));
    const plain = tinyModel({}, 4);
    const plainTerms = await new NativeTrainer(plain, teacher, null, trainerOptions({ kd: 'hard' })).lossTerms(batch, 0);
    const p = await plain.forward(batch.images, batch.shape, { train: true });
    expectWithinBound(plainTerms.kd, hardKdRef(p.logits, t.logits, CLASSES));
  });

  it('accepts soft targets (mixup/smoothing) and rejects a wrongly sized target buffer', async () => {
    const student = tinyModel({}, 1);
    const trainer = new NativeTrainer(student, null, null, trainerOptions({ kd: 'none' }));
    const targets = new Float32Array(4 * CLASSES).fill(1 / CLASSES);
    // A loader's batch carries its samples' labels beside the soft targets.
    const t = await trainer.lossTerms({ ...batch, targets }, 0);
    const s = await student.forward(batch.images, batch.shape, { train: true });
    expectWithinBound(t.base, crossEntropyRef(s.logits, CLASSES, targets));
    await expect(async () => trainer.lossTerms({ ...batch, targets: new Float32Array(3) }, 0))
      .rejects.toMatchObject({ code: 'MDISTILL_SHAPE_MISMATCH' });
  });

  it('learns against the soft targets, not the labels, when a batch carries both', async () => {
    const student = tinyModel({}, 1);
    const trainer = new NativeTrainer(student, null, null, trainerOptions({ kd: 'none' }));
    // Each row sums to 1: 0.6 on class (2b + 1) mod C, 0.1 on the others.
    const targets = Float32Array.from({ length: 4 * CLASSES }, (_, i) => (i % CLASSES === (2 * Math.floor(i / CLASSES) + 1) % CLASSES ? 0.6 : 0.1));
    const otherLabels = batch.labels.map((l) => (l + 1) % CLASSES);
    const withLabels = await trainer.lossTerms({ ...batch, targets }, 0);
    const withOtherLabels = await trainer.lossTerms({ ...batch, labels: otherLabels, targets }, 0);
    const labelsOnly = await trainer.lossTerms(batch, 0);
    expect(withOtherLabels.base).toBe(withLabels.base);
    expect(withOtherLabels.correct).toBe(withLabels.correct);
    expect(withLabels.base).not.toBe(labelsOnly.base);
  });
});

describe('optimizer, EMA and failures', () => {
  const batch = randomBatch(8, 5);

  it('exempts 1-D parameters, biases, pos_embed, cls_token and dist_token from weight decay (timm rule)', () => {
    const student = tinyModel({ distilled: true }, 1);
    const names = new NativeTrainer(student, null, null, trainerOptions({ kd: 'none' })).noDecayNames();
    const expected = student.parameterShapes()
      .filter((p) => p.shape.length <= 1 || p.name.endsWith('.bias') || ['pos_embed', 'cls_token', 'dist_token'].includes(p.name))
      .map((p) => p.name);
    expect(names).toEqual(expected);
    expect(names).toContain('pos_embed');
    expect(names).toContain('dist_token');
    expect(names).toContain('blocks.0.norm1.weight');
    expect(names).not.toContain('blocks.0.attn.qkv.weight');
  });

  it('updates the EMA as d·ema + (1−d)·student after each step', async () => {
    const student = tinyModel({}, 1), ema = tinyModel({}, 9);
    const trainer = new NativeTrainer(student, null, ema, trainerOptions({ kd: 'none', emaDecay: 0.9 }));
    trainer.resetEma();
    const before = ema.getWeights();
    expect(before.map((w) => Array.from(w.data))).toEqual(student.getWeights().map((w) => Array.from(w.data)));
    await trainer.step(batch, 1e-2, 0);
    const after = ema.getWeights();
    const now = student.getWeights();
    after.forEach((w, i) => w.data.forEach((v, j) => {
      expect(v).toBeCloseTo(0.9 * before[i].data[j] + 0.1 * now[i].data[j], 6);
    }));
  });

  it('lowers the loss over a few dozen steps', async () => {
    const student = tinyModel({}, 1), teacher = tinyModel({ embedDim: 48, depth: 3 }, 2);
    const trainer = new NativeTrainer(student, teacher, null, trainerOptions());
    const first = (await trainer.lossTerms(batch, 0)).total;
    for (let i = 0; i < 30; i++) await trainer.step(batch, 3e-3, i);
    const last = (await trainer.lossTerms(batch, 0)).total;
    expect(last).toBeLessThan(0.7 * first);
  });

  it('stops on a non-finite loss naming the step and every term, without touching the weights', async () => {
    const student = tinyModel({}, 1);
    const trainer = new NativeTrainer(student, null, null, trainerOptions({ kd: 'none' }));
    const before = student.getWeights();
    const poisoned = { ...batch, images: batch.images.slice() };
    poisoned.images[0] = NaN;
    const err = await trainer.step(poisoned, 1e-2, 42).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'MDISTILL_NONFINITE_LOSS' });
    expect((err as Error).message).toMatch(/step 42: total=nan base=nan kd=0 sample=0 patch=0 rand=0/);
    expect(student.getWeights().map((w) => Array.from(w.data))).toEqual(before.map((w) => Array.from(w.data)));
  });

  it('requires every option: a missing one is named, not defaulted', () => {
    const student = tinyModel({}, 1);
    const { emaDecay: _, ...missing } = trainerOptions({ kd: 'none' });
    expect(() => new NativeTrainer(student, null, null, missing as ReturnType<typeof trainerOptions>))
      .toThrow(/trainer options: emaDecay is required \(a number\)/);
  });

  it('round-trips the optimizer state and continues identically', async () => {
    const a = tinyModel({}, 1), b = tinyModel({}, 1);
    const ta = new NativeTrainer(a, null, null, trainerOptions({ kd: 'none' }));
    for (let i = 0; i < 3; i++) await ta.step(batch, 1e-2, i);
    const saved = ta.optimizerState();
    b.setWeights(a.getWeights());
    const tb = new NativeTrainer(b, null, null, trainerOptions({ kd: 'none' }));
    tb.loadOptimizerState(saved.tensors, saved.steps);
    await ta.step(batch, 1e-2, 3);
    await tb.step(batch, 1e-2, 3);
    expect(b.getWeights().map((w) => Array.from(w.data))).toEqual(a.getWeights().map((w) => Array.from(w.data)));
  });
});

describe('bf16 autocast', () => {
  it('runs a distillation step under --amp with finite terms close to fp32', async () => {
    const batch = randomBatch(4, 13);
    const student = tinyModel({}, 1), teacher = tinyModel({ embedDim: 48, depth: 3 }, 2);
    const fp32 = await new NativeTrainer(student, teacher, null, trainerOptions()).lossTerms(batch, 0);
    const bf16 = await new NativeTrainer(student, teacher, null, trainerOptions({ amp: true })).lossTerms(batch, 0);
    expect(Number.isFinite(bf16.total)).toBe(true);
    expect(rel(bf16.base, fp32.base)).toBeLessThan(0.05);
    expect(bf16.total).not.toBe(fp32.total);
  });

  it('a Swin student (bf16 Linear outputs feed its norms) runs under --amp, merged onto the ViT teacher\'s grid', async () => {
    const batch = randomBatch(4, 17);
    const student = tinySwin({}, 1), teacher = tinyModel({ embedDim: 48, depth: 3 }, 2);
    const pairs = { sIds: [0, 2], tIds: [1, 2], maxPatchNum: 16 };
    const fp32 = await new NativeTrainer(student, teacher, null, trainerOptions(pairs)).lossTerms(batch, 0);
    const bf16 = await new NativeTrainer(student, teacher, null, trainerOptions({ ...pairs, amp: true })).step(batch, 1e-3, 0);
    for (const term of ['total', 'sample', 'patch', 'rand'] as const) expect(Number.isFinite(bf16[term]), term).toBe(true);
    expect(rel(bf16.base, fp32.base)).toBeLessThan(0.05);
    expect(rel(bf16.patch, fp32.patch)).toBeLessThan(0.2);
    expect(bf16.total).not.toBe(fp32.total);
  });
});
