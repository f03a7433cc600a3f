// `mkdir -p` that cannot spin and says what is in the way. Node's recursive mkdir loops forever where the kernel
// answers ENOENT for a parent that exists (`--output-dir /proc/x/y` never returned); this one creates each missing
// part in turn, and a failure names the part, why, and what to do.
import { lstat, mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { FileProblemError, errnoOf, fileKind, reasonOf } from './fileProblem.js';

export interface MakeDirectoriesContext {
  /** The flag the path came from ('--output-dir'). */
  flag?: string;
  /** What the directory is, in messages ('the run directory'). */
  what?: string;
}

function problem(dir: string, ctx: MakeDirectoriesContext, why: string, fix: string, errno?: string): FileProblemError {
  const where = ctx.flag ? `${ctx.flag} ${dir}` : dir;
  const alternative = ctx.flag ? `, or pass another ${ctx.flag}` : '';
  return new FileProblemError(`${where}: cannot create ${ctx.what ?? 'the directory'}: ${why}. ${fix}${alternative}.`, dir, errno);
}

/** Creates `dir` and its missing parents. */
export async function makeDirectories(dir: string, ctx: MakeDirectoriesContext = {}): Promise<void> {
  const missing: string[] = [];
  for (let p = path.resolve(dir); ; p = path.dirname(p)) {
    const info = await stat(p).catch((e: NodeJS.ErrnoException) => e);
    if (!(info instanceof Error)) {
      if (!info.isDirectory()) throw problem(dir, ctx, `${p} is ${fileKind(info)}, not a directory`, 'Remove it or choose another path');
      break;
    }
    if (info.code === 'ENOENT') {
      const link = await lstat(p).catch(() => undefined);
      if (link?.isSymbolicLink()) throw problem(dir, ctx, `${p} is a symbolic link to a missing target`, 'Fix the link');
    } else if (info.code === 'ELOOP') {
      throw problem(dir, ctx, `${p} is a symbolic link loop`, 'Fix the link');
    } else if (info.code !== 'ENOTDIR') {
      const r = reasonOf(info);
      throw problem(dir, ctx, `${p}: ${r.what}`, capitalize(r.fix), info.code);
    }
    missing.push(p);
    if (path.dirname(p) === p) break;
  }
  for (const p of missing.reverse()) {
    try {
      await mkdir(p);
    } catch (err) {
      if (errnoOf(err) === 'EEXIST' && (await stat(p).catch(() => undefined))?.isDirectory()) continue;
      if (errnoOf(err) === 'ENOENT') {
        // The parent exists (it was checked or made just now): this file system does not take new directories.
        throw problem(dir, ctx, `the file system at ${path.dirname(p)} does not allow creating directories there`, 'Choose a path on an ordinary disk', 'ENOENT');
      }
      const r = reasonOf(err);
      throw problem(dir, ctx, `${p}: ${r.what}`, capitalize(r.fix), errnoOf(err));
    }
  }
}

function capitalize(s: string): string {
  return s.length ? s[0].toUpperCase() + s.slice(1) : s;
}
