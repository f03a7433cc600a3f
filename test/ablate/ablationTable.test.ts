// The ablation's arithmetic and table: mean/std over seeds, duration and mean ± std formatting, the markdown's
// rows and columns, and the row definitions built from a preset.
import { describe, expect, it } from 'vitest';
import { defaultConfig, resolveConfig } from '../../src/config/resolveConfig.js';
import { ablationRows } from '../../src/recipes/ablationPlan.js';
import {
  formatAblationMarkdown, formatDuration, formatMeanStd, meanStd, summarizeRow, METRIC, type AblationResult, type AblationRun,
} from '../../src/recipes/ablationTable.js';

describe('meanStd', () => {
  it('gives the mean and the sample (n - 1) standard deviation', () => {
    const m = meanStd([80, 82, 84]);
    expect(m.n).toBe(3);
    expect(m.mean).toBeCloseTo(82, 12);
    expect(m.std).toBeCloseTo(2, 12);
    const two = meanStd([1, 2]);
    expect(two.std).toBeCloseTo(Math.SQRT1_2, 12);
  });
  it('has no standard deviation for one seed and nothing for none', () => {
    expect(meanStd([75.5])).toEqual({ n: 1, mean: 75.5, std: NaN });
    expect(meanStd([])).toEqual({ n: 0, mean: NaN, std: NaN });
  });
  it('is zero for identical seeds', () => {
    expect(meanStd([70, 70, 70]).std).toBe(0);
  });
});

describe('formatting', () => {
  it('formats mean ± std with two decimals, and says when there is a single seed', () => {
    expect(formatMeanStd(meanStd([80, 82, 84]))).toBe('82.00 ± 2.00');
    expect(formatMeanStd(meanStd([81.234]))).toBe('81.23 (1 seed)');
    expect(formatMeanStd(meanStd([]))).toBe('–');
  });
  it('formats durations in s, min and h', () => {
    expect(formatDuration(12.34)).toBe('12.3 s');
    expect(formatDuration(125)).toBe('2 min 05 s');
    expect(formatDuration(3725)).toBe('1 h 02 min');
    expect(formatDuration(NaN)).toBe('–');
  });
});

describe('ablationRows', () => {
  it('builds six rows from the quickstart preset, each manifold row keeping only its weights', async () => {
    const config = await resolveConfig({ configFile: 'quickstart' });
    const rows = ablationRows(config);
    expect(rows.map((r) => r.id)).toEqual(['scratch', 'kd', 'kd-patch', 'kd-sample', 'kd-rand', 'manifold']);
    const byId = Object.fromEntries(rows.map((r) => [r.id, r.overrides]));
    expect(byId.scratch).toEqual({ 'distillation-type': 'none' });
    expect(byId.kd).toEqual({ 'w-sample': 0, 'w-patch': 0, 'w-rand': 0 });
    expect(byId['kd-patch']).toEqual({ 'w-sample': 0, 'w-patch': config['w-patch'], 'w-rand': 0 });
    expect(byId['kd-sample']).toEqual({ 'w-sample': config['w-sample'], 'w-patch': 0, 'w-rand': 0 });
    expect(byId['kd-rand']).toEqual({ 'w-sample': 0, 'w-patch': 0, 'w-rand': config['w-rand'] });
    expect(byId.manifold).toEqual({ 'w-sample': config['w-sample'], 'w-patch': config['w-patch'], 'w-rand': config['w-rand'] });
  });
  it('rejects a config whose rows would coincide, naming the key', () => {
    const config = { ...defaultConfig(), 'distillation-type': 'soft', 'w-sample': 0.1, 'w-patch': 4, 'w-rand': 0 } as ReturnType<typeof defaultConfig>;
    expect(() => ablationRows(config)).toThrow(/'w-rand' > 0.*--w-rand/);
    expect(() => ablationRows({ ...config, 'w-rand': 0.2, 'distillation-type': 'none' })).toThrow(/distillation-type/);
    expect(() => ablationRows({ ...config, 'w-rand': 0.2, 'distillation-beta': 0 })).toThrow(/distillation-beta/);
  });
});

describe('formatAblationMarkdown', () => {
  const run = (seed: number, acc1: number, seconds: number): AblationRun =>
    ({ seed, dir: `/x/s${seed}`, acc1, acc5: 99, bestAcc1: acc1, bestEpoch: 0, seconds });
  it('has a header, one line per row with mean ± std, per-seed values and wall times, and the total', async () => {
    const config = await resolveConfig({ configFile: 'quickstart' });
    const rows = ablationRows(config).map((spec, i) => summarizeRow(spec, config, [run(0, 80 + i, 60), run(1, 82 + i, 70)]));
    const result: AblationResult = {
      preset: 'quickstart', command: 'mdistill ablate --seeds 2', seeds: [0, 1], metric: METRIC,
      budget: { epochs: 3, trainSubset: 12000, evalSubset: 2000, batchSize: 128, dataSet: 'FASHION-MNIST' },
      teacher: { model: 'deit_small_patch16_224', source: 'trained once here', acc1: 88.5, acc5: 99.9, seconds: 100 },
      rows, totalSeconds: 1660,
    };
    const md = formatAblationMarkdown(result);
    const table = md.split('\n').filter((l) => l.startsWith('|'));
    expect(table).toHaveLength(2 + 6);
    expect(table[0]).toMatch(/top-1 % \(mean ± std\).*wall time \(row\).*wall time \/ run/);
    expect(table[2]).toBe('| student from scratch (no teacher) | – | – | – | 2 | 81.00 ± 1.41 | 99.00 ± 0.00 | 80.00 (s0), 82.00 (s1) | 2 min 10 s | 1 min 05 s |');
    expect(table[7]).toMatch(/^\| soft KD \+ full manifold .* \| 0\.1 \| 4 \| 0\.2 \| 2 \| 86\.00 ± 1\.41 \|/);
    expect(md).toContain('Command: `mdistill ablate --seeds 2`');
    expect(md).toContain('Seeds: 2 (0, 1)');
    expect(md).toContain('top-1 88.50%');
    expect(md).toContain('Total wall time: 27 min 40 s, of which 1 min 40 s training the teacher.');
    expect(md).not.toContain('Stopped');
    expect(formatAblationMarkdown({ ...result, stoppedBy: 'SIGINT' })).toContain('Stopped by SIGINT');
  });
});
