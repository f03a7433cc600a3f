// MNIST-style IDX files (MNIST, Fashion-MNIST), gzip-compressed or raw. Debian's dataset-fashion-mnist
// installs them under /usr/share/datasets/fashion-mnist/.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DatasetError, type MemoryDataset, sharedBytes, sharedInt32, readDataFile } from './dataset.js';

export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

export const FASHION_MNIST_CLASSES = [
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
];
export const MNIST_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

const IDX_UBYTE = 0x08;

interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/** Parses one IDX file (unsigned-byte data only); `file` names it in errors. */
export function parseIdx(raw: Uint8Array, file: string): IdxArray {
  const bytes = raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b ? gunzipOrThrow(raw, file) : raw;
  if (bytes.length < 4) throw bad(file, `is ${bytes.length} bytes, shorter than an IDX header`);
  if (bytes[0] !== 0 || bytes[1] !== 0 || bytes[2] !== IDX_UBYTE) {
    const magic = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join('');
    throw bad(file, `has magic 0x${magic}, not an unsigned-byte IDX file (expected 0x000008NN)`);
  }
  const ndim = bytes[3];
  if (ndim < 1 || ndim > 4) throw bad(file, `declares ${ndim} dimensions; IDX data sets have 1 to 4`);
  const headerLen = 4 + 4 * ndim;
  if (bytes.length < headerLen) throw bad(file, `is truncated inside its header (${bytes.length} of ${headerLen} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < ndim; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const expected = dims.reduce((a, b) => a * b, 1);
  const got = bytes.length - headerLen;
  if (got !== expected) {
    throw bad(file, `${got < expected ? 'is truncated' : 'has trailing bytes'}: header dims [${dims.join(', ')}] need ${expected} data bytes, the file has ${got}`);
  }
  return { dims, data: bytes.subarray(headerLen) };
}

function gunzipOrThrow(raw: Uint8Array, file: string): Uint8Array {
  try {
    return gunzipSync(raw);
  } catch (e) {
    throw bad(file, `is not a valid gzip file (${(e as Error).message}); re-install or re-download it`);
  }
}

function bad(file: string, what: string): DatasetError {
  return new DatasetError('MDISTILL_BAD_DATASET', `${file} ${what}`);
}

/** Finds `<dir>/<stem>` or `<dir>/<stem>.gz`. */
function findIdx(dir: string, stem: string): string | undefined {
  for (const name of [stem, `${stem}.gz`]) {
    const p = path.join(dir, name);
    if (existsSync(p)) return p;
  }
  return undefined;
}

export interface IdxOptions {
  /** Directory with the four IDX files (default: Debian's Fashion-MNIST directory). */
  dir?: string;
  split: 'train' | 'val';
  /** 'fashion-mnist' (default) or 'mnist': only the class names differ. */
  variant?: 'fashion-mnist' | 'mnist';
}

export async function idxDataset(o: IdxOptions): Promise<MemoryDataset> {
  const dir = o.dir ?? FASHION_MNIST_DIR;
  const prefix = o.split === 'train' ? 'train' : 't10k';
  const imagesFile = findIdx(dir, `${prefix}-images-idx3-ubyte`);
  const labelsFile = findIdx(dir, `${prefix}-labels-idx1-ubyte`);
  if (!imagesFile || !labelsFile) {
    throw new DatasetError('MDISTILL_DATASET_MISSING',
      `${o.variant ?? 'fashion-mnist'} ${o.split} split not found: looked for ${prefix}-images-idx3-ubyte[.gz] and ` +
      `${prefix}-labels-idx1-ubyte[.gz] in ${dir}. Install it with 'apt-get install dataset-fashion-mnist' ` +
      `(files go to ${FASHION_MNIST_DIR}), or point --data-path at a directory holding the IDX files.`);
  }
  const images = parseIdx(await readDataFile(imagesFile), imagesFile);
  const labels = parseIdx(await readDataFile(labelsFile), labelsFile);
  if (images.dims.length !== 3) throw bad(imagesFile, `has ${images.dims.length} dimensions, images need 3 (count, rows, cols)`);
  if (labels.dims.length !== 1) throw bad(labelsFile, `has ${labels.dims.length} dimensions, labels need 1`);
  const [n, h, w] = images.dims;
  if (labels.dims[0] !== n) {
    throw bad(labelsFile, `holds ${labels.dims[0]} labels but ${imagesFile} holds ${n} images; the files do not belong together`);
  }
  const classes = o.variant === 'mnist' ? MNIST_CLASSES : FASHION_MNIST_CLASSES;
  const lab = sharedInt32(n);
  for (let i = 0; i < n; i++) {
    const v = labels.data[i];
    if (v >= classes.length) throw bad(labelsFile, `has label ${v} at index ${i}, outside 0..${classes.length - 1}`);
    lab[i] = v;
  }
  const pixels = sharedBytes(n * h * w);
  pixels.set(images.data);
  return {
    kind: 'memory', name: o.variant ?? 'fashion-mnist', source: imagesFile, classes: [...classes],
    labels: lab, length: n, height: h, width: w, channels: 1, pixels,
  };
}
