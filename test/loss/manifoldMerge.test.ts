// The manifold loss across grids (Swin stages, ViT grids): layouts drop prefix tokens and merge both sides to a
// common square grid; fused = naive on mixed pairs; a ViT-teacher/Swin-student pair equals a merge built by hand;
// and the errors name the pair and both grids, also before training (checkPairGrids).
import { describe, expect, it } from 'vitest';
import { defaultConfig, resolveConfig } from '../../src/config/resolveConfig.js';
import { manifoldLoss, planLayerPairs, type LayerPair, type ManifoldLossOptions } from '../../src/loss/manifoldLoss.js';
import { blockLayouts, resolveModel, type ModelConfig, type TokenLayout } from '../../src/model/modelConfig.js';
import { checkPairGrids } from '../../src/recipes/runModels.js';
import { maxRelDiff, relDiff, seeded } from './lossTestUtils.js';

type Shape = [number, number, number];

/** Features of `layout` ([B, prefix + rows*cols, d]), with the layout attached. */
function features(batch: number, layout: TokenLayout, dim: number, seed: number, withLayout = true): LayerPair['student'] {
  const shape: Shape = [batch, layout.prefix + layout.rows * layout.cols, dim];
  return { data: seeded(shape[0] * shape[1] * shape[2], seed), shape, ...(withLayout ? { layout } : {}) };
}

/** The official merge by hand: drop `prefix` tokens, then each g x g group of an n x n grid becomes one token with
 *  its features concatenated row-major (row offset, then column offset, then channel). */
function mergeByHand(f: LayerPair['student'], prefix: number, grid: number, g: number): LayerPair['student'] {
  const [b, n, d] = f.shape;
  const m = grid / g;
  const out = new Float64Array(b * m * m * g * g * d);
  let o = 0;
  for (let i = 0; i < b; i++) {
    for (let r = 0; r < m; r++) {
      for (let c = 0; c < m; c++) {
        for (let dr = 0; dr < g; dr++) {
          for (let dc = 0; dc < g; dc++) {
            const token = prefix + (r * g + dr) * grid + (c * g + dc);
            for (let k = 0; k < d; k++) out[o++] = f.data[(i * n + token) * d + k];
          }
        }
      }
    }
  }
  return { data: out, shape: [b, m * m, g * g * d] };
}

describe('fused = naive on mixed pairs (float64, 1e-10)', () => {
  const swin = (grid: number): TokenLayout => ({ prefix: 0, rows: grid, cols: grid });
  const vit = (grid: number, prefix = 1): TokenLayout => ({ prefix, rows: grid, cols: grid });
  const cases: { name: string; pairs: [TokenLayout, TokenLayout][]; options: ManifoldLossOptions }[] = [
    { name: 'Swin 8x8 and 4x4 stages against a ViT 4x4 (+cls), max_patch_num 16', pairs: [[swin(8), vit(4)], [swin(4), vit(4)]], options: { k: 12, maxPatchNum: 16 } },
    { name: 'grids differ, both within max_patch_num: 14x14 to a 7x7 (+cls)', pairs: [[swin(14), vit(7)]], options: { k: 20, maxPatchNum: 196 } },
    { name: 'the teacher side merged: Swin 4x4 against a distilled ViT 8x8 (+cls, dist)', pairs: [[swin(4), vit(8, 2)]], options: { k: 10, maxPatchNum: 16 } },
    { name: 'Swin stage against Swin stage: 8x8 and 4x4, max_patch_num 4', pairs: [[swin(8), swin(4)]], options: { k: 6, maxPatchNum: 4 } },
    { name: 'same grid, no merge: Swin 4x4 against a ViT 4x4 (+cls)', pairs: [[swin(4), vit(4)]], options: { k: 9 } },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const pairs = c.pairs.map(([s, t], i) => ({ student: features(3, s, 5, 10 + i), teacher: features(3, t, 7, 20 + i) }));
      const fused = await manifoldLoss(pairs, { ...c.options, seed: 4, impl: 'fused', grad: 'return' });
      const naive = await manifoldLoss(pairs, { ...c.options, seed: 4, impl: 'naive', grad: 'return' });
      for (const term of ['sample', 'patch', 'rand', 'total'] as const) expect(relDiff(fused[term], naive[term]), term).toBeLessThan(1e-10);
      expect(fused.perms.map((p) => [...p])).toEqual(naive.perms.map((p) => [...p]));
      pairs.forEach((p, i) => {
        expect(fused.gradStudent![i].length).toBe(p.student.data.length);
        expect(maxRelDiff(fused.gradStudent![i], naive.gradStudent![i]), `grad of pair ${i}`).toBeLessThan(1e-10);
      });
      expect(fused.total).toBeGreaterThan(0);
    });
  }
});

