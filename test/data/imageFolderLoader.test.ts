import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BadSample, fillChunk } from '../../src/data/batchFiller.js';
import { DataLoader, type DataLoaderOptions } from '../../src/data/dataLoader.js';
import { type FileDataset, filePaths } from '../../src/data/dataset.js';
import { decodeCropResize, imageSize } from '../../src/data/imageDecode.js';
import { imageFolderDataset } from '../../src/data/imageFolderDataset.js';
import { SampleTransform } from '../../src/data/sampleTransform.js';
import { deitEvalSpec, deitTrainSpec } from '../../src/data/transformSpec.js';
import { buildDist, checksum, tmpDir } from './helpers.js';

const t = tmpDir('imagefolder');
afterAll(t.cleanup);

function gradient(w: number, h: number, seed: number): Buffer {
  const b = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const o = (y * w + x) * 3;
    b[o] = (x * 255) / w;
    b[o + 1] = (y * 255) / h;
    b[o + 2] = (seed * 37 + x * y) % 256;
  }
  return b;
}

/** 3 classes × 4 images in assorted formats: JPEG, 16-bit grey PNG, RGBA WebP, EXIF-rotated JPEG. */
async function makeFolder(root: string, corrupt: number): Promise<void> {
  let k = 0;
  for (const cls of ['cat', 'dog', 'eel']) {
    const dir = path.join(root, 'train', cls);
    mkdirSync(dir, { recursive: true });
    const raw = { raw: { width: 64, height: 48, channels: 3 as const } };
    await sharp(gradient(64, 48, k++), raw).jpeg({ quality: 90 }).toFile(path.join(dir, 'a.jpg'));
    const g16 = Buffer.alloc(40 * 30 * 2);
    for (let i = 0; i < 40 * 30; i++) g16.writeUInt16LE((i * 977) % 65536, 2 * i);
    await sharp(g16, { raw: { width: 40, height: 30, channels: 1 } }).toColourspace('grey16').png().toFile(path.join(dir, 'b.png'));
    await sharp(gradient(50, 50, k++), { raw: { width: 50, height: 50, channels: 3 } }).ensureAlpha(0.5).webp({ lossless: true }).toFile(path.join(dir, 'c.webp'));
    await sharp(gradient(64, 48, k++), raw).jpeg().withMetadata({ orientation: 6 }).toFile(path.join(dir, 'd.jpg'));
  }
  for (let i = 0; i < corrupt; i++) writeFileSync(path.join(root, 'train', 'dog', `e${i}.jpg`), Buffer.from('not a jpeg at all'));
}

describe('ImageFolder through sharp with the DeiT transforms', () => {
  let ds: FileDataset;
  beforeAll(async () => {
    buildDist();
    await makeFolder(path.join(t.dir, 'good'), 0);
    ds = await imageFolderDataset({ root: path.join(t.dir, 'good'), split: 'train' });
  });

  it('honours EXIF orientation and decodes 16-bit grey and RGBA to 8-bit RGB', async () => {
    const rotated = filePaths(ds)[3];
    expect(path.basename(rotated)).toBe('d.jpg');
    const dims = await imageSize({ file: rotated });
    expect(dims).toMatchObject({ width: 48, height: 64, oriented: true });
    // Stored red grows to the right; after the 90° clockwise turn it grows downwards.
    const top = await decodeCropResize({ file: rotated }, dims, { top: 0, left: 0, height: 8, width: 48 }, 8, 8);
    const bottom = await decodeCropResize({ file: rotated }, dims, { top: 56, left: 0, height: 8, width: 48 }, 8, 8);
    expect(bottom[0]).toBeGreaterThan(top[0] + 150);
    for (const f of [filePaths(ds)[1], filePaths(ds)[2]]) {
      const d = await imageSize({ file: f });
      const rgb = await decodeCropResize({ file: f }, d, { top: 0, left: 0, height: d.height, width: d.width }, 16, 16);
      expect(rgb.length).toBe(16 * 16 * 3);
    }
  });

  it('golden: fixed seed, fixed train and eval tensors for every format', async () => {
    const train = new SampleTransform(ds, deitTrainSpec(32), 3);
    const evalT = new SampleTransform(ds, deitEvalSpec(32), 3);
    const sums: string[] = [];
    for (let i = 0; i < 4; i++) {
      const a = new Float32Array(3 * 32 * 32);
      await train.write(i, 0, 0, a, 0);
      const again = new Float32Array(a.length);
      await train.write(i, 0, 0, again, 0);
      expect(checksum(again)).toBe(checksum(a));
      const e = new Float32Array(3 * 32 * 32);
      await evalT.write(i, 0, 0, e, 0);
      sums.push(checksum(a), checksum(e));
    }
    expect(sums).toEqual(GOLDEN);
  });

  it('worker threads and the in-process loader give the same DeiT batches', async () => {
    const o = (workers: number): DataLoaderOptions => ({
      dataset: ds, transform: deitTrainSpec(32), batchSize: 4, seed: 9, workers, prefetch: 2, dropLast: true,
      sampler: { shuffle: true, repeats: 1, rank: 0, worldSize: 1, pad: true },
      targets: { mixupAlpha: 0.8, cutmixAlpha: 1, prob: 1, switchProb: 0.5, smoothing: 0.1, numClasses: 3 },
    });
    const run = async (workers: number): Promise<string[]> => {
      const l = new DataLoader(o(workers));
      const out: string[] = [];
      for await (const b of l.epoch(0)) {
        out.push(checksum(b.images) + checksum(b.targets!));
        b.release();
      }
      await l.close();
      return out;
    };
    const a = await run(0);
    expect(a.length).toBe(3);
    expect(await run(2)).toEqual(a);
  });
});

