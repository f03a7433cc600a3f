// Writes a file, or a directory of files, so that readers see either the old content or the new, never a torn one.
import { existsSync } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';

export async function atomicWriteFile(target: string, data: Uint8Array | string): Promise<void> {
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
    await rm(tmp, { force: true });
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(`could not write ${target}: ${reason}. Check that the directory exists and is writable.`);
  }
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
  await mkdir(parent, { recursive: true });
  const tmp = path.join(parent, `.${path.basename(dir)}.tmp-${process.pid}`);
  const old = previousVersion(dir);
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp);
  try {
    await fill(tmp);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
  if (existsSync(dir)) {
    await rm(old, { recursive: true, force: true });
    await rename(dir, old);
  }
  await rename(tmp, dir);
  await rm(old, { recursive: true, force: true });
}

/** The complete version of a directory atomicWriteDir writes: `dir` itself, or the previous version it kept if a
 *  crash hit between its two renames. `marker` is a file every complete version holds. */
export function completeDir(dir: string, marker: string): string | undefined {
  if (existsSync(path.join(dir, marker))) return dir;
  const old = previousVersion(dir);
  return existsSync(path.join(old, marker)) ? old : undefined;
}
