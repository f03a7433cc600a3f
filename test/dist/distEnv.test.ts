import { describe, expect, test } from 'vitest';
import { distEnvFrom } from '../../src/dist/distEnv.js';
import { translateResume } from '../../src/dist/resumePosition.js';
import { workerArgv } from '../../src/dist/launchLocal.js';

describe('distEnvFrom', () => {
  test('torchrun variables', () => {
    expect(distEnvFrom({ RANK: '3', WORLD_SIZE: '8', LOCAL_RANK: '1', LOCAL_WORLD_SIZE: '2', MASTER_ADDR: 'node0', MASTER_PORT: '29400' })).toEqual({
      rank: 3, worldSize: 8, localRank: 1, localWorldSize: 2, masterAddr: 'node0', masterPort: 29400, source: 'torchrun',
    });
  });
  test('SLURM variables, with MASTER_ADDR and the default port', () => {
    expect(distEnvFrom({ SLURM_PROCID: '5', SLURM_NTASKS: '8', SLURM_LOCALID: '1', SLURM_NTASKS_PER_NODE: '4(x2)', MASTER_ADDR: 'n1' })).toEqual({
      rank: 5, worldSize: 8, localRank: 1, localWorldSize: 4, masterAddr: 'n1', masterPort: 29500, source: 'slurm',
    });
  });
  test('one process, or no launcher, is not distributed', () => {
    expect(distEnvFrom({})).toBeNull();
    expect(distEnvFrom({ RANK: '0', WORLD_SIZE: '1' })).toBeNull();
    expect(distEnvFrom({ SLURM_PROCID: '0', SLURM_NTASKS: '1' })).toBeNull();
  });
  test('bad values name the variable', () => {
    expect(() => distEnvFrom({ RANK: 'x', WORLD_SIZE: '2', MASTER_ADDR: 'a' })).toThrow(/RANK='x'/);
    expect(() => distEnvFrom({ RANK: '2', WORLD_SIZE: '2', MASTER_ADDR: 'a' })).toThrow(/rank 2 is outside 0..1/);
    expect(() => distEnvFrom({ RANK: '0', WORLD_SIZE: '2' })).toThrow(/MASTER_ADDR is not set/);
    expect(() => distEnvFrom({ RANK: '0', WORLD_SIZE: '2', MASTER_ADDR: 'a', MASTER_PORT: '70000' })).toThrow(/not a TCP port/);
  });
});

describe('translateResume', () => {
  const saved = { epoch: 2, step: 2 * 50 + 7, batchInEpoch: 7, worldSize: 2, config: { 'batch-size': 8 } };
  test('same world and batch: unchanged', () => {
    expect(translateResume(saved, { worldSize: 2, batchSize: 8, stepsPerEpoch: 50 })).toEqual({ step: 107, batchInEpoch: 7 });
  });
  test('2 × 8 on 1 × 8: samples consumed carry over', () => {
    const r = translateResume(saved, { worldSize: 1, batchSize: 8, stepsPerEpoch: 100 });
    expect(r).toMatchObject({ step: 2 * 100 + 14, batchInEpoch: 14 });
    expect(r.note).toContain('112 samples done');
  });
  test('a position between batches rounds down and says how many samples repeat', () => {
    const r = translateResume(saved, { worldSize: 3, batchSize: 8, stepsPerEpoch: 33 });
    expect(r).toMatchObject({ batchInEpoch: 4, step: 2 * 33 + 4 });
    expect(r.note).toContain('16 samples of the epoch are seen again');
  });
  test('old checkpoints without worldSize count as one process', () => {
    const { worldSize: _, ...old } = saved;
    expect(translateResume(old, { worldSize: 2, batchSize: 8, stepsPerEpoch: 25 })).toMatchObject({ batchInEpoch: 3 });
  });
});

test('workerArgv drops --nproc-per-node in both spellings', () => {
  expect(workerArgv(['bin', 'train', '--nproc-per-node', '4', '--lr', '1'])).toEqual(['bin', 'train', '--lr', '1']);
  expect(workerArgv(['bin', 'train', '--nproc-per-node=4'])).toEqual(['bin', 'train']);
});
