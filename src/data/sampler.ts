// Which samples each rank reads in an epoch: a seeded shuffle, DeiT's repeated augmentation (RASampler) and
// sharding by rank like torch's DistributedSampler. Pure functions of (seed, epoch, rank), so a run can resume
// at any (epoch, index) and every rank agrees on the order without talking.
import { KeyedRng, Stream } from './rng.js';

export interface SamplerOptions {
  /** Number of samples in the data set. */
  length: number;
  shuffle: boolean;
  seed: number;
  /** Repeated augmentation: each drawn sample appears this many times with different augmentations (DeiT: 3). */
  repeats: number;
  rank: number;
  worldSize: number;
  /**
   * Training: pad to the same count on every rank (torch DistributedSampler). Evaluation: false, so each
   * sample is seen exactly once across ranks and ranks may differ by one.
   */
  pad: boolean;
}

/** The samples of one rank's epoch: the data set index and the repeat number (part of the augmentation key). */
export interface EpochPlan {
  epoch: number;
  sample: Int32Array;
  repeat: Uint8Array;
}

export function validateSampler(o: SamplerOptions): void {
  if (!Number.isInteger(o.length) || o.length < 1) throw new RangeError(`sampler: data set length must be >= 1, got ${o.length}`);
  if (!Number.isInteger(o.worldSize) || o.worldSize < 1) throw new RangeError(`sampler: world size must be >= 1, got ${o.worldSize}`);
  if (!Number.isInteger(o.rank) || o.rank < 0 || o.rank >= o.worldSize) {
    throw new RangeError(`sampler: rank ${o.rank} is outside 0..${o.worldSize - 1}`);
  }
  if (!Number.isInteger(o.repeats) || o.repeats < 1 || o.repeats > 255) throw new RangeError(`sampler: repeats must be 1..255, got ${o.repeats}`);
  if (o.repeats > 1 && !o.pad) throw new RangeError('sampler: repeated augmentation is for training (pad: true) only');
}

/**
 * Samples per rank per epoch. Without repeats: ceil(N / world) (padded) or the rank's share (unpadded).
 * With repeats, as DeiT's RASampler: floor(N / 256) * 256 / world, so an epoch still sees about N samples in all;
 * for data sets under 256 samples, ceil(N / world).
 */
export function samplesPerRank(o: SamplerOptions): number {
  const n = o.length;
  if (o.repeats > 1) return n >= 256 ? Math.floor((Math.floor(n / 256) * 256) / o.worldSize) : Math.ceil(n / o.worldSize);
  if (o.pad) return Math.ceil(n / o.worldSize);
  return Math.floor(n / o.worldSize) + (o.rank < n % o.worldSize ? 1 : 0);
}

/** A permutation of 0..n-1 (Fisher–Yates) keyed by (seed, epoch). */
export function epochPermutation(n: number, seed: number, epoch: number): Int32Array {
  const perm = new Int32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  const rng = new KeyedRng([Stream.shuffle, seed, epoch]);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.float() * (i + 1));
    const t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  return perm;
}

export function planEpoch(o: SamplerOptions, epoch: number): EpochPlan {
  validateSampler(o);
  const n = o.length;
  const order = o.shuffle ? epochPermutation(n, o.seed, epoch) : Int32Array.from({ length: n }, (_, i) => i);
  const r = o.repeats;
  const count = samplesPerRank(o);
  const sample = new Int32Array(count);
  const repeat = new Uint8Array(count);
  // The global list is order repeated in place ([a,a,a,b,b,b,…]), padded by wrapping; rank k takes k, k+world, ….
  const globalLen = n * r;
  for (let i = 0; i < count; i++) {
    const g = (o.rank + i * o.worldSize) % globalLen;
    sample[i] = order[Math.floor(g / r)];
    repeat[i] = g % r;
  }
  return { epoch, sample, repeat };
}

/** Where a run stands inside the data: the epoch and how many of this rank's samples it consumed. */
export interface SamplerPosition {
  epoch: number;
  index: number;
}
