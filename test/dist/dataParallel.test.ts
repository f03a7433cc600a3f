// Data-parallel training over c10d/Gloo on loopback: equivalence with one process, the torchrun variables,
// a crashed peer, and resuming a 2-process checkpoint on 1 process.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { readSafetensors, toFloat32 } from '../../src/io/safetensors.js';
import { buildDist } from '../data/helpers.js';
import { killStarted, runArgs, startCli, startRanks, tmpRun, writeTeacher, type Exit } from './distRun.js';

const tmp = tmpRun('dp');
const teacher = path.join(tmp.dir, 'teacher.safetensors');

beforeAll(async () => {
  buildDist();
  await writeTeacher(teacher);
}, 180_000);
afterEach(() => killStarted());
afterAll(() => {
  killStarted();
  tmp.cleanup();
});

/**
 * Largest |a − b| over the students' weights, and separately over the attention key biases: a key bias gets a
 * gradient that is zero in exact arithmetic (softmax ignores a shift shared by all keys), so both runs hold only
 * rounding noise there, which AdamW's g/√v turns into steps of up to ±lr. Those entries are bounded loosely.
 */
async function weightDiffs(a: string, b: string): Promise<{ max: number; keyBias: number }> {
  const x = (await readSafetensors(path.join(a, 'checkpoint-last', 'model.safetensors'))).tensors;
  const y = (await readSafetensors(path.join(b, 'checkpoint-last', 'model.safetensors'))).tensors;
  expect([...x.keys()].sort()).toEqual([...y.keys()].sort());
  let max = 0, keyBias = 0;
  for (const [name, t] of x) {
    const u = toFloat32(t), v = toFloat32(y.get(name)!);
    const keys = name.endsWith('attn.qkv.bias') ? [u.length / 3, (2 * u.length) / 3] : [0, 0];
    for (let i = 0; i < u.length; i++) {
      const d = Math.abs(u[i] - v[i]);
      if (i >= keys[0] && i < keys[1]) keyBias = Math.max(keyBias, d);
      else max = Math.max(max, d);
    }
  }
  return { max, keyBias };
}

function state(dir: string): { epoch: number; step: number; batchInEpoch: number; worldSize: number } {
  return JSON.parse(readFileSync(path.join(dir, 'checkpoint-last', 'state.json'), 'utf8'));
}

