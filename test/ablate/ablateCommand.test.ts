// `mdistill ablate` end to end on a tiny synthetic budget: a SIGINT mid-run leaves a partial table with what
// finished; the same command then completes, reusing the finished run and the teacher, and writes six rows
// of mean ± std over two seeds with wall times, plus ablation.json with the raw numbers.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import { resolveConfig } from '../../src/config/resolveConfig.js';
import type { TrainConfig } from '../../src/config/schema.js';
import { runAblation } from '../../src/recipes/ablationRunner.js';
import type { AblationResult } from '../../src/recipes/ablationTable.js';

let tmp: string;
let out: string;
const TINY: Partial<TrainConfig> = {
  'data-set': 'SYNTHETIC', 'input-size': 16, 'train-subset': 128, 'eval-subset': 64, 'batch-size': 32, epochs: 1, 'teacher-epochs': 1,
  'model-overrides': { patchSize: 4, embedDim: 32, depth: 2, numHeads: 2 },
  'teacher-overrides': { patchSize: 4, embedDim: 48, depth: 3, numHeads: 2 },
  's-id': [0, 1], 't-id': [1, 2], K: 16, 'log-every': 1, workers: 0,
};
const FLAGS = [
  '--data-set', 'SYNTHETIC', '--input-size', '16', '--train-subset', '128', '--eval-subset', '64', '--batch-size', '32', '--epochs', '1',
  '--teacher-epochs', '1', '--model-overrides', '{"patchSize":4,"embedDim":32,"depth":2,"numHeads":2}',
  '--teacher-overrides', '{"patchSize":4,"embedDim":48,"depth":3,"numHeads":2}', '--s-id', '0', '1', '--t-id', '1', '2', '--K', '16',
  '--log-every', '1', '--workers', '0',
];

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'mdistill-ablate-'));
  out = path.join(tmp, 'ablation');
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('mdistill ablate', () => {
  it('stops cleanly on SIGINT with the finished runs in the table', async () => {
    const config = await resolveConfig({ configFile: 'quickstart', flags: { ...TINY, 'output-dir': out } });
    const { exitCode, result } = await runAblation({
      config, preset: 'quickstart', seeds: 2, command: 'test',
      // The signal arrives as the second run (KD only, seed 0) starts: it takes one step, saves and stops.
      log: (m) => { if (m.includes('== soft KD only, seed 0')) (process.emit as (event: string, signal: string) => boolean)('SIGINT', 'SIGINT'); },
    });
    expect(exitCode).toBe(130);
    expect(result.stoppedBy).toBe('SIGINT');
    expect(result.rows.map((r) => r.runs.length)).toEqual([1, 0, 0, 0, 0, 0]);
    expect(existsSync(path.join(out, 'kd-seed0', 'checkpoint-last', 'state.json'))).toBe(true);
    const md = await readFile(path.join(out, 'ablation.md'), 'utf8');
    expect(md).toContain('Stopped by SIGINT');
    expect(md).toMatch(/\| student from scratch \(no teacher\) \| – \| – \| – \| 1 \| \d+\.\d\d \(1 seed\) \|/);
  });

  it('completes on the same command, reusing the teacher and the finished run, with six mean ± std rows', async () => {
    const code = await runCli(['node', 'mdistill', 'ablate', '--seeds', '2', '--output-dir', out, ...FLAGS]);
    expect(code).toBe(0);
    const md = await readFile(path.join(out, 'ablation.md'), 'utf8');
    const table = md.split('\n').filter((l) => l.startsWith('|'));
    expect(table).toHaveLength(8);
    expect(table[0]).toMatch(/\| row \| w-sample \| w-patch \| w-rand \| seeds \| top-1 % \(mean ± std\) \|.*\| wall time \(row\) \| wall time \/ run \|/);
    for (const line of table.slice(2)) {
      expect(line).toMatch(/\| 2 \| \d+\.\d\d ± \d+\.\d\d \| \d+\.\d\d ± \d+\.\d\d \| \d+\.\d\d \(s0\), \d+\.\d\d \(s1\) \| [\d.]+ (s|min \d\d s) \| [\d.]+ (s|min \d\d s) \|$/);
    }
    expect(md).toMatch(/Total wall time: [\d.]+ (s|min \d\d s)\./);
    expect(md).toContain('1 run(s) were reused');
    expect(md).toContain('trained by an earlier run');
    // The command as given (options in the schema's order), so the table says how it was made.
    const command = /^Command: `(.*)`$/m.exec(md)?.[1] ?? '';
    expect(command).toMatch(/^mdistill ablate --seeds 2 /);
    for (const piece of [`--output-dir ${out}`, '--data-set SYNTHETIC', '--epochs 1', '--s-id 0 1', `--model-overrides '{"patchSize":4,`]) {
      expect(command).toContain(piece);
    }
    expect(md).not.toContain('Stopped');

    const json = JSON.parse(await readFile(path.join(out, 'ablation.json'), 'utf8')) as AblationResult;
    expect(json.seeds).toEqual([0, 1]);
    expect(json.rows.map((r) => r.id)).toEqual(['scratch', 'kd', 'kd-patch', 'kd-sample', 'kd-rand', 'manifold']);
    for (const row of json.rows) {
      expect(row.runs.map((r) => r.seed)).toEqual([0, 1]);
      for (const run of row.runs) {
        expect(run.acc1).toBeGreaterThanOrEqual(0);
        expect(run.acc1).toBeLessThanOrEqual(100);
        expect(run.seconds).toBeGreaterThan(0);
        expect(existsSync(path.join(out, `${row.id}-seed${run.seed}`, 'checkpoint-last', 'model.safetensors'))).toBe(true);
      }
      const values = row.runs.map((r) => r.acc1);
      expect(row.acc1.mean).toBeCloseTo((values[0] + values[1]) / 2, 10);
    }
    expect(json.rows[0].runs[0].reused).toBe(true);
    expect(json.rows[1].runs[0].reused).toBeUndefined();
    // Every run saw the one teacher (trained once, in <out>/teacher) and its own seed's config.
    const kdConfig = await readFile(path.join(out, 'kd-patch-seed1', 'config.yaml'), 'utf8');
    expect(kdConfig).toMatch(/^seed: 1$/m);
    expect(kdConfig).toMatch(/^w-sample: 0$/m);
    expect(kdConfig).toMatch(/^w-rand: 0$/m);
    expect(kdConfig).toMatch(/^w-patch: 4$/m);
    expect(existsSync(path.join(out, 'teacher', 'checkpoint-best', 'model.safetensors'))).toBe(true);
    // report.html compares the teacher and the 12 runs: top-1 per (1-based) epoch on one chart, and their final table.
    const report = await readFile(path.join(out, 'report.html'), 'utf8');
    expect(report).toMatch(/data-chart="compare-acc1" data-points="13" data-series="13"/);
    for (const row of json.rows) for (const run of row.runs) expect(report).toContain(`<tr><th scope="row">${row.id}-seed${run.seed}</th><td>1</td><td>${run.acc1.toFixed(2)}%</td>`);
    expect(report).toContain('<tr><th scope="row">teacher (deit_small_patch16_224)</th>');
  });
});