describe('bad input', () => {
  it('skips a corrupt file, replaces it by the next sample, logs and counts it', async () => {
    const root = path.join(t.dir, 'one-bad');
    await makeFolder(root, 1);
    const ds = await imageFolderDataset({ root, split: 'train' });
    const badIndex = filePaths(ds).findIndex((f) => f.endsWith('e0.jpg'));
    const seen: BadSample[] = [];
    const mk = (workers: number): DataLoader => new DataLoader({
      dataset: ds, transform: deitEvalSpec(16), batchSize: 13, seed: 1, workers, prefetch: 1, dropLast: false,
      sampler: { shuffle: false, repeats: 1, rank: 0, worldSize: 1, pad: false }, maxBadFraction: 0.1, onBadSample: (b) => seen.push(b),
    });
    for (const workers of [0, 1]) {
      const l = mk(workers);
      for await (const b of l.epoch(0)) {
        expect(b.shape[0]).toBe(13);
        // The corrupt sample's place holds the next file (same label and pixels as position badIndex + 1).
        const per = 3 * 16 * 16;
        expect(checksum(b.images.subarray(badIndex * per, (badIndex + 1) * per))).toBe(checksum(b.images.subarray((badIndex + 1) * per, (badIndex + 2) * per)));
        expect(b.labels[badIndex]).toBe(ds.labels[badIndex + 1]);
        b.release();
      }
      expect(l.badSamples).toEqual({ count: 1, sources: [filePaths(ds)[badIndex]] });
      await l.close();
    }
    expect(seen.map((b) => b.source)).toEqual([filePaths(ds)[badIndex], filePaths(ds)[badIndex]]);
    expect(seen[0].error.length).toBeGreaterThan(0);
  });

  it('aborts with a clear error above maxBadFraction', async () => {
    const root = path.join(t.dir, 'many-bad');
    await makeFolder(root, 3);
    const ds = await imageFolderDataset({ root, split: 'train' });
    const l = new DataLoader({
      dataset: ds, transform: deitEvalSpec(16), batchSize: 5, seed: 1, workers: 0, prefetch: 1, dropLast: false,
      sampler: { shuffle: false, repeats: 1, rank: 0, worldSize: 1, pad: false }, maxBadFraction: 0.1, onBadSample: () => undefined,
    });
    const err = await (async () => {
      for await (const b of l.epoch(0)) b.release();
    })().catch((e: Error & { code?: string }) => e);
    expect(err).toMatchObject({ code: 'MDISTILL_TOO_MANY_BAD_SAMPLES' });
    expect(String(err)).toMatch(/samples of .*many-bad.*failed to load, more than maxBadFraction 0\.1 .*e0\.jpg/);
    await l.close();
  });
});

describe('a chunk whose samples all fail', () => {
  it('rejects after 32 consecutive replacements, once every lane has stopped writing', async () => {
    const root = path.join(t.dir, 'all-bad');
    mkdirSync(path.join(root, 'train', 'x'), { recursive: true });
    for (let i = 0; i < 40; i++) writeFileSync(path.join(root, 'train', 'x', `f${String(i).padStart(2, '0')}.jpg`), Buffer.from('garbage'));
    const ds = await imageFolderDataset({ root, split: 'train' });
    const transform = new SampleTransform(ds, deitEvalSpec(16), 0);
    const images = new Float32Array(4 * transform.sampleSize);
    const writes: number[] = [];
    const write = transform.write.bind(transform);
    transform.write = async (index, epoch, repeat, dst, offset) => {
      writes.push(index);
      return write(index, epoch, repeat, dst, offset);
    };
    const task = { epoch: 0, samples: Int32Array.from([0, 1, 2, 3]), repeats: new Uint8Array(4), images, labels: new Int32Array(4), start: 0 };
    await expect(fillChunk(transform, task)).rejects.toThrow(/32 consecutive samples from index \d+ failed to load/);
    const attempts = writes.length;
    await new Promise((r) => setTimeout(r, 50));
    expect(writes.length).toBe(attempts);
  });
});

const GOLDEN = ['d2f083ff', '0738b1a4', '33a6c64e', '84bc0d95', '24776fcb', '57abf657', '08e5f6fc', 'c04f12c6'];
