// torchvision's ImageFolder layout: root/<split>/<class>/**/<image>. Classes are the sub-directory names in
// plain code-point order (Python's sorted()), files in sorted os.walk order, so indices match torchvision's.
import { existsSync, statSync, type Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { errnoOf, reasonOf } from '../io/fileProblem.js';
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

/** A listing that cannot be read: the directory, why, and what to do. */
function unlistable(dir: string, err: unknown): DatasetError {
  const r = reasonOf(err);
  return new DatasetError('MDISTILL_BAD_DATASET', `cannot list ${dir}: ${r.what}. ${r.fix[0].toUpperCase()}${r.fix.slice(1)} (--data-path).`);
}

async function list(dir: string): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (err) {
    throw unlistable(dir, err);
  }
}

/** What a directory entry leads to: a directory to walk, a file to list (a sample, readable or not), or nothing. */
async function entryKind(dir: string, e: Dirent): Promise<{ kind: 'dir'; id: string } | { kind: 'file' } | { kind: 'skip'; why?: string }> {
  const p = path.join(dir, e.name);
  if (e.isDirectory() || e.isSymbolicLink()) {
    let info;
    try {
      info = await stat(p);
    } catch (err) {
      // A dangling link or a link loop: an image name stays a sample (counted bad when read), anything else is skipped.
      return { kind: 'skip', why: `${p}: ${errnoOf(err) === 'ELOOP' ? 'a symbolic link loop' : 'a symbolic link to a missing target'}` };
    }
    if (info.isDirectory()) return { kind: 'dir', id: `${info.dev}:${info.ino}` };
  }
  // Regular files, and anything else with an image's name (a FIFO, a socket, a device): the loader opens only
  // regular files and counts the others as bad samples, which --max-bad-fraction judges.
  return { kind: 'file' };
}

function isImageName(name: string): boolean {
  return IMAGE_EXTENSIONS.includes(path.extname(name).toLowerCase());
}

/** The image files under dir, recursively, in sorted os.walk order (directories by path, then file names). */
async function walkImages(dir: string, seen: Set<string>, warn: (m: string) => void): Promise<string[]> {
  const byDir = new Map<string, string[]>();
  const visit = async (d: string): Promise<void> => {
    const files: string[] = [];
    for (const e of await list(d)) {
      const p = path.join(d, e.name);
      const kind = await entryKind(d, e);
      if (kind.kind === 'dir') {
        // A link back to a directory already walked would loop forever (os.walk(followlinks=True) does).
        if (seen.has(kind.id)) warn(`${p} leads back to a directory already listed (a symbolic link loop); skipped`);
        else {
          seen.add(kind.id);
          await visit(p);
        }
      } else if (isImageName(e.name)) {
        files.push(e.name);
      } else if (kind.kind === 'skip' && kind.why) {
        warn(`skipping ${kind.why}`);
      }
    }
    byDir.set(d, files.sort(codePointCompare));
  };
  const top = await stat(dir);
  seen.add(`${top.dev}:${top.ino}`);
  await visit(dir);
  const out: string[] = [];
  for (const d of [...byDir.keys()].sort(codePointCompare)) for (const f of byDir.get(d)!) out.push(path.join(d, f));
  return out;
}

function warnListing(message: string): void {
  process.stderr.write(`warning: ${message}\n`);
}

export interface ImageFolderOptions {
  root: string;
  /** Sub-directory of root: 'train' or 'val'. */
  split: 'train' | 'val';
  /** Where listing warnings go (empty classes, links that lead nowhere or in a loop); default: process warnings. */
  warn?: (message: string) => void;
}

export async function imageFolderDataset(o: ImageFolderOptions): Promise<FileDataset> {
  const dir = path.join(o.root, o.split);
  const warn = o.warn ?? warnListing;
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new DatasetError('MDISTILL_DATASET_MISSING',
      `ImageFolder ${o.split} split not found: ${dir} is not a directory. Lay the data out as ` +
      `<data-path>/train/<class>/*.jpg and <data-path>/val/<class>/*.jpg (torchvision ImageFolder), and pass --data-path.`);
  }
  const seen = new Set<string>();
  const classes: string[] = [];
  for (const e of await list(dir)) {
    const kind = await entryKind(dir, e);
    if (kind.kind === 'dir') classes.push(e.name);
    else if (kind.kind === 'skip' && kind.why) warn(`skipping ${kind.why} (not a class directory)`);
  }
  classes.sort(codePointCompare);
  if (classes.length === 0) {
    throw new DatasetError('MDISTILL_DATASET_MISSING', `${dir} has no class sub-directories; expected ${dir}/<class>/<image>.jpg`);
  }
  const files: string[] = [];
  const labelList: number[] = [];
  const empty: string[] = [];
  for (let k = 0; k < classes.length; k++) {
    const imgs = await walkImages(path.join(dir, classes[k]), seen, warn);
    if (imgs.length === 0) empty.push(classes[k]);
    for (const f of imgs) {
      files.push(f);
      labelList.push(k);
    }
  }
  if (files.length === 0) {
    throw new DatasetError('MDISTILL_DATASET_MISSING', `${dir} has class directories but no images (${IMAGE_EXTENSIONS.join(', ')})`);
  }
  if (empty.length > 0) {
    warn(`${dir}: ${empty.length} of ${classes.length} classes have no images (${empty.slice(0, 8).map((c) => `'${c}'`).join(', ')}` +
      `${empty.length > 8 ? ', …' : ''}); they still count as classes (the model gets an output for each, never trained)`);
  }
  const labels = sharedInt32(files.length);
  labels.set(labelList);
  return { kind: 'files', name: 'imagefolder', source: dir, classes, labels, length: files.length, paths: packPaths(files) };
}
