// The datasets the loader reads. Both kinds are plain data that can be posted to worker threads: in-memory
// pixels live in SharedArrayBuffers (shared, not copied), file datasets are a list of paths.
import { writeFile } from 'node:fs/promises';
import { makeDirectories } from '../io/makeDirectories.js';
import path from 'node:path';
import { reasonOf } from '../io/fileProblem.js';
import { NotRegularFileError, readRegularFile } from '../io/regularFile.js';

interface DatasetBase {
  /** A short name for logs ('fashion-mnist', 'cifar10', 'imagefolder', 'synthetic'). */
  name: string;
  /** Where it came from (a directory or file), for messages. */
  source: string;
  /** Class names; the label of a sample is an index into this array. */
  classes: string[];
  /** The label of every sample (SharedArrayBuffer-backed). */
  labels: Int32Array;
  length: number;
}

/** Decoded 8-bit images of one size, sample-major HWC (IDX, CIFAR, synthetic). */
export interface MemoryDataset extends DatasetBase {
  kind: 'memory';
  height: number;
  width: number;
  channels: 1 | 3;
  /** length * height * width * channels bytes (SharedArrayBuffer-backed). */
  pixels: Uint8Array;
}

/**
 * Paths packed into shared memory: UTF-8 bytes and start offsets (length + 1 entries). Worker threads share
 * them instead of each receiving a copy of a million-string array.
 */
export interface PackedPaths {
  bytes: Uint8Array;
  offsets: Int32Array;
}

/** Encoded image files (JPEG/PNG/WebP), decoded by sharp on demand (ImageFolder). */
export interface FileDataset extends DatasetBase {
  kind: 'files';
  paths: PackedPaths;
}

export function packPaths(files: readonly string[]): PackedPaths {
  const encoded = files.map((f) => Buffer.from(f, 'utf8'));
  const total = encoded.reduce((a, b) => a + b.length, 0);
  const bytes = sharedBytes(total);
  const offsets = sharedInt32(files.length + 1);
  let at = 0;
  encoded.forEach((b, i) => {
    offsets[i] = at;
    bytes.set(b, at);
    at += b.length;
  });
  offsets[files.length] = at;
  return { bytes, offsets };
}

/** The path of sample `index` of a file data set. */
export function filePath(ds: FileDataset, index: number): string {
  const { bytes, offsets } = ds.paths;
  return Buffer.from(bytes.buffer, bytes.byteOffset + offsets[index], offsets[index + 1] - offsets[index]).toString('utf8');
}

/** All paths, in sample order. */
export function filePaths(ds: FileDataset): string[] {
  return Array.from({ length: ds.length }, (_, i) => filePath(ds, i));
}

export type ImageDataset = MemoryDataset | FileDataset;

/** The first `n` samples (all of them when n is 0 or at least the length); shares the underlying memory. */
export function subsetDataset<T extends ImageDataset>(ds: T, n: number): T {
  if (n <= 0 || n >= ds.length) return ds;
  return { ...ds, length: n, labels: ds.labels.subarray(0, n) };
}

export type DatasetErrorCode = 'MDISTILL_DATASET_MISSING' | 'MDISTILL_BAD_DATASET' | 'MDISTILL_TOO_MANY_BAD_SAMPLES';

/** The error of a dataset that is missing or malformed; `code` is stable. */
export class DatasetError extends Error {
  readonly code: DatasetErrorCode;
  constructor(code: DatasetErrorCode, message: string) {
    super(message);
    this.name = 'DatasetError';
    this.code = code;
  }
}

/** The whole of a data file (IDX, CIFAR batch, class-name list), opening only a regular file; errors name the file and say what to do. */
export async function readDataFile(file: string): Promise<Buffer> {
  try {
    return await readRegularFile(file);
  } catch (err) {
    const why = err instanceof NotRegularFileError ? `it is ${err.kind}, not a regular file. Pass a directory of data files`
      : `${reasonOf(err).what}. ${reasonOf(err).fix[0].toUpperCase()}${reasonOf(err).fix.slice(1)}`;
    throw new DatasetError('MDISTILL_BAD_DATASET', `--data-path: cannot read ${file}: ${why}.`);
  }
}

export function sharedBytes(n: number): Uint8Array {
  return new Uint8Array(new SharedArrayBuffer(n));
}

export function sharedInt32(n: number): Int32Array {
  return new Int32Array(new SharedArrayBuffer(n * 4));
}

/** One 8-bit HWC image of a memory dataset, as a view (no copy). */
export function memoryImage(ds: MemoryDataset, index: number): Uint8Array {
  const n = ds.height * ds.width * ds.channels;
  return ds.pixels.subarray(index * n, (index + 1) * n);
}

/** Writes the class-name ↔ index map of a run: `{"classes": [...]}` (index = position). */
export async function writeClassesJson(dir: string, classes: readonly string[]): Promise<string> {
  await makeDirectories(dir);
  const file = path.join(dir, 'classes.json');
  await writeFile(file, JSON.stringify({ classes }, null, 1) + '\n');
  return file;
}
