import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Batch } from '../../src/data/batch.js';
import { DataLoader, type DataLoaderOptions } from '../../src/data/dataLoader.js';
import { syntheticDataset } from '../../src/data/syntheticDataset.js';
import { smallTrainSpec } from '../../src/data/transformSpec.js';
import { buildDist, checksum } from './helpers.js';

const ds = syntheticDataset({ length: 90, numClasses: 5, height: 12, width: 12, channels: 3, seed: 1 });
const opts = (over: Partial<DataLoaderOptions> = {}): DataLoaderOptions => ({
  dataset: ds, transform: smallTrainSpec(12, 3, [0.5], [0.25], { reprob: 0.25 }), batchSize: 8, seed: 42,
  sampler: { shuffle: true, repeats: 3, rank: 0, worldSize: 1, pad: true }, dropLast: true,
  targets: { mixupAlpha: 0.8, cutmixAlpha: 1, prob: 1, switchProb: 0.5, smoothing: 0.1, numClasses: 5 },
  workers: 0, prefetch: 2, ...over,
});

async function epochSums(l: DataLoader, epoch: number, start = 0): Promise<string[]> {
  const out: string[] = [];
  for await (const b of l.epoch(epoch, start)) {
    out.push(`${b.index}:${checksum(b.images)}:${checksum(b.targets!)}:${checksum(b.labels)}`);
    b.release();
  }
  return out;
}

describe('DataLoader', () => {
  beforeAll(buildDist);
  const open: DataLoader[] = [];
  const make = (o: DataLoaderOptions): DataLoader => {
    const l = new DataLoader(o);
    open.push(l);
    return l;
  };
  afterAll(async () => {
    await Promise.all(open.map((l) => l.close()));
  });

  it('gives the same batches in process and with 1 or 3 worker threads', async () => {
    const inProc = await epochSums(make(opts()), 2);
    expect(inProc.length).toBe(Math.floor(90 / 8));
    expect(await epochSums(make(opts({ workers: 1 })), 2)).toEqual(inProc);
    expect(await epochSums(make(opts({ workers: 3, prefetch: 4 })), 2)).toEqual(inProc);
    expect(await epochSums(make(opts()), 3)).not.toEqual(inProc);
  });

  it('replays exactly after a resume at (epoch, index)', async () => {
    const full = await epochSums(make(opts()), 1);
    const resumed = make(opts({ workers: 2 }));
    let next: Batch['next'] | undefined;
    for await (const b of resumed.epoch(1)) {
      next = b.next;
      b.release();
      if (b.index === 4) break;
    }
    expect(next).toEqual({ epoch: 1, index: 40 });
    expect(await epochSums(make(opts()), next!.epoch, next!.index)).toEqual(full.slice(5));
    await expect(resumed.epoch(1, 3).next()).rejects.toThrow(/multiple of the batch size 8/);
  });

  it('never hands out a slot that is still in use', async () => {
    for (const workers of [0, 2]) {
      const l = make(opts({ workers, prefetch: 1, slots: 2 }));
      const it = l.epoch(0)[Symbol.asyncIterator]();
      const a = (await it.next()).value as Batch;
      const b = (await it.next()).value as Batch;
      expect(a.images.buffer).not.toBe(b.images.buffer);
      const before = checksum(a.images);
      let resolved = false;
      const third = it.next().then((r) => {
        resolved = true;
        return r.value as Batch;
      });
      await new Promise((r) => setTimeout(r, 150));
      expect(resolved).toBe(false);
      expect(checksum(a.images)).toBe(before);
      b.release();
      const c = await third;
      expect(c.images.buffer).toBe(b.images.buffer);
      expect(checksum(a.images)).toBe(before);
      expect(() => b.release()).toThrow(/released twice/);
      a.release();
      c.release();
      await it.return(undefined);
    }
  });

  it('produces soft targets that sum to 1 and plain labels when mixing and smoothing are off', async () => {
    const l = make(opts());
    for await (const b of l.epoch(0)) {
      expect(b.shape).toEqual([8, 3, 12, 12]);
      for (let i = 0; i < 8; i++) expect(b.targets!.subarray(i * 5, i * 5 + 5).reduce((x, y) => x + y, 0)).toBeCloseTo(1, 5);
      b.release();
    }
    const plain = make(opts({ targets: { mixupAlpha: 0, cutmixAlpha: 0, prob: 1, switchProb: 0.5, smoothing: 0, numClasses: 5 } }));
    for await (const b of plain.epoch(0)) {
      expect(b.targets).toBeUndefined();
      expect(b.labels).toBeInstanceOf(Int32Array);
      expect(Array.from(b.labels).every((v) => v >= 0 && v < 5)).toBe(true);
      b.release();
    }
  });

  it('eval: no drop-last, a short final batch, every sample once', async () => {
    const l = make(opts({ dropLast: false, targets: undefined, transform: { ...smallTrainSpec(12, 3, [0.5], [0.25]), train: false }, sampler: { shuffle: false, repeats: 1, rank: 0, worldSize: 1, pad: false } }));
    const shapes: number[] = [];
    const labels: number[] = [];
    for await (const b of l.epoch(0)) {
      shapes.push(b.shape[0]);
      expect(b.images.length).toBe(b.shape[0] * 3 * 144);
      labels.push(...b.labels);
      b.release();
    }
    expect(shapes).toEqual([...new Array(11).fill(8), 2]);
    expect(labels).toEqual(Array.from(ds.labels));
  });
});
