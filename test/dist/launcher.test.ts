// The local launcher (--nproc-per-node) leaves no orphan: killed with SIGKILL, its workers notice within seconds,
// stop as on SIGTERM and keep their last checkpoint intact. A stalled (SIGSTOPped) rank ends the job within about
// --dist-timeout, not a fixed grace of its own.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readSafetensors } from '../../src/io/safetensors.js';
import { buildDist } from '../data/helpers.js';
import { killStarted, runArgs, startCli, tmpRun, writeTeacher } from './distRun.js';

const tmp = tmpRun('launcher');
let teacher: string;
const leftovers = new Set<number>();

beforeAll(async () => {
  buildDist();
  teacher = path.join(tmp.dir, 'teacher.safetensors');
  await writeTeacher(teacher);
});
afterEach(() => {
  killStarted();
  for (const pid of leftovers) {
    try {
      process.kill(pid, 'SIGCONT');
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  leftovers.clear();
});
afterAll(tmp.cleanup);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie still answers; its state says it is gone.
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** The worker processes of a launcher, with their RANK. */
function workersOf(launcher: number): { pid: number; rank: number }[] {
  const out: { pid: number; rank: number }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== launcher) continue;
      const env = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      const rank = env.find((v) => v.startsWith('RANK='));
      if (rank) out.push({ pid: Number(entry), rank: Number(rank.slice(5)) });
    } catch {
      // gone meanwhile
    }
  }
  return out.sort((a, b) => a.rank - b.rank);
}

async function until(what: string, ok: () => boolean, seconds: number): Promise<number> {
  const start = Date.now();
  while (!ok()) {
    if (Date.now() - start > seconds * 1000) throw new Error(`${what}: not within ${seconds} s`);
    await sleep(100);
  }
  return (Date.now() - start) / 1000;
}

const steps = (dir: string) => {
  try {
    return readFileSync(path.join(dir, 'log.jsonl'), 'utf8').split('"kind":"step"').length - 1;
  } catch {
    return 0;
  }
};

describe('the local launcher', () => {
  it('killed with SIGKILL, leaves no orphan: the workers stop within seconds and checkpoint-last is complete', async () => {
    const out = path.join(tmp.dir, 'orphans');
    const { child } = startCli(runArgs({ outDir: out, teacher, batch: 8, trainSubset: 4096, epochs: 50, extra: ['--nproc-per-node', '2'] }));
    await until('the first steps', () => steps(out) >= 3, 60);
    const workers = workersOf(child.pid!);
    expect(workers.map((w) => w.rank)).toEqual([0, 1]);
    for (const w of workers) leftovers.add(w.pid);
    child.kill('SIGKILL');
    const seconds = await until('the workers to stop', () => workers.every((w) => !alive(w.pid)), 20);
    expect(seconds).toBeLessThan(20);
    const state = JSON.parse(readFileSync(path.join(out, 'checkpoint-last', 'state.json'), 'utf8'));
    expect(state.step).toBeGreaterThanOrEqual(3);
    expect((await readSafetensors(path.join(out, 'checkpoint-last', 'model.safetensors'))).tensors.size).toBeGreaterThan(0);
  }, 90_000);

  it('a SIGSTOPped rank ends the job within about --dist-timeout (here 8 s), not after a fixed 90 s grace', async () => {
    const out = path.join(tmp.dir, 'stalled');
    const { child, exit } = startCli(runArgs({ outDir: out, teacher, batch: 8, trainSubset: 4096, epochs: 50, extra: ['--nproc-per-node', '2', '--dist-timeout', '8'] }));
    await until('the first steps', () => steps(out) >= 3, 60);
    const workers = workersOf(child.pid!);
    for (const w of workers) leftovers.add(w.pid);
    process.kill(workers[1].pid, 'SIGSTOP');
    const stopped = Date.now();
    const result = await Promise.race([exit, sleep(45_000).then(() => undefined)]);
    expect(result).toBeDefined();
    expect((Date.now() - stopped) / 1000).toBeLessThan(2 * 8 + 8);
    expect(result!.code).not.toBe(0);
    expect(workers.every((w) => !alive(w.pid))).toBe(true);
  }, 120_000);
});
