// What a run's resolved config means to each part of a training run: the data pipeline's DataConfig and the native
// trainer's options. These are the only places flags become those options.
import { availableParallelism } from 'node:os';
import type { TrainConfig } from '../config/schema.js';
import type { DataConfig, DatasetName } from '../data/index.js';
import { defaultThreads } from '../native/index.js';
import { SINGLE_PROCESS, type DistContext } from '../dist/distContext.js';
import type { TrainerOptions } from './nativeTrainer.js';

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
  const dataset = DATASET_OF[config['data-set']];
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

/** The native trainer's options. Without a teacher there is no distillation, whatever --distillation-type says,
 *  and no layer pairs (--s-id/--t-id are not checked against a student that has no teacher to match). */
export function trainerOptionsOf(config: TrainConfig, withTeacher = true): TrainerOptions {
  return {
    kd: withTeacher ? config['distillation-type'] : 'none',
    alpha: config['distillation-alpha'], beta: config['distillation-beta'], tau: config['distillation-tau'],
    wSample: config['w-sample'], wPatch: config['w-patch'], wRand: config['w-rand'], K: config.K, maxPatchNum: config['max-patch-num'],
    // Without a teacher there are no layer pairs: a student shallower than --s-id (a fine-tune without KD) still trains.
    manifoldImpl: config['manifold-impl'], sIds: withTeacher ? config['s-id'] : [], tIds: withTeacher ? config['t-id'] : [],
    clipGrad: config['clip-grad'] ?? 0, emaDecay: config['model-ema-decay'], amp: config.amp, seed: config.seed,
    weightDecay: config['weight-decay'],
  };
}

/** How the trainer joins a data-parallel group. */
export function dataParallelOptionsOf(config: TrainConfig): { globalSampleManifold: boolean; bucketMb: number } {
  return { globalSampleManifold: config['global-sample-manifold'], bucketMb: config['bucket-cap-mb'] };
}
