// timm's RandomErasing(probability, mode='pixel', max_count=1): after normalization, a random box of
// area 2%–1/3 and aspect ratio 0.3–3.3 is filled with per-pixel standard-normal noise (all channels).
import { type KeyedRng, roundHalfEven } from './rng.js';

export interface RandomErasingOptions {
  probability: number;
  minArea?: number;
  maxArea?: number;
  minAspect?: number;
}

/** Erases in place in dst[offset …] (c×h×w); returns the box or undefined. Draws in timm's order. */
export function randomErase(
  dst: Float32Array, offset: number, c: number, h: number, w: number, o: RandomErasingOptions, rng: KeyedRng,
): { top: number; left: number; h: number; w: number } | undefined {
  if (rng.float() > o.probability) return undefined;
  const minArea = o.minArea ?? 0.02;
  const maxArea = o.maxArea ?? 1 / 3;
  const minAspect = o.minAspect ?? 0.3;
  const logLo = Math.log(minAspect);
  const logHi = Math.log(1 / minAspect);
  const area = h * w;
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = rng.uniform(minArea, maxArea) * area;
    const aspect = Math.exp(rng.uniform(logLo, logHi));
    const eh = roundHalfEven(Math.sqrt(target * aspect));
    const ew = roundHalfEven(Math.sqrt(target / aspect));
    if (ew < w && eh < h) {
      const top = rng.int(0, h - eh);
      const left = rng.int(0, w - ew);
      for (let k = 0; k < c; k++) {
        for (let y = top; y < top + eh; y++) {
          const row = offset + (k * h + y) * w;
          for (let x = left; x < left + ew; x++) dst[row + x] = rng.normal();
        }
      }
      return { top, left, h: eh, w: ew };
    }
  }
  return undefined;
}
