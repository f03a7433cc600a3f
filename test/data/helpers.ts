// Shared bits of the data tests: checksums of typed arrays, temp directories, the compiled worker.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

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

function newestMtime(dir: string, ext: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) t = Math.max(t, newestMtime(p, ext));
    else if (e.name.endsWith(ext)) t = Math.max(t, statSync(p).mtimeMs);
  }
  return t;
}

function oldestMtime(dir: string, ext: string): number {
  if (!existsSync(dir)) return 0;
  const ts = readdirSync(dir).filter((f) => f.endsWith(ext)).map((f) => statSync(path.join(dir, f)).mtimeMs);
  return ts.length === 0 ? 0 : Math.min(...ts);
}

/**
 * Worker threads run the compiled loader (dist/data/loaderWorker.js): rebuild dist when a source is newer.
 * Test files run in parallel, so the build holds a lock directory and the others wait for it.
 */
export function buildDist(): void {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
  const fresh = (): boolean => oldestMtime(path.join(root, 'dist', 'data'), '.js') > newestMtime(path.join(root, 'src'), '.ts');
  const lock = path.join(root, 'dist', '.build-lock');
  mkdirSync(path.join(root, 'dist'), { recursive: true });
  const sleep = (ms: number): void => void Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  for (let waited = 0; !fresh(); waited += 100) {
    try {
      mkdirSync(lock);
    } catch {
      if (waited > 120_000) throw new Error(`${lock} held for 2 minutes; remove it if no build is running`);
      sleep(100);
      continue;
    }
    try {
      const r = spawnSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: root, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`tsc failed:\n${r.stdout}${r.stderr}`);
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
}
