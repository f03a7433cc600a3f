// Writes a file, or a directory of files, so that readers see either the old content or the new, never a torn one.
import { existsSync } from 'node:fs';
import { lstat, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { FileProblemError, errnoOf, fileKind, reasonOf } from './fileProblem.js';
import { makeDirectories } from './makeDirectories.js';

export async function atomicWriteFile(target: string, data: Uint8Array | string): Promise<void> {
  // The rename below would replace whatever is there: never a device, a FIFO or a directory (as root,
  // `--out /dev/full` replaced the device node with a file).
  const existing = await lstat(target).catch(() => undefined);
  if (existing && !existing.isFile() && !existing.isSymbolicLink()) {
    throw new FileProblemError(`could not write ${target}: it is ${fileKind(existing)}, not a regular file. Choose a file path.`, target);
  }
  const linked = existing?.isSymbolicLink() ? await stat(target).catch(() => undefined) : undefined;
  if (linked && !linked.isFile()) {
    throw new FileProblemError(`could not write ${target}: it is a link to ${fileKind(linked)}, not to a regular file. Choose a file path.`, target);
  }
  const tmp = path.join(path.dirname(target), `.${path.basename(target)}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`);
  try {
    const handle = await open(tmp, 'w');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined);
    const r = errnoOf(err) === 'ENOENT' ? { what: `its directory ${path.dirname(target)} does not exist`, fix: 'create it or choose another path' }
      : errnoOf(err) === 'ENOTDIR' ? { what: `a part of ${path.dirname(target)} is not a directory`, fix: 'choose another path' }
      : reasonOf(err);
    throw new FileProblemError(`could not write ${target}: ${r.what}. ${capitalized(r.fix)}; any previous ${path.basename(target)} is unchanged.`, target, errnoOf(err));
  }
}

function capitalized(s: string): string {
  return s.length ? s[0].toUpperCase() + s.slice(1) : s;
}

/** Temporary names of the writes here: `.<name>.tmp-<pid>` (directories) and `.<name>.tmp-<pid>-<random>` (files). */
const TEMPORARY = /^\..+\.tmp-(\d+)(-[a-z0-9]+)?$/;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the temporary files and directories that writers killed mid-write left in `dir` (their process is gone).
 * Returns the names removed.
 */
export async function removeStaleTemporaries(dir: string): Promise<string[]> {
  const entries = await readdir(dir).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const name of entries) {
    const m = TEMPORARY.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || isAlive(pid)) continue;
    await rm(path.join(dir, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

/** Where atomicWriteDir keeps the previous version of `dir` while it swaps the new one in. */
function previousVersion(dir: string): string {
  return path.join(path.dirname(dir), `.${path.basename(dir)}.old`);
}

/**
 * Replaces the directory `dir` with one that `fill` writes into a temporary sibling. The previous `dir` stays
 * complete (renamed aside) until the new one is in place, so a crash never leaves a torn directory; see
 * completeDir for the reading side.
 */
export async function atomicWriteDir(dir: string, fill: (tmp: string) => Promise<void>): Promise<void> {
  const parent = path.dirname(dir);
  await makeDirectories(parent);
  const tmp = path.join(parent, `.${path.basename(dir)}.tmp-${process.pid}`);
  const old = previousVersion(dir);
  const failed = (err: unknown, action: string): Error => {
    if (!errnoOf(err)) return err instanceof Error ? err : new Error(String(err));
    const r = reasonOf(err);
    return new FileProblemError(`could not ${action} ${dir}: ${r.what}. ${capitalized(r.fix)}; ` +
      `the previous ${path.basename(dir)} (if any) is intact.`, dir, errnoOf(err));
  };
  try {
    await rm(tmp, { recursive: true, force: true });
    await mkdir(tmp);
    await fill(tmp);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    throw failed(err, 'write');
  }
  try {
    if (existsSync(dir)) {
      await rm(old, { recursive: true, force: true });
      await rename(dir, old);
    }
    await rename(tmp, dir);
  } catch (err) {
    throw failed(err, 'swap in the new');
  }
  await rm(old, { recursive: true, force: true });
}

/** The complete version of a directory atomicWriteDir writes: `dir` itself, or the previous version it kept if a
 *  crash hit between its two renames. `marker` is a file every complete version holds. */
export function completeDir(dir: string, marker: string): string | undefined {
  if (existsSync(path.join(dir, marker))) return dir;
  const old = previousVersion(dir);
  return existsSync(path.join(old, marker)) ? old : undefined;
}
