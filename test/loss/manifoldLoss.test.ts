// The fused manifold loss against its naive ATen reference, finite differences, errors and reproducibility.
import { describe, expect, it } from 'vitest';
import { manifoldLoss, type LayerPair, type ManifoldLossOptions } from '../../src/loss/manifoldLoss.js';
import { maxRelDiff, pair, relDiff } from './lossTestUtils.js';

type Shape = [number, number, number];

async function fusedVsNaive(pairs: LayerPair[], options: ManifoldLossOptions, tol: number) {
  const fused = await manifoldLoss(pairs, { ...options, impl: 'fused', grad: 'return' });
  const naive = await manifoldLoss(pairs, { ...options, impl: 'naive', grad: 'return' });
  // Relative to the term, or to the total for a term that is ~0 by construction (B = 1: 1x1 Grams of unit rows).
  for (const term of ['sample', 'patch', 'rand', 'total'] as const) {
    expect(Math.abs(fused[term] - naive[term]) / Math.max(Math.abs(naive[term]), Math.abs(naive.total) * 1e-3), term).toBeLessThan(tol);
  }
  expect(fused.perms.map((p) => [...p])).toEqual(naive.perms.map((p) => [...p]));
  pairs.forEach((p, i) => {
    expect(fused.gradStudent![i].length).toBe(p.student.data.length);
    expect(maxRelDiff(fused.gradStudent![i], naive.gradStudent![i]), `grad of pair ${i}`).toBeLessThan(tol);
  });
  return fused;
}

describe('fused manifold loss equals the naive reference (float32, 1e-5 relative)', () => {
  const cases: { name: string; pairs: [Shape, Shape][]; options: ManifoldLossOptions }[] = [
    { name: 'N != d, one extra student token, 2 pairs', pairs: [[[3, 8, 5], [3, 7, 11]], [[3, 8, 5], [3, 7, 6]]], options: { k: 10 } },
    { name: 'B = 1', pairs: [[[1, 10, 6], [1, 9, 4]]], options: { k: 4 } },
    { name: 'K >= B*N is clamped to B*N', pairs: [[[2, 5, 3], [2, 5, 3]]], options: { k: 100 } },
    { name: 'two extra tokens (distilled DeiT)', pairs: [[[4, 18, 6], [4, 16, 8]]], options: { k: 12 } },
    { name: 'merge 8x8 (+cls) with 4x4, max_patch_num 16', pairs: [[[2, 65, 4], [2, 16, 6]]], options: { k: 8, maxPatchNum: 16 } },
    { name: 'merge 14x14 (+cls) with 7x7, max_patch_num 49', pairs: [[[2, 197, 8], [2, 49, 12]]], options: { k: 20, maxPatchNum: 49 } },
    { name: 'both grids merged, 8x8 (+cls) vs 8x8 (+cls), max_patch_num 16', pairs: [[[2, 65, 3], [2, 65, 5]]], options: { k: 6, maxPatchNum: 16 } },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const pairs = c.pairs.map(([s, t], i) => pair(s, t, 7 + i, Float32Array));
      // The w_* weights are the defaults: the training flags' (src/config/schema.ts).
      const r = await fusedVsNaive(pairs, { seed: 3, ...c.options }, 1e-5);
      if (c.pairs[0][0][0] === 1) expect(Math.abs(r.sample)).toBeLessThan(1e-6 * r.total);
      const [b, n] = [c.pairs[0][1][0], c.pairs[0][1][1]];
      const rows = c.options.maxPatchNum ? b * Math.min(n, c.options.maxPatchNum) : b * n;
      expect(r.perms[0].length).toBe(Math.min(c.options.k!, rows));
      expect(r.total).toBeGreaterThan(0);
    });
  }

  it('recomputes in backward when the three terms get different upstream gradients', async () => {
    const pairs = [pair([3, 10, 5], [3, 9, 7], 11, Float32Array)];
    const options: ManifoldLossOptions = { k: 9, seed: 5, upstream: [0.5, -2, 3] };
    await fusedVsNaive(pairs, options, 1e-5);
    const [onlyPatch, all] = await Promise.all([
      manifoldLoss(pairs, { ...options, upstream: [0, 1, 0], grad: 'return' }),
      manifoldLoss(pairs, { ...options, upstream: [1, 1, 1], grad: 'return' }),
    ]);
    expect(maxRelDiff(onlyPatch.gradStudent![0], all.gradStudent![0])).toBeGreaterThan(1e-3);
  });

  it('accepts bfloat16 compute (accumulated in float32) and agrees with the reference', async () => {
    const pairs = [pair([2, 10, 8], [2, 9, 6], 13, Float32Array)];
    const fused = await manifoldLoss(pairs, { k: 6, seed: 1, dtype: 'bfloat16', impl: 'fused', grad: 'return' });
    const naive = await manifoldLoss(pairs, { k: 6, seed: 1, dtype: 'bfloat16', impl: 'naive', grad: 'return' });
    expect(relDiff(fused.total, naive.total)).toBeLessThan(1e-5);
    expect(maxRelDiff(fused.gradStudent![0], naive.gradStudent![0])).toBeLessThan(2e-2);
    const fp32 = await manifoldLoss(pairs, { k: 6, seed: 1, impl: 'fused' });
    expect(relDiff(fused.total, fp32.total)).toBeLessThan(5e-2);
  });
});

