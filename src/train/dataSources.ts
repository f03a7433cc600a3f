// The data pipeline as the trainer sees it: the run config mapped onto createLoaders, and its loaders mapped
// onto the batch sources the training loop consumes.
import { createEvalLoader, createLoaders, writeClassesJson, type DataConfig, type DataLoader, type DatasetName } from '../data/index.js';
import type { TrainConfig } from '../config/schema.js';
import type { EvalBatch, EvalBatchSource, TrainBatchSource } from './batchSource.js';
import { availableParallelism } from 'node:os';
import { defaultThreads } from '../native/index.js';
import { SINGLE_PROCESS, type DistContext } from '../dist/distContext.js';

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

const DATASET_OF: Record<TrainConfig['data-set'], DatasetName> = {
  'FASHION-MNIST': 'fashion-mnist', MNIST: 'mnist', CIFAR10: 'cifar10', CIFAR100: 'cifar100',
  IMNET: 'imagefolder', IMAGEFOLDER: 'imagefolder', SYNTHETIC: 'synthetic',
};

/** Several processes on one machine share its cores: each decodes with its share minus its native threads. */
function localWorkers(config: TrainConfig, dist: DistContext): number | undefined {
  if (dist.localWorldSize <= 1) return undefined;
  const share = Math.floor(availableParallelism() / dist.localWorldSize);
  return Math.max(1, share - (config.threads ?? defaultThreads()));
}

export function dataConfigOf(config: TrainConfig, dist: DistContext = SINGLE_PROCESS): DataConfig {
  const dataset = DATASET_OF[config['data-set'] as TrainConfig['data-set']];
  const channels: 1 | 3 = dataset === 'fashion-mnist' || dataset === 'mnist' ? 1 : 3;
  return {
    dataset, dataPath: dataset === 'synthetic' ? undefined : config['data-path'], inputSize: config['input-size'], channels,
    batchSize: config['batch-size'], mixup: config.mixup, cutmix: config.cutmix, mixupSwitchProb: config['mixup-switch-prob'],
    smoothing: config.smoothing, aa: config.aa ?? 'none', colorJitter: config['color-jitter'], reprob: config.reprob,
    repeatedAug: config['repeated-aug'], seed: config.seed, workers: config.workers ?? localWorkers(config, dist),
    nativeThreads: config.threads ?? defaultThreads(), maxBadFraction: config['max-bad-fraction'],
    trainSubset: config['train-subset'], evalSubset: config['eval-subset'],
    rank: dist.rank, worldSize: dist.worldSize, distEval: dist.worldSize > 1 && config['dist-eval'],
    synthetic: dataset === 'synthetic'
      ? { length: config['train-subset'] || 512, numClasses: 10, height: config['input-size'], width: config['input-size'], channels, seed: config.seed }
      : undefined,
  };
}

function evalSource(loader: DataLoader, limit: number, sharded: boolean): EvalBatchSource {
  return {
    sharded,
    async *batches(): AsyncIterable<EvalBatch> {
      let seen = 0;
      for await (const b of loader.epoch(0)) {
        yield { images: b.images, shape: b.shape, labels: b.labels, release: () => b.release() };
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
      async *batches(epoch: number, startBatch: number) {
        for await (const b of loaders.train.epoch(epoch, startBatch * data.batchSize)) {
          yield b.targets
            ? { images: b.images, shape: b.shape, targets: b.targets, release: () => b.release() }
            : { images: b.images, shape: b.shape, labels: b.labels, release: () => b.release() };
        }
      },
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
