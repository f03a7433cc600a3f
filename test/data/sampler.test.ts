import { describe, expect, it } from 'vitest';
import { type SamplerOptions, epochPermutation, planEpoch, samplesPerRank } from '../../src/data/sampler.js';

const base = (o: Partial<SamplerOptions>): SamplerOptions => ({
  length: 103, shuffle: true, seed: 5, repeats: 1, rank: 0, worldSize: 1, pad: true, ...o,
});

describe('sampler', () => {
  it('shuffles differently per epoch and identically per (seed, epoch)', () => {
    const a = epochPermutation(50, 1, 0);
    expect(Array.from(a).sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(epochPermutation(50, 1, 0)).toEqual(a);
    expect(epochPermutation(50, 1, 1)).not.toEqual(a);
    expect(epochPermutation(50, 2, 0)).not.toEqual(a);
    expect(Array.from(a.subarray(0, 8))).toEqual([8, 32, 25, 1, 26, 28, 4, 24]);
  });

  it('shards like DistributedSampler: every index once, equal counts, padding by wrap', () => {
    for (const world of [1, 2, 3, 4, 7]) {
      const seen = new Map<number, number>();
      for (let rank = 0; rank < world; rank++) {
        const p = planEpoch(base({ rank, worldSize: world }), 3);
        expect(p.sample.length).toBe(Math.ceil(103 / world));
        for (const i of p.sample) seen.set(i, (seen.get(i) ?? 0) + 1);
      }
      expect(seen.size).toBe(103);
      const extra = [...seen.values()].reduce((a, b) => a + b, 0) - 103;
      expect(extra).toBe(Math.ceil(103 / world) * world - 103);
    }
  });

  it('eval sharding without padding sees every sample exactly once', () => {
    const all: number[] = [];
    for (let rank = 0; rank < 4; rank++) all.push(...planEpoch(base({ rank, worldSize: 4, pad: false, shuffle: false }), 0).sample);
    expect(all.sort((a, b) => a - b)).toEqual(Array.from({ length: 103 }, (_, i) => i));
  });

  it('repeated augmentation: 3 consecutive copies with repeat ids 0, 1, 2 on one process', () => {
    const p = planEpoch(base({ repeats: 3, length: 60 }), 0);
    expect(p.sample.length).toBe(60);
    for (let i = 0; i < 60; i += 3) {
      expect(p.sample[i + 1]).toBe(p.sample[i]);
      expect(p.sample[i + 2]).toBe(p.sample[i]);
      expect([p.repeat[i], p.repeat[i + 1], p.repeat[i + 2]]).toEqual([0, 1, 2]);
    }
    expect(new Set(p.sample).size).toBe(20);
  });

  it('repeated augmentation across ranks: copies land on different ranks, equal counts, DeiT epoch length', () => {
    const o = base({ repeats: 3, length: 1000, worldSize: 4 });
    expect(samplesPerRank(o)).toBe(Math.floor((768) / 4));
    const plans = [0, 1, 2, 3].map((rank) => planEpoch({ ...o, rank }, 2));
    for (const p of plans) expect(p.sample.length).toBe(192);
    // Position k of every rank comes from global slots 4k..4k+3: sample groups of 3 straddle ranks.
    expect(plans[0].sample[0]).toBe(plans[1].sample[0]);
    expect(plans[0].sample[0]).toBe(plans[2].sample[0]);
    expect(plans[3].sample[0]).not.toBe(plans[0].sample[0]);
    expect([plans[0].repeat[0], plans[1].repeat[0], plans[2].repeat[0]]).toEqual([0, 1, 2]);
  });

  it('rejects bad ranks and repeats', () => {
    expect(() => planEpoch(base({ rank: 2, worldSize: 2 }), 0)).toThrow(/rank 2 is outside 0..1/);
    expect(() => planEpoch(base({ repeats: 0 }), 0)).toThrow(/repeats/);
    expect(() => planEpoch(base({ repeats: 3, pad: false }), 0)).toThrow(/training/);
  });
});
