// Shared bits of the data tests: checksums of typed arrays, temp directories, the compiled worker.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** FNV-1a over the bytes of a typed array, as 8 hex digits. */
export function checksum(a: ArrayBufferView): string {
  const b = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) {
    h ^= b[i];
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

export function tmpDir(tag: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), `mdistill-${tag}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function round4(xs: ArrayLike<number>): number[] {
  return Array.from(xs, (x) => Math.round(x * 1e4) / 1e4);
}

/** Worker threads run the compiled loader (dist/data/loaderWorker.js): build it from the current sources. */
export function buildDist(): void {
  const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
  const r = spawnSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tsc failed:\n${r.stdout}${r.stderr}`);
}
