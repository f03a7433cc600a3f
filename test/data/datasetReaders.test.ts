import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { cifarDataset } from '../../src/data/cifarDataset.js';
import { filePaths, writeClassesJson } from '../../src/data/dataset.js';
import { FASHION_MNIST_DIR, idxDataset, parseIdx } from '../../src/data/idxDataset.js';
import { installedPath, requireTool } from '../helpers/requireTool.js';
import { codePointCompare, imageFolderDataset } from '../../src/data/imageFolderDataset.js';
import { openDataset } from '../../src/data/openDataset.js';
import { tmpDir } from './helpers.js';

const t = tmpDir('readers');
afterAll(t.cleanup);

function idx(dims: number[], data: number[], magicType = 0x08): Uint8Array {
  const head = new Uint8Array(4 + 4 * dims.length);
  const v = new DataView(head.buffer);
  head[2] = magicType;
  head[3] = dims.length;
  dims.forEach((d, i) => v.setUint32(4 + 4 * i, d, false));
  return new Uint8Array([...head, ...data]);
}

function writeIdxSet(dir: string, n: number, labels: number[], gz: boolean, imageCount = n): void {
  mkdirSync(dir, { recursive: true });
  const w = (name: string, b: Uint8Array): void => writeFileSync(path.join(dir, gz ? `${name}.gz` : name), gz ? gzipSync(b) : b);
  w('train-images-idx3-ubyte', idx([imageCount, 2, 3], Array.from({ length: imageCount * 6 }, (_, i) => i % 256)));
  w('train-labels-idx1-ubyte', idx([n], labels));
}

describe('IDX reader', () => {
  it('reads raw and gzip files', async () => {
    for (const gz of [false, true]) {
      const dir = path.join(t.dir, `ok-${gz}`);
      writeIdxSet(dir, 4, [0, 9, 3, 3], gz);
      const ds = await idxDataset({ dir, split: 'train' });
      expect(ds.length).toBe(4);
      expect([ds.height, ds.width, ds.channels]).toEqual([2, 3, 1]);
      expect(Array.from(ds.labels)).toEqual([0, 9, 3, 3]);
      expect(ds.pixels[7]).toBe(7);
      expect(ds.pixels.buffer).toBeInstanceOf(SharedArrayBuffer);
      expect(ds.classes[9]).toBe('Ankle boot');
    }
  });

  it('rejects bad magic, truncation, trailing bytes, count mismatch and labels out of range, naming the file', async () => {
    expect(() => parseIdx(idx([2], [1, 2], 0x0d), 'f.idx')).toThrow(/f\.idx has magic 0x00000d01/);
    expect(() => parseIdx(idx([3, 2], [1, 2, 3]), 'trunc.idx')).toThrow(/trunc\.idx is truncated: .*need 6 data bytes, the file has 3/);
    expect(() => parseIdx(idx([1], [1, 2]), 'long.idx')).toThrow(/trailing bytes/);
    expect(() => parseIdx(new Uint8Array([0x1f, 0x8b, 1, 2]), 'bad.gz')).toThrow(/bad\.gz is not a valid gzip/);
    const mismatch = path.join(t.dir, 'mismatch');
    writeIdxSet(mismatch, 4, [0, 1, 2, 3], false, 5);
    await expect(idxDataset({ dir: mismatch, split: 'train' })).rejects.toThrow(/holds 4 labels but .*holds 5 images/);
    const badLabel = path.join(t.dir, 'badlabel');
    writeIdxSet(badLabel, 3, [0, 10, 1], true);
    await expect(idxDataset({ dir: badLabel, split: 'train' })).rejects.toThrow(/train-labels-idx1-ubyte\.gz has label 10 at index 1, outside 0\.\.9/);
  });

  it('says where it looked and how to get Fashion-MNIST when files are missing', async () => {
    const err = await idxDataset({ dir: path.join(t.dir, 'nothing'), split: 'val' }).catch((e: Error & { code: string }) => e);
    expect(err).toMatchObject({ code: 'MDISTILL_DATASET_MISSING' });
    expect(String(err)).toMatch(/t10k-images-idx3-ubyte\[\.gz\].*nothing.*apt-get install dataset-fashion-mnist/s);
  });

  it('reads the Debian Fashion-MNIST test split', async () => {
    requireTool(installedPath('the Fashion-MNIST test split', path.join(FASHION_MNIST_DIR, 't10k-images-idx3-ubyte.gz'), 'dataset-fashion-mnist'));
    const ds = await openDataset({ name: 'fashion-mnist', split: 'val' });
    expect(ds.length).toBe(10000);
    expect(ds.kind === 'memory' && [ds.height, ds.width]).toEqual([28, 28]);
    const counts = new Array(10).fill(0);
    for (const l of ds.labels) counts[l]++;
    expect(counts).toEqual(new Array(10).fill(1000));
  });
});

