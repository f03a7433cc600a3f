// Writes a file so that readers see either the old content or the new, never a torn one.
import { open, rename, rm } from 'node:fs/promises';
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
