// The data pipeline as the training loop sees it: the loaders of a run's config, whose batches reach the loop as
// the loader yields them (in reusable slots, handed to native code without a copy, released once the native call
// has resolved).
import { createEvalLoader, createLoaders, writeClassesJson, type Batch, type DataLoader } from '../data/index.js';
import type { TrainConfig } from '../config/schema.js';
import { SINGLE_PROCESS, type DistContext } from '../dist/distContext.js';
import { dataConfigOf } from './runOptions.js';

export interface TrainBatchSource {
  batchesPerEpoch: number;
  /** The batches of `epoch`, starting at batch `startBatch` (resume), rebuilt exactly from the seed. */
  batches(epoch: number, startBatch: number): AsyncIterable<Batch>;
  /** Samples that failed to decode so far. */
  badSamples(): number;
}

export interface EvalBatchSource {
  batches(): AsyncIterable<Batch>;
  /** Each rank reads only its share (the counts are then summed over the ranks). */
  sharded?: boolean;
}

export interface DataSources {
  train: TrainBatchSource;
  val: EvalBatchSource;
  /** About the first `n` validation images (whole batches). */
  valSlice(n: number): EvalBatchSource;
  classes: string[];
  channels: 1 | 3;
  writeClasses(dir: string): Promise<void>;
  close(): Promise<void>;
}

function evalSource(loader: DataLoader, limit: number, sharded: boolean): EvalBatchSource {
  return {
    sharded,
    async *batches(): AsyncIterable<Batch> {
      let seen = 0;
      for await (const b of loader.epoch(0)) {
        yield b;
        seen += b.shape[0];
        if (seen >= limit) return;
      }
    },
  };
}

export async function openDataSources(config: TrainConfig, dist: DistContext = SINGLE_PROCESS): Promise<DataSources> {
  const data = dataConfigOf(config, dist);
  const sharded = data.distEval === true;
  // A slice of n validation images is shared out over the ranks when evaluation is sharded.
  const perRank = (n: number) => (sharded ? Math.ceil(n / dist.worldSize) : n);
  const loaders = await createLoaders(data);
  return {
    train: {
      batchesPerEpoch: loaders.train.batchesPerEpoch,
      batches: (epoch: number, startBatch: number) => loaders.train.epoch(epoch, startBatch * data.batchSize),
      badSamples: () => loaders.train.badSamples.count,
    },
    val: evalSource(loaders.eval, Infinity, sharded),
    valSlice: (n: number) => evalSource(loaders.eval, perRank(n), sharded),
    classes: loaders.classes,
    channels: data.channels ?? 3,
    writeClasses: async (dir: string) => {
      await writeClassesJson(dir, loaders.classes);
    },
    close: () => loaders.close(),
  };
}

/** The validation split alone (`mdistill eval`): the train split is not opened, so it need not exist. */
export async function openEvalSource(config: TrainConfig): Promise<Pick<DataSources, 'val' | 'classes' | 'channels' | 'close'>> {
  const data = dataConfigOf(config);
  const loader = await createEvalLoader(data);
  return { val: evalSource(loader.eval, Infinity, false), classes: loader.classes, channels: data.channels ?? 3, close: () => loader.close() };
}
