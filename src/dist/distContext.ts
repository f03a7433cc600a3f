// One data-parallel job as the training loop sees it: this process's rank, the c10d process group, and the
// sum of numbers over all ranks (metrics and eval counts). A single process gets the trivial context.
import { createRawProcessGroup, type RawProcessGroup } from '../native/index.js';
import type { DistEnv } from './distEnv.js';
import { processDevice } from './rankDevice.js';

export interface DistContext {
  rank: number;
  worldSize: number;
  localRank: number;
  localWorldSize: number;
  /** Rank 0: logs, prints progress, writes checkpoints and the report. */
  isMain: boolean;
  /** The native group, handed to the Trainer; null on one process. */
  group: RawProcessGroup | null;
  /** Element-wise sums over the ranks. */
  sum(values: number[]): Promise<number[]>;
  barrier(): Promise<void>;
  close(): void;
}

export const SINGLE_PROCESS: DistContext = {
  rank: 0, worldSize: 1, localRank: 0, localWorldSize: 1, isMain: true, group: null,
  sum: (values) => Promise.resolve(values.slice()),
  barrier: () => Promise.resolve(),
  close: () => undefined,
};

export async function connectDist(env: DistEnv, options: { timeoutSeconds: number; device: 'cpu' | 'cuda' }): Promise<DistContext> {
  const group = createRawProcessGroup({
    rank: env.rank, worldSize: env.worldSize, masterAddr: env.masterAddr, masterPort: env.masterPort,
    timeoutMs: Math.round(options.timeoutSeconds * 1000), device: processDevice(options.device, env),
  });
  await group.connect();
  return {
    rank: env.rank, worldSize: env.worldSize, localRank: env.localRank, localWorldSize: env.localWorldSize,
    isMain: env.rank === 0, group,
    sum: async (values) => Array.from(await group.allReduce(Float64Array.from(values))),
    barrier: () => group.barrier(),
    close: () => group.destroy(),
  };
}