describe('fused manifold loss gradient (float64 central differences)', () => {
  async function gradcheck(sShape: Shape, tShape: Shape, options: ManifoldLossOptions) {
    const p = pair(sShape, tShape, 21);
    const base = await manifoldLoss([p], { ...options, impl: 'fused', grad: 'return' });
    const analytic = base.gradStudent![0];
    const perms = base.perms;
    const x = p.student.data as Float64Array;
    const h = 1e-6;
    const numeric = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) {
      const keep = x[i];
      x[i] = keep + h;
      const plus = (await manifoldLoss([p], { ...options, perms })).total;
      x[i] = keep - h;
      const minus = (await manifoldLoss([p], { ...options, perms })).total;
      x[i] = keep;
      numeric[i] = (plus - minus) / (2 * h);
    }
    expect(maxRelDiff(analytic, numeric)).toBeLessThan(1e-6);
    return analytic;
  }

  it('plain pair with an extra token', async () => {
    const g = await gradcheck([2, 5, 3], [2, 4, 4], { k: 5, seed: 2, wSample: 0.7, wPatch: 1.3, wRand: 0.9 });
    expect(Math.abs(g[0]) + Math.abs(g[1]) + Math.abs(g[2])).toBe(0); // the dropped token gets no gradient
  });

  it('merged grid (4x4 + cls to 2x2)', async () => {
    await gradcheck([1, 17, 2], [1, 4, 3], { k: 3, seed: 4, maxPatchNum: 4, wSample: 0.5, wPatch: 2, wRand: 0.3 });
  });

  it('a zero student row (below the normalisation eps)', async () => {
    const p = pair([2, 4, 3], [2, 4, 3], 31);
    (p.student.data as Float64Array).fill(0, 0, 3);
    const fused = await manifoldLoss([p], { k: 8, seed: 1, impl: 'fused', grad: 'return' });
    const naive = await manifoldLoss([p], { k: 8, seed: 1, impl: 'naive', grad: 'return' });
    expect(relDiff(fused.total, naive.total)).toBeLessThan(1e-12);
    expect(maxRelDiff(fused.gradStudent![0], naive.gradStudent![0])).toBeLessThan(1e-10);
  });
});

