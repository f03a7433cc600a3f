// CIFAR-10 / CIFAR-100 in their binary form ("cifar-10-batches-bin", "cifar-100-binary").
// A record is the label byte(s) then 3072 bytes of planar R, G, B 32×32; we store HWC.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { DatasetError, type MemoryDataset, sharedBytes, sharedInt32, readDataFile } from './dataset.js';

const PIXELS = 32 * 32 * 3;

export interface CifarOptions {
  /** The directory with the .bin files (or its parent holding cifar-10-batches-bin / cifar-100-binary). */
  dir: string;
  split: 'train' | 'val';
  variant: 'cifar10' | 'cifar100';
}

function resolveDir(o: CifarOptions): string {
  const sub = o.variant === 'cifar10' ? 'cifar-10-batches-bin' : 'cifar-100-binary';
  const nested = path.join(o.dir, sub);
  return existsSync(nested) ? nested : o.dir;
}

/** Decodes the records of one CIFAR binary file into labels and HWC pixels. */
export function parseCifarRecords(bytes: Uint8Array, file: string, variant: 'cifar10' | 'cifar100'): { labels: Int32Array; pixels: Uint8Array } {
  const labelBytes = variant === 'cifar10' ? 1 : 2;
  const rec = labelBytes + PIXELS;
  const numClasses = variant === 'cifar10' ? 10 : 100;
  if (bytes.length === 0 || bytes.length % rec !== 0) {
    throw new DatasetError('MDISTILL_BAD_DATASET',
      `${file} is ${bytes.length} bytes, not a whole number of ${variant} records (${rec} bytes each): truncated or not a ${variant} binary batch`);
  }
  const n = bytes.length / rec;
  const labels = new Int32Array(n);
  const pixels = new Uint8Array(n * PIXELS);
  for (let i = 0; i < n; i++) {
    const o = i * rec;
    // CIFAR-100 records are <coarse label><fine label>; we train on the fine label.
    const label = bytes[o + labelBytes - 1];
    if (label >= numClasses) {
      throw new DatasetError('MDISTILL_BAD_DATASET', `${file} record ${i} has label ${label}, outside 0..${numClasses - 1}`);
    }
    labels[i] = label;
    const src = o + labelBytes;
    const dst = i * PIXELS;
    for (let p = 0; p < 1024; p++) {
      pixels[dst + 3 * p] = bytes[src + p];
      pixels[dst + 3 * p + 1] = bytes[src + 1024 + p];
      pixels[dst + 3 * p + 2] = bytes[src + 2048 + p];
    }
  }
  return { labels, pixels };
}

async function classNames(dir: string, o: CifarOptions): Promise<string[]> {
  const metaFile = path.join(dir, o.variant === 'cifar10' ? 'batches.meta.txt' : 'fine_label_names.txt');
  const n = o.variant === 'cifar10' ? 10 : 100;
  if (existsSync(metaFile)) {
    const names = ((await readDataFile(metaFile)).toString('utf8')).split(/\r?\n/).map((s) => s.trim()).filter((s) => s.length > 0);
    if (names.length !== n) {
      throw new DatasetError('MDISTILL_BAD_DATASET', `${metaFile} lists ${names.length} class names, ${o.variant} has ${n}`);
    }
    return names;
  }
  return Array.from({ length: n }, (_, i) => String(i));
}

export async function cifarDataset(o: CifarOptions): Promise<MemoryDataset> {
  const dir = resolveDir(o);
  const names = o.variant === 'cifar10'
    ? (o.split === 'train' ? [1, 2, 3, 4, 5].map((k) => `data_batch_${k}.bin`) : ['test_batch.bin'])
    : [o.split === 'train' ? 'train.bin' : 'test.bin'];
  const missing = names.filter((f) => !existsSync(path.join(dir, f)));
  if (missing.length > 0) {
    throw new DatasetError('MDISTILL_DATASET_MISSING',
      `${o.variant} ${o.split} split not found: ${missing.join(', ')} missing in ${dir}. Unpack the binary version ` +
      `(${o.variant === 'cifar10' ? 'cifar-10-binary.tar.gz' : 'cifar-100-binary.tar.gz'}) and pass its directory with --data-path.`);
  }
  const parts = [];
  for (const f of names) {
    const file = path.join(dir, f);
    parts.push(parseCifarRecords(await readDataFile(file), file, o.variant));
  }
  const n = parts.reduce((a, p) => a + p.labels.length, 0);
  const labels = sharedInt32(n);
  const pixels = sharedBytes(n * PIXELS);
  let at = 0;
  for (const p of parts) {
    labels.set(p.labels, at);
    pixels.set(p.pixels, at * PIXELS);
    at += p.labels.length;
  }
  return {
    kind: 'memory', name: o.variant, source: dir, classes: await classNames(dir, o),
    labels, length: n, height: 32, width: 32, channels: 3, pixels,
  };
}
