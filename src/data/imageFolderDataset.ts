// torchvision's ImageFolder layout: root/<split>/<class>/**/<image>. Classes are the sub-directory names in
// plain code-point order (Python's sorted()), files in sorted os.walk order, so indices match torchvision's.
import { existsSync, statSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { DatasetError, type FileDataset, packPaths, sharedInt32 } from './dataset.js';

export const IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp'];

/** Python's string order: by code point (JS's default sort compares UTF-16 units, which differs above U+FFFF). */
export function codePointCompare(a: string, b: string): number {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done || y.done) return x.done && y.done ? 0 : x.done ? -1 : 1;
    const cx = x.value.codePointAt(0)!;
    const cy = y.value.codePointAt(0)!;
    if (cx !== cy) return cx - cy;
  }
}

/** The image files under dir, recursively, in sorted os.walk order (directories by path, then file names). */
async function walkImages(dir: string): Promise<string[]> {
  const byDir = new Map<string, string[]>();
  const visit = async (d: string): Promise<void> => {
    const entries = await readdir(d, { withFileTypes: true });
    const files: string[] = [];
    for (const e of entries) {
      const p = path.join(d, e.name);
      const isDir = e.isDirectory() || (e.isSymbolicLink() && statSync(p).isDirectory());
      if (isDir) await visit(p);
      else if (IMAGE_EXTENSIONS.includes(path.extname(e.name).toLowerCase())) files.push(e.name);
    }
    byDir.set(d, files.sort(codePointCompare));
  };
  await visit(dir);
  const out: string[] = [];
  for (const d of [...byDir.keys()].sort(codePointCompare)) for (const f of byDir.get(d)!) out.push(path.join(d, f));
  return out;
}

export interface ImageFolderOptions {
  root: string;
  /** Sub-directory of root: 'train' or 'val'. */
  split: 'train' | 'val';
}

export async function imageFolderDataset(o: ImageFolderOptions): Promise<FileDataset> {
  const dir = path.join(o.root, o.split);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new DatasetError('MDISTILL_DATASET_MISSING',
      `ImageFolder ${o.split} split not found: ${dir} is not a directory. Lay the data out as ` +
      `<data-path>/train/<class>/*.jpg and <data-path>/val/<class>/*.jpg (torchvision ImageFolder), and pass --data-path.`);
  }
  const classes = (await readdir(dir, { withFileTypes: true }))
    .filter((e) => e.isDirectory() || (e.isSymbolicLink() && statSync(path.join(dir, e.name)).isDirectory()))
    .map((e) => e.name)
    .sort(codePointCompare);
  if (classes.length === 0) {
    throw new DatasetError('MDISTILL_DATASET_MISSING', `${dir} has no class sub-directories; expected ${dir}/<class>/<image>.jpg`);
  }
  const files: string[] = [];
  const labelList: number[] = [];
  for (let k = 0; k < classes.length; k++) {
    const imgs = await walkImages(path.join(dir, classes[k]));
    for (const f of imgs) {
      files.push(f);
      labelList.push(k);
    }
  }
  if (files.length === 0) {
    throw new DatasetError('MDISTILL_DATASET_MISSING', `${dir} has class directories but no images (${IMAGE_EXTENSIONS.join(', ')})`);
  }
  const labels = sharedInt32(files.length);
  labels.set(labelList);
  return { kind: 'files', name: 'imagefolder', source: dir, classes, labels, length: files.length, paths: packPaths(files) };
}
