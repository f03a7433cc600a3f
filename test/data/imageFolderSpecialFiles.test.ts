// An ImageFolder dotted with things that are not images: a FIFO (opening it for reading blocks forever), a socket,
// a dangling symbolic link, a link loop, a directory link back to its parent. Each image-named one is one bad
// sample, judged by --max-bad-fraction; none hangs the loader or aborts the listing. Empty classes are announced,
// and splits with different classes are named.
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BadSample } from '../../src/data/batchFiller.js';
import { createLoaders } from '../../src/data/createLoaders.js';
import { DataLoader } from '../../src/data/dataLoader.js';
import { filePaths, type FileDataset } from '../../src/data/dataset.js';
import { imageFolderDataset } from '../../src/data/imageFolderDataset.js';
import { deitEvalSpec } from '../../src/data/transformSpec.js';
import { buildDist, tmpDir } from './helpers.js';

const t = tmpDir('special-files');
let socket: Server;
const root = path.join(t.dir, 'data');

async function jpeg(file: string, seed: number): Promise<void> {
  const raw = Buffer.alloc(24 * 24 * 3, seed * 40);
  await sharp(raw, { raw: { width: 24, height: 24, channels: 3 } }).jpeg().toFile(file);
}

beforeAll(async () => {
  buildDist();
  const a = path.join(root, 'train', 'a');
  const b = path.join(root, 'train', 'b');
  mkdirSync(a, { recursive: true });
  mkdirSync(path.join(b, 'nested'), { recursive: true });
  mkdirSync(path.join(root, 'train', 'empty'), { recursive: true });
  for (let i = 0; i < 4; i++) await jpeg(path.join(a, `${i}.jpg`), i);
  for (let i = 0; i < 4; i++) await jpeg(path.join(b, `${i}.jpg`), i + 4);
  execFileSync('mkfifo', [path.join(a, 'fifo.jpg')]);
  symlinkSync(path.join(t.dir, 'nowhere.jpg'), path.join(a, 'dangling.jpg'));
  symlinkSync('loop.jpg', path.join(b, 'loop.jpg'));
  symlinkSync('..', path.join(b, 'nested', 'up'));
  symlinkSync(path.join(t.dir, 'missing-class'), path.join(root, 'train', 'ghost'));
  socket = createServer();
  await new Promise<void>((resolve) => socket.listen(path.join(b, 'socket.png'), resolve));
});

afterAll(async () => {
  await new Promise((resolve) => socket.close(resolve));
  t.cleanup();
});

function loader(ds: FileDataset, workers: number, maxBadFraction: number, bad: BadSample[]): DataLoader {
  return new DataLoader({
    dataset: ds, transform: deitEvalSpec(16), batchSize: 4, seed: 1, workers, prefetch: 1, dropLast: false,
    sampler: { shuffle: false, repeats: 1, rank: 0, worldSize: 1, pad: false }, maxBadFraction, onBadSample: (s) => bad.push(s),
  });
}

describe('ImageFolder with special files', () => {
  it('lists every image-named entry, skips links that lead nowhere or back, and warns about empty classes', async () => {
    const warnings: string[] = [];
    const ds = await imageFolderDataset({ root, split: 'train', warn: (m) => warnings.push(m) });
    expect(ds.classes).toEqual(['a', 'b', 'empty']);
    expect(filePaths(ds).map((f) => path.relative(path.join(root, 'train'), f))).toEqual([
      'a/0.jpg', 'a/1.jpg', 'a/2.jpg', 'a/3.jpg', 'a/dangling.jpg', 'a/fifo.jpg',
      'b/0.jpg', 'b/1.jpg', 'b/2.jpg', 'b/3.jpg', 'b/loop.jpg', 'b/socket.png',
    ]);
    expect(warnings.join('\n')).toMatch(/ghost: a symbolic link to a missing target \(not a class directory\)/);
    expect(warnings.join('\n')).toMatch(/nested\/up leads back to a directory already listed \(a symbolic link loop\); skipped/);
    expect(warnings.join('\n')).toMatch(/1 of 3 classes have no images \('empty'\)/);
  });

  it('reads each of them as one bad sample with its reason, and never blocks on the FIFO (in process and in a worker)', async () => {
    const ds = await imageFolderDataset({ root, split: 'train', warn: () => undefined });
    for (const workers of [0, 1]) {
      const bad: BadSample[] = [];
      const l = loader(ds, workers, 0.5, bad);
      let batches = 0;
      for await (const b of l.epoch(0)) {
        batches++;
        b.release();
      }
      await l.close();
      expect(batches).toBe(3);
      const reasons = Object.fromEntries(bad.map((s) => [path.basename(s.source), s.error]));
      expect(reasons).toEqual({
        'fifo.jpg': 'it is a FIFO (named pipe), not a regular file',
        'dangling.jpg': 'it is a symbolic link to a missing file',
        'loop.jpg': 'it is a symbolic link loop',
        'socket.png': expect.stringMatching(/^cannot read it: no device or reader is behind it|it is a socket, not a regular file/),
      });
    }
  }, 20000);

  it('lets --max-bad-fraction decide, and the error says which files and why', async () => {
    const ds = await imageFolderDataset({ root, split: 'train', warn: () => undefined });
    const l = loader(ds, 0, 0.001, []);
    const err = await (async () => {
      for await (const b of l.epoch(0)) b.release();
    })().catch((e: Error) => e);
    await l.close();
    expect(err).toMatchObject({ code: 'MDISTILL_TOO_MANY_BAD_SAMPLES' });
    expect(String(err)).toMatch(/dangling\.jpg: it is a symbolic link to a missing file; .*fifo\.jpg: it is a FIFO/);
  }, 20000);

  it('names the classes one split has and the other lacks', async () => {
    const other = path.join(t.dir, 'mismatch');
    for (const [split, classes] of [['train', ['cat', 'dog', 'eel']], ['val', ['cat', 'dgo', 'eel']]] as const) {
      for (const c of classes) {
        mkdirSync(path.join(other, split, c), { recursive: true });
        await jpeg(path.join(other, split, c, '0.jpg'), 1);
      }
    }
    await expect(createLoaders({
      dataset: 'imagefolder', dataPath: other, inputSize: 16, batchSize: 2, mixup: 0, cutmix: 0, smoothing: 0, aa: 'none', reprob: 0,
      repeatedAug: false, seed: 0, workers: 0,
    })).rejects.toThrow(/different classes: only .*train has 'dog'; only .*val has 'dgo'/);
  });
});