describe('a ViT teacher and a Swin student', () => {
  it('8x8 Swin stage against a 4x4 ViT (+cls) under max_patch_num 16 equals the merge built by hand', async () => {
    const student = features(2, { prefix: 0, rows: 8, cols: 8 }, 3, 1);
    const teacher = features(2, { prefix: 1, rows: 4, cols: 4 }, 5, 2);
    const merged = await manifoldLoss([{ student, teacher }], { k: 16, seed: 9, maxPatchNum: 16, grad: 'return' });
    // By hand: the student's 2x2 groups concatenated, the teacher's cls dropped; then the plain loss on 16 tokens.
    const hand = await manifoldLoss([{ student: mergeByHand(student, 0, 8, 2), teacher: mergeByHand(teacher, 1, 4, 1) }],
      { k: 16, perms: merged.perms, grad: 'return' });
    for (const term of ['sample', 'patch', 'rand', 'total'] as const) expect(relDiff(merged[term], hand[term]), term).toBeLessThan(1e-12);
    // The gradient comes back on the student's own 8x8 grid: scattered from the hand-merged tokens.
    const scattered = mergeByHand({ data: merged.gradStudent![0], shape: student.shape }, 0, 8, 2).data;
    expect(maxRelDiff(scattered, hand.gradStudent![0])).toBeLessThan(1e-12);
  });

  it('on the same grid, the teacher\'s cls token is dropped and the rest compared directly', async () => {
    const student = features(2, { prefix: 0, rows: 7, cols: 7 }, 4, 3);
    const teacher = features(2, { prefix: 1, rows: 7, cols: 7 }, 6, 4);
    const r = await manifoldLoss([{ student, teacher }], { k: 30, seed: 2 });
    const hand = await manifoldLoss([{ student, teacher: mergeByHand(teacher, 1, 7, 1) }].map((p) => ({ ...p, student: { ...p.student, layout: undefined } })),
      { k: 30, perms: r.perms });
    expect(relDiff(r.total, hand.total)).toBeLessThan(1e-12);
    // Without layouts the official rule holds: a student with fewer tokens than its teacher is an error.
    await expect(manifoldLoss([{ student: { ...student, layout: undefined }, teacher: { ...teacher, layout: undefined } }], { k: 30 }))
      .rejects.toThrow(/fewer tokens than the teacher/);
  });
});

describe('errors name the pair and both grids', () => {
  const pair = (s: TokenLayout, t: TokenLayout): LayerPair => ({ student: features(1, s, 2, 1), teacher: features(1, t, 2, 2) });
  const rejects = async (pairs: LayerPair[], options: ManifoldLossOptions, message: RegExp) => {
    const err = await manifoldLoss(pairs, options).then(() => undefined, (e: unknown) => e as Error & { code: string });
    expect(err, 'expected a rejection').toBeDefined();
    expect(err!.code).toBe('MDISTILL_SHAPE_MISMATCH');
    expect(err!.message).toMatch(message);
  };

  it('different grids without max_patch_num', async () => {
    await rejects([pair({ prefix: 0, rows: 14, cols: 14 }, { prefix: 1, rows: 7, cols: 7 })], {},
      /manifold loss pair 0: .*the student's 14x14 grid and the teacher's 7x7 grid differ; set max_patch_num/);
  });

  it('non-square grids', async () => {
    const ok = pair({ prefix: 0, rows: 4, cols: 4 }, { prefix: 0, rows: 4, cols: 4 });
    await rejects([ok, pair({ prefix: 0, rows: 4, cols: 8 }, { prefix: 1, rows: 4, cols: 4 })], { maxPatchNum: 16 },
      /manifold loss pair 1: .*needs square grids, but the student's 4x8 grid and the teacher's 4x4 grid are not both square/);
  });

  it('grids with no common merged side, with the max_patch_num that would work', async () => {
    await rejects([pair({ prefix: 0, rows: 12, cols: 12 }, { prefix: 1, rows: 8, cols: 8 })], { maxPatchNum: 64 },
      /pair 0: .*the 12x12 student grid merges to 6x6 but the 8x8 teacher grid to 8x8 under max_patch_num 64, and 6 does not divide both; .*\(16 merges both to 4x4\)/);
  });

  it('a layout that does not fit the features', async () => {
    const bad: LayerPair = { student: { ...features(1, { prefix: 0, rows: 4, cols: 4 }, 2, 1), layout: { prefix: 1, rows: 4, cols: 4 } }, teacher: features(1, { prefix: 0, rows: 4, cols: 4 }, 2, 2) };
    await rejects([bad], {}, /pair 0: the student features hold 16 tokens but their layout is 1 prefix tokens and a 4x4 grid/);
    await expect(manifoldLoss([bad, { ...bad, student: { ...bad.student, layout: undefined } }])).rejects.toThrow(/1 of 2 student features have a layout/);
  });
});

