// Paths to the shared reference data (/work/shared/fixtures, beside the package root).
import path from 'node:path';
import { packageRoot } from '../../src/io/packageRoot.js';

export const fixturesDir = path.resolve(packageRoot, '..', 'shared', 'fixtures');
export const fixture = (name: string): string => path.join(fixturesDir, name);

/** The largest absolute difference between two equally long arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