function cifarRecord(label: number, fill: number, coarse?: number): number[] {
  const px = Array.from({ length: 3072 }, (_, i) => (i < 1024 ? fill : i < 2048 ? fill + 1 : fill + 2));
  return coarse === undefined ? [label, ...px] : [coarse, label, ...px];
}

describe('CIFAR reader', () => {
  it('reads CIFAR-10 batches into HWC with class names', async () => {
    const dir = path.join(t.dir, 'cifar-10-batches-bin');
    mkdirSync(dir, { recursive: true });
    for (let k = 1; k <= 5; k++) writeFileSync(path.join(dir, `data_batch_${k}.bin`), new Uint8Array([...cifarRecord(k, 10 * k), ...cifarRecord(0, 0)]));
    writeFileSync(path.join(dir, 'batches.meta.txt'), 'airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n');
    const ds = await cifarDataset({ dir: t.dir, split: 'train', variant: 'cifar10' });
    expect(ds.length).toBe(10);
    expect(Array.from(ds.labels.subarray(0, 4))).toEqual([1, 0, 2, 0]);
    expect(Array.from(ds.pixels.subarray(0, 6))).toEqual([10, 11, 12, 10, 11, 12]);
    expect(ds.classes[9]).toBe('truck');
  });

  it('rejects truncated files and labels out of range, naming the file', async () => {
    const dir = path.join(t.dir, 'c100');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'test.bin'), new Uint8Array([...cifarRecord(5, 1, 2)]).subarray(0, 3000));
    await expect(cifarDataset({ dir, split: 'val', variant: 'cifar100' })).rejects.toThrow(/test\.bin is 3000 bytes, not a whole number of cifar100 records \(3074 bytes each\)/);
    writeFileSync(path.join(dir, 'test.bin'), new Uint8Array([...cifarRecord(5, 1, 2), ...cifarRecord(100, 1, 2)]));
    await expect(cifarDataset({ dir, split: 'val', variant: 'cifar100' })).rejects.toThrow(/test\.bin record 1 has label 100, outside 0\.\.99/);
    await expect(cifarDataset({ dir, split: 'train', variant: 'cifar100' })).rejects.toThrow(/train\.bin missing in .*c100/);
  });
});

describe('ImageFolder', () => {
  it('sorts classes by code point like Python and lists images recursively in os.walk order', async () => {
    const root = path.join(t.dir, 'folder');
    const names = ['b', 'B', 'a_2', 'a10', 'ä', '\u{1F600}', '\uFF5E'];
    for (const c of names) mkdirSync(path.join(root, 'train', c, 'sub'), { recursive: true });
    for (const c of names) for (const f of ['z.jpg', 'A.PNG', 'note.txt', 'sub/x.webp']) writeFileSync(path.join(root, 'train', c, f), '');
    const ds = await imageFolderDataset({ root, split: 'train' });
    expect(ds.classes).toEqual(['B', 'a10', 'a_2', 'b', 'ä', '\uFF5E', '\u{1F600}']);
    expect(ds.length).toBe(21);
    expect(filePaths(ds).slice(0, 3).map((f) => path.relative(path.join(root, 'train'), f))).toEqual(['B/A.PNG', 'B/z.jpg', 'B/sub/x.webp']);
    expect(Array.from(ds.labels.subarray(0, 6))).toEqual([0, 0, 0, 1, 1, 1]);
    // Paths live packed in shared memory as UTF-8 and come back intact.
    expect(path.relative(root, filePaths(ds)[20])).toBe(path.join('train', '\u{1F600}', 'sub', 'x.webp'));
    expect(ds.paths.bytes.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(codePointCompare('\uFF5E', '\u{1F600}')).toBeLessThan(0);
    await expect(imageFolderDataset({ root, split: 'val' })).rejects.toThrow(/val is not a directory.*<data-path>\/train\/<class>/s);
    const file = await writeClassesJson(path.join(t.dir, 'run'), ds.classes);
    expect(JSON.parse((await import('node:fs')).readFileSync(file, 'utf8')).classes).toEqual(ds.classes);
  });
});
