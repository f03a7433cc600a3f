// Shared helpers of the manifold loss tests: seeded features and tolerant comparisons.
import type { LayerPair } from '../../src/loss/manifoldLoss.js';

export function seeded(n: number, seed: number, Ctor: Float32ArrayConstructor | Float64ArrayConstructor = Float64Array): Float32Array | Float64Array {
  let s = (seed * 2654435761) >>> 0;
  const out = new Ctor(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 32 - 0.5;
  }
  return out;
}

export function pair(
  s: [number, number, number], t: [number, number, number], seed: number,
  Ctor: Float32ArrayConstructor | Float64ArrayConstructor = Float64Array,
): LayerPair {
  return {
    student: { data: seeded(s[0] * s[1] * s[2], seed, Ctor), shape: s },
    teacher: { data: seeded(t[0] * t[1] * t[2], seed + 1000, Ctor), shape: t },
  };
}

/** max |a - b| relative to max |b| (so tiny entries do not dominate). */
export function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return scale === 0 ? diff : diff / scale;
}

export function relDiff(a: number, b: number): number {
  return Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);
}