function stepRecords(dir: string): { step: number }[] {
  return readFileSync(path.join(dir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((r) => r.kind === 'step');
}

/** While a run writes: the complete step lines so far. */
function stepsSoFar(dir: string): number {
  const file = path.join(dir, 'log.jsonl');
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l.endsWith('}') && l.includes('"kind":"step"')).length : 0;
}

function expectOk(e: Exit): void {
  if (e.code !== 0) throw new Error(`exit ${e.code ?? e.signal}:\n${e.stderr}`);
}

async function until(cond: () => boolean, what: string, ms = 60_000): Promise<void> {
  for (const start = Date.now(); !cond(); await new Promise((r) => setTimeout(r, 20))) {
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
  }
}

describe('data parallel (Gloo, loopback)', () => {
  test('2 workers × batch 8 equal 1 worker × batch 16 with --global-sample-manifold', async () => {
    const exact = ['--global-sample-manifold', '--w-rand', '0'];
    const one = path.join(tmp.dir, 'one'), two = path.join(tmp.dir, 'two'), perRank = path.join(tmp.dir, 'per-rank');
    const runs = [
      startCli(runArgs({ outDir: one, teacher, batch: 16, trainSubset: 48, extra: exact })).exit,
      // --nproc-per-node: the launcher spawns the two workers. Tiny buckets: one all-reduce per few parameters,
      // started from the autograd hooks in bucket order.
      startCli(runArgs({ outDir: two, teacher, batch: 8, trainSubset: 48, extra: [...exact, '--nproc-per-node', '2', '--bucket-cap-mb', '0.01'] })).exit,
      // The official per-rank sample relation differs with the process count.
      startCli(runArgs({ outDir: perRank, teacher, batch: 8, trainSubset: 48, extra: ['--w-rand', '0', '--nproc-per-node', '2'] })).exit,
    ];
    for (const e of await Promise.all(runs)) expectOk(e);
    expect(state(one).step).toBe(3);
    expect(state(two)).toMatchObject({ step: 3, worldSize: 2 });
    const same = await weightDiffs(one, two);
    expect(same.max).toBeLessThanOrEqual(1e-6);
    expect(same.keyBias).toBeLessThanOrEqual(1e-5);
    expect((await weightDiffs(one, perRank)).max).toBeGreaterThan(1e-5);
    // Rank 0 logged the global means: the same loss as the single process.
    const a = stepRecords(one), b = stepRecords(two);
    expect(b.length).toBe(3);
    for (let i = 0; i < 3; i++) expect(Math.abs((b[i] as { loss: { total: number } }).loss.total - (a[i] as { loss: { total: number } }).loss.total)).toBeLessThan(1e-5);
  }, 180_000);

  test('torchrun variables set by hand; SIGINT stops both at the same step; the checkpoint resumes on 1 process', async () => {
    const dir = path.join(tmp.dir, 'torchrun');
    const ranks = await startRanks(2, runArgs({ outDir: dir, teacher, batch: 8, trainSubset: 1600 }));
    let rank0 = '';
    ranks[0].child.stderr!.on('data', (d: Buffer) => (rank0 += d.toString()));
    await until(() => rank0.includes('data parallel: 2 processes') && stepsSoFar(dir) > 0, 'the first step');
    for (const r of ranks) r.child.kill('SIGINT');
    const exits = await Promise.all(ranks.map((r) => r.exit));
    expect(exits.map((e) => e.code)).toEqual([130, 130]);
    const saved = state(dir);
    expect(saved.worldSize).toBe(2);
    expect(saved.batchInEpoch).toBeGreaterThan(0);
    expect(saved.batchInEpoch).toBeLessThan(100);
    // Only rank 0 writes: one log line per global step.
    expect(stepRecords(dir).map((r) => r.step)).toEqual(Array.from({ length: saved.step }, (_, i) => i + 1));

    // Resume on one process (batch 8): 2 × 8 × k samples done → batch 2k of 200.
    const resumed = startCli(runArgs({ outDir: dir, teacher, batch: 8, trainSubset: 1600, extra: ['--resume', path.join(dir, 'checkpoint-last')] }));
    const e = await resumed.exit;
    expectOk(e);
    expect(e.stderr).toContain(`→ batch ${2 * saved.batchInEpoch}, step ${2 * saved.batchInEpoch}`);
    expect(state(dir)).toMatchObject({ epoch: 1, step: 200, batchInEpoch: 0, worldSize: 1 });
    const steps = stepRecords(dir).map((r) => r.step);
    expect(steps[saved.step]).toBe(2 * saved.batchInEpoch + 1);
    expect(steps.at(-1)).toBe(200);
  }, 180_000);

  test('killing one worker ends the other with an error naming its rank, within --dist-timeout', async () => {
    const dir = path.join(tmp.dir, 'killed');
    const ranks = await startRanks(2, runArgs({ outDir: dir, teacher, batch: 8, trainSubset: 8000, extra: ['--dist-timeout', '10'] }));
    await until(() => stepsSoFar(dir) > 0, 'the first step');
    ranks[1].child.kill('SIGKILL');
    const [survivor, killed] = await Promise.all(ranks.map((r) => r.exit));
    expect(killed.signal).toBe('SIGKILL');
    expect(survivor.code).toBe(1);
    expect(survivor.stderr).toMatch(/rank 0 of 2: .*failed/);
    expect(survivor.stderr).toContain('MDISTILL_DIST_FAILURE');
    expect(existsSync(path.join(dir, 'checkpoint-last'))).toBe(false);
  }, 120_000);

  test('a stalled peer (SIGSTOP) ends the other after --dist-timeout', async () => {
    const dir = path.join(tmp.dir, 'stalled');
    const ranks = await startRanks(2, runArgs({ outDir: dir, teacher, batch: 8, trainSubset: 8000, extra: ['--dist-timeout', '8'] }));
    await until(() => stepsSoFar(dir) > 0, 'the first step');
    ranks[1].child.kill('SIGSTOP');
    const survivor = await ranks[0].exit;
    ranks[1].child.kill('SIGKILL');
    expect(survivor.code).toBe(1);
    expect(survivor.stderr).toMatch(/rank 0 of 2: .*failed: .*within 8 s \(--dist-timeout\)/);
  }, 120_000);
});