describe('planning the --s-id/--t-id pairs before training', () => {
  it('planLayerPairs says what the loss will do with each pair', () => {
    expect(planLayerPairs([
      { student: { prefix: 0, rows: 56, cols: 56 }, teacher: { prefix: 1, rows: 14, cols: 14 } },
      { student: { prefix: 0, rows: 14, cols: 14 }, teacher: { prefix: 1, rows: 14, cols: 14 } },
    ], 196)).toEqual([
      { tokens: 196, dropStudent: 0, dropTeacher: 1, mergeStudent: 4, mergeTeacher: 1 },
      { tokens: 196, dropStudent: 0, dropTeacher: 1, mergeStudent: 1, mergeTeacher: 1 },
    ]);
  });

  it('checkPairGrids names the flags, the blocks and both grids', () => {
    // A Swin-T student at 224 px: blocks 0-1 on 56x56, 2-3 on 28x28, 4-9 on 14x14, 10-11 on 7x7; DeiT-S on 14x14.
    const student = resolveModel('swin_tiny_patch4_window7_224');
    const teacher = resolveModel('deit_small_patch16_224');
    const config = { ...defaultConfig(), model: 'swin_tiny_patch4_window7_224', 'teacher-model': 'deit_small_patch16_224', 's-id': [0, 4], 't-id': [1, 5] };
    expect(() => checkPairGrids({ ...config, 'max-patch-num': 196 }, student, teacher)).not.toThrow();
    expect(() => checkPairGrids({ ...config, 'max-patch-num': 0 }, student, teacher)).toThrow(
      /--s-id 0 \/ --t-id 1 \(student 'swin_tiny_patch4_window7_224' block 0, teacher 'deit_small_patch16_224' block 1\): .*the student's 56x56 grid and the teacher's 14x14 grid differ/);
    // Off when the manifold loss is off.
    expect(() => checkPairGrids({ ...config, 'max-patch-num': 0, 'distillation-beta': 0 }, student, teacher)).not.toThrow();
  });
});

describe('the Swin recipes\' layer pairs', () => {
  const plan = async (preset: string, data: Partial<ModelConfig>) => {
    const config = await resolveConfig({ configFile: preset });
    const student = resolveModel(config.model, { ...(config['model-overrides'] as Partial<ModelConfig>), imgSize: config['input-size'], ...data });
    const teacher = resolveModel(config['teacher-model'], { ...(config['teacher-overrides'] as Partial<ModelConfig>), imgSize: config['input-size'], ...data });
    checkPairGrids(config, student, teacher);
    const s = blockLayouts(student), t = blockLayouts(teacher);
    return planLayerPairs(config['s-id'].map((id, i) => ({ student: s[id], teacher: t[config['t-id'][i]] })), config['max-patch-num']);
  };

  it('swin-tiny-swin-small: stages 0 and 1 merged to 14x14 on both sides, stages 2 and 3 compared as they are', async () => {
    const plans = await plan('swin-tiny-swin-small', {});
    expect(plans.map((p) => [p.tokens, p.mergeStudent, p.mergeTeacher])).toEqual([
      [196, 4, 4], [196, 4, 4], [196, 2, 2], [196, 2, 2], [196, 1, 1], [196, 1, 1], [49, 1, 1], [49, 1, 1],
    ]);
  });

  it('quickstart-swin: the 14x14 stage merged onto the ViT teacher\'s 7x7 grid, the 7x7 stage compared directly', async () => {
    const plans = await plan('quickstart-swin', { inChans: 1, numClasses: 10 });
    expect(plans).toEqual([
      { tokens: 49, dropStudent: 0, dropTeacher: 1, mergeStudent: 2, mergeTeacher: 1 },
      { tokens: 49, dropStudent: 0, dropTeacher: 1, mergeStudent: 2, mergeTeacher: 1 },
      { tokens: 49, dropStudent: 0, dropTeacher: 1, mergeStudent: 1, mergeTeacher: 1 },
      { tokens: 49, dropStudent: 0, dropTeacher: 1, mergeStudent: 1, mergeTeacher: 1 },
    ]);
  });
});
