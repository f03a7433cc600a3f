// Two processes started by the local launcher (--nproc-per-node's code): each gets its own LOCAL_RANK, takes
// cuda:LOCAL_RANK on a GPU machine, and draws its own mixup/cutmix decisions, which a resume reproduces.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchLocal } from '../../src/dist/launchLocal.js';
import { mixDecision } from '../../src/data/mixup.js';
import { buildDist } from '../data/helpers.js';

interface ProbeBatch { index: number; labels: number[]; targets: number[]; images: number[] }
interface Probe {
  rank: number; localRank: number; worldSize: number; threads: string;
  deviceWithTwoGpus: string; deviceWithOneGpu: string; full: ProbeBatch[]; resumed: ProbeBatch[];
}

const CLASSES = 5;

/** lam of a batch from its soft targets (no smoothing): the weight on a row's own label, where its mirror differs. */
function lamOf(b: ProbeBatch): number {
  const n = b.labels.length;
  for (let i = 0; i < n; i++) {
    if (b.labels[i] !== b.labels[n - 1 - i]) return b.targets[i * CLASSES + b.labels[i]];
  }
  throw new Error(`batch ${b.index}: every row has its mirror's label`);
}

describe('per-rank launch, device and mixup keys (2 processes)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'mdistill-rankkeys-'));
  let probes: Probe[] = [];
  beforeAll(async () => {
    buildDist();
    const launched = await launchLocal({ nproc: 2, argv: [path.join(import.meta.dirname, 'rankProbe.mjs'), dir], graceSeconds: 60 });
    expect(launched.exitCode).toBe(0);
    probes = [0, 1].map((r) => JSON.parse(readFileSync(path.join(dir, `rank${r}.json`), 'utf8')) as Probe);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('gives each process its rank as LOCAL_RANK and, with a GPU each, cuda:LOCAL_RANK', () => {
    for (const [r, p] of probes.entries()) {
      expect([p.rank, p.localRank, p.worldSize]).toEqual([r, r, 2]);
      expect(p.deviceWithTwoGpus).toBe(`cuda:${r}`);
    }
    expect(probes[0].deviceWithOneGpu).toBe('cuda:0');
    expect(probes[1].deviceWithOneGpu).toMatch(/^error: --device cuda: local rank 1 needs GPU 1 but this process sees 1/);
  });

  it('draws a different lam per rank for the same batch, rank 0 the single-process one', () => {
    for (let i = 0; i < 3; i++) {
      const [b0, b1] = probes.map((p) => p.full[i]);
      expect(b0.index).toBe(i);
      expect(b1.index).toBe(i);
      expect(lamOf(b0)).not.toBeCloseTo(lamOf(b1), 6);
      // Rank 0's lam is the one a single process draws for this batch (cutmix corrects it to the box's area).
      const single = mixDecision({ mixupAlpha: 0.8, cutmixAlpha: 1, prob: 1, switchProb: 0.5, smoothing: 0, numClasses: CLASSES }, 42, 1, i, 0, 8, 8);
      expect(lamOf(b0)).toBeCloseTo(single.lam, 6);
    }
  });

  it('reproduces each rank\'s batches when resumed after two batches', () => {
    for (const p of probes) {
      expect(p.resumed[0].index).toBe(2);
      expect(p.resumed[0]).toEqual(p.full[2]);
    }
  });
});
