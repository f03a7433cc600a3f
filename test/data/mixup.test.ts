import { describe, expect, it } from 'vitest';
import { type MixupOptions, applyMix, cutmixBox, mixDecision, mixTargets } from '../../src/data/mixup.js';
import { KeyedRng } from '../../src/data/rng.js';

const deit: MixupOptions = { mixupAlpha: 0.8, cutmixAlpha: 1.0, prob: 1, switchProb: 0.5, smoothing: 0.1, numClasses: 5 };

describe('mixup / cutmix', () => {
  it('draws both kinds about half the time, with lam in (0, 1], deterministically per batch', () => {
    let cut = 0;
    for (let b = 0; b < 400; b++) {
      const d = mixDecision(deit, 1, 0, b, 0, 16, 16);
      expect(d).toEqual(mixDecision(deit, 1, 0, b, 0, 16, 16));
      expect(d.lam).toBeGreaterThan(0);
      expect(d.lam).toBeLessThanOrEqual(1);
      if (d.cutmix) cut++;
    }
    expect(cut).toBeGreaterThan(160);
    expect(cut).toBeLessThan(240);
    expect(mixDecision({ ...deit, mixupAlpha: 0, cutmixAlpha: 0 }, 1, 0, 0, 0, 16, 16)).toEqual({ lam: 1, cutmix: false });
  });

  it('rank 0 draws what a single process drew before the rank was part of the key', () => {
    // Recorded with the previous key (seed, epoch, batch) on 32x32 images.
    const before = [
      { key: [0, 0, 0], d: { lam: 0.6434667501286586, cutmix: false } },
      { key: [0, 0, 1], d: { lam: 0.8434491031996126, cutmix: false } },
      { key: [0, 0, 2], d: { lam: 0.814453125, cutmix: true, box: { yl: 0, yh: 10, xl: 0, xh: 19 } } },
      { key: [0, 0, 3], d: { lam: 0.8359375, cutmix: true, box: { yl: 20, yh: 32, xl: 12, xh: 26 } } },
      { key: [7, 3, 11], d: { lam: 0.25599859701012323, cutmix: false } },
      { key: [42, 1, 5], d: { lam: 0.5606932620017803, cutmix: false } },
    ];
    for (const { key: [seed, epoch, batch], d } of before) expect(mixDecision(deit, seed, epoch, batch, 0, 32, 32)).toEqual(d);
  });

  it('each rank draws its own lam, box and mixup-or-cutmix choice for the same batch', () => {
    let sameLam = 0;
    let sameKind = 0;
    for (let b = 0; b < 200; b++) {
      const r0 = mixDecision(deit, 3, 1, b, 0, 32, 32);
      const r1 = mixDecision(deit, 3, 1, b, 1, 32, 32);
      const r2 = mixDecision(deit, 3, 1, b, 2, 32, 32);
      expect(r1).toEqual(mixDecision(deit, 3, 1, b, 1, 32, 32));
      if (r0.lam === r1.lam || r1.lam === r2.lam) sameLam++;
      if (r0.cutmix === r1.cutmix) sameKind++;
    }
    expect(sameLam).toBe(0);
    // Independent fair choices agree about half the time.
    expect(sameKind).toBeGreaterThan(70);
    expect(sameKind).toBeLessThan(130);
  });

  it('corrects lam to the clipped box area', () => {
    for (let k = 0; k < 200; k++) {
      const rng = new KeyedRng([k]);
      const lam = rng.float();
      const { box, lam: corrected } = cutmixBox(12, 20, lam, rng);
      expect(box.yl).toBeGreaterThanOrEqual(0);
      expect(box.yh).toBeLessThanOrEqual(12);
      expect(box.xh).toBeLessThanOrEqual(20);
      expect(corrected).toBeCloseTo(1 - ((box.yh - box.yl) * (box.xh - box.xl)) / 240, 12);
    }
  });

  it('cutmix swaps exactly the box with the mirrored sample; mixup blends pairs', () => {
    const B = 3, C = 2, H = 4, W = 5;
    const per = C * H * W;
    const make = (): Float32Array => Float32Array.from({ length: B * per }, (_, i) => Math.floor(i / per) + 1);
    const x = make();
    const box = { yl: 1, yh: 3, xl: 2, xh: 5 };
    applyMix(x, B, C, H, W, { lam: 0.7, cutmix: true, box });
    let fromOther = 0;
    for (let p = 0; p < per; p++) if (x[p] === 3) fromOther++;
    expect(fromOther).toBe(C * 2 * 3);
    expect(x.subarray(per, 2 * per).every((v) => v === 2)).toBe(true);
    const y = make();
    applyMix(y, B, C, H, W, { lam: 0.25, cutmix: false });
    expect(y[0]).toBeCloseTo(0.25 * 1 + 0.75 * 3, 6);
    expect(y[2 * per]).toBeCloseTo(0.25 * 3 + 0.75 * 1, 6);
    expect(y[per]).toBe(2);
  });

  it('soft targets sum to 1 with smoothing and the flipped labels', () => {
    const labels = Int32Array.from([0, 3, 3, 1]);
    const out = new Float32Array(4 * 5);
    mixTargets(labels, 4, 5, 0.1, 0.6, out);
    for (let i = 0; i < 4; i++) {
      const row = Array.from(out.subarray(i * 5, i * 5 + 5));
      expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    }
    expect(out[0]).toBeCloseTo(0.02 + 0.6 * 0.9, 6);
    expect(out[1]).toBeCloseTo(0.02 + 0.4 * 0.9, 6);
    expect(out[5 + 3]).toBeCloseTo(0.92, 6);
  });
});
