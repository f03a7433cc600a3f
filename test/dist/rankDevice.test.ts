import { describe, expect, it } from 'vitest';
import { RankDeviceError, rankDevice } from '../../src/dist/rankDevice.js';

describe('rankDevice', () => {
  const never = (): number => {
    throw new Error('the GPU count must not be asked for');
  };

  it('keeps cpu, and a single process on the current CUDA device, without asking for the GPU count', () => {
    expect(rankDevice('cpu', { localRank: 3, worldSize: 8 }, never)).toBe('cpu');
    expect(rankDevice('cuda', { localRank: 0, worldSize: 1 }, never)).toBe('cuda');
  });

  it('puts local rank r of several processes on cuda:r', () => {
    for (let r = 0; r < 4; r++) expect(rankDevice('cuda', { localRank: r, worldSize: 8 }, () => 4)).toBe(`cuda:${r}`);
  });

  it('refuses a local rank without a GPU of its own, naming the rank and the count', () => {
    expect(() => rankDevice('cuda', { localRank: 2, worldSize: 4 }, () => 2)).toThrow(RankDeviceError);
    expect(() => rankDevice('cuda', { localRank: 2, worldSize: 4 }, () => 2)).toThrow(/local rank 2 needs GPU 2 but this process sees 2/);
    expect(() => rankDevice('cuda', { localRank: 0, worldSize: 2 }, () => 0)).toThrow(/sees 0/);
  });
});