describe('manifold loss errors', () => {
  const ok = pair([2, 5, 3], [2, 4, 4], 1);
  const expectCode = async (pairs: LayerPair[], options: ManifoldLossOptions, code: string, message?: RegExp) => {
    const err = await manifoldLoss(pairs, options).then(() => undefined, (e: unknown) => e as Error & { code: string });
    expect(err, 'expected a rejection').toBeDefined();
    expect(err!.code).toBe(code);
    if (message) expect(err!.message).toMatch(message);
    expect(err!.message).not.toMatch(/frame #|Exception raised from/);
  };

  it('rank other than 3', async () => {
    const bad: LayerPair = { student: { data: new Float32Array(10), shape: [2, 5] as unknown as Shape }, teacher: ok.teacher };
    await expectCode([bad], {}, 'MDISTILL_SHAPE_MISMATCH', /rank 3 \[B, N, d\], got student \[2, 5\], teacher \[2, 4, 4\]/);
  });

  it('batch sizes that differ', async () => {
    await expectCode([pair([2, 5, 3], [3, 4, 4], 1)], {}, 'MDISTILL_SHAPE_MISMATCH', /batch sizes differ \(student \[2, 5, 3\], teacher \[3, 4, 4\]/);
    await expectCode([ok, pair([3, 5, 3], [3, 4, 4], 1)], {}, 'MDISTILL_SHAPE_MISMATCH', /pair 1: batch sizes differ/);
  });

  it('K below 1 and an empty pair list', async () => {
    await expectCode([ok], { k: 0 }, 'MDISTILL_BAD_ARGUMENT', /K must be at least 1, got 0/);
    await expectCode([], {}, 'MDISTILL_BAD_ARGUMENT', /layer pair list is empty/);
  });

  it('token counts that cannot be reconciled name both shapes', async () => {
    await expectCode([pair([2, 4, 3], [2, 5, 3], 1)], {}, 'MDISTILL_SHAPE_MISMATCH',
      /student \[2, 4, 3\], teacher \[2, 5, 3\].*fewer tokens than the teacher/);
    await expectCode([pair([1, 197, 2], [1, 49, 2], 1)], {}, 'MDISTILL_SHAPE_MISMATCH',
      /student \[1, 197, 2\], teacher \[1, 49, 2\].*set max_patch_num/);
    await expectCode([pair([1, 197, 2], [1, 64, 2], 1)], { maxPatchNum: 49 }, 'MDISTILL_SHAPE_MISMATCH',
      /student \[1, 197, 2\], teacher \[1, 64, 2\]\): the 14x14 student grid merges to 7x7 but the 8x8 teacher grid to 4x4/);
  });

  it('bad row permutations and arguments', async () => {
    await expectCode([ok], { k: 3, perms: [[0, 1, 1]] }, 'MDISTILL_BAD_ARGUMENT', /distinct rows in \[0, 8\), found 1 twice/);
    await expectCode([ok], { k: 3, perms: [[0, 1, 8]] }, 'MDISTILL_BAD_ARGUMENT', /found 8/);
    await expectCode([ok], { k: 3, perms: [[0, 1]] }, 'MDISTILL_BAD_ARGUMENT', /perms holds 2 rows but K = min\(3, B\*N = 8\) = 3/);
    await expectCode([ok], { impl: 'fast' as 'fused' }, 'MDISTILL_BAD_ARGUMENT', /impl must be 'fused' or 'naive', got 'fast'/);
    await expectCode([ok], { wPatch: Number.NaN }, 'MDISTILL_BAD_ARGUMENT', /finite/);
  });
});

describe('manifold loss random rows', () => {
  it('the same seed draws the same rows and gives the same values; another seed differs', async () => {
    const pairs = [pair([4, 10, 6], [4, 9, 5], 3), pair([4, 10, 6], [4, 9, 5], 4)];
    const a = await manifoldLoss(pairs, { k: 12, seed: 42 });
    const b = await manifoldLoss(pairs, { k: 12, seed: 42 });
    const c = await manifoldLoss(pairs, { k: 12, seed: 43 });
    expect(a.perms.map((p) => [...p])).toEqual(b.perms.map((p) => [...p]));
    expect(a.rand).toBe(b.rand);
    expect(a.total).toBe(b.total);
    expect(a.perms.map((p) => [...p])).not.toEqual(c.perms.map((p) => [...p]));
    expect(a.rand).not.toBe(c.rand);
    for (const p of a.perms) {
      expect(new Set(p).size).toBe(12);
      for (const v of p) expect(v >= 0n && v < 36n).toBe(true);
    }
    // sample and patch terms do not depend on the draw
    expect(a.patch).toBe(c.patch);
  });

  it('K >= B*N uses every row once', async () => {
    const r = await manifoldLoss([pair([2, 4, 3], [2, 4, 3], 9)], { k: 1000, seed: 7 });
    expect([...r.perms[0]].map(Number).sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });
});
