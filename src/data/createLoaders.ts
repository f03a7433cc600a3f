// Builds the train and eval loaders of a run from its data settings (the training flags' names in comments; the
// defaults of the options that have a flag are the flag's, from src/config/schema.ts).
import { SCHEMA } from '../config/schema.js';
import { capAtCores } from '../native/threadCap.js';
import { DataLoader, defaultWorkerCount } from './dataLoader.js';
import { DatasetError, subsetDataset, type ImageDataset } from './dataset.js';
import { DATASET_STATS, IMAGENET_MEAN, IMAGENET_STD, channelStats } from './normalize.js';
import { type DatasetName, openDataset } from './openDataset.js';
import { type TransformSpec, deitEvalSpec, deitTrainSpec, smallEvalSpec, smallTrainSpec } from './transformSpec.js';

export interface DataConfig {
  dataset: DatasetName;
  /** --data-path */
  dataPath?: string;
  /** --input-size */
  inputSize: number;
  /** The model's input channels (default 3). */
  channels?: 1 | 3;
  /** --batch-size (per rank). */
  batchSize: number;
  /** Eval batch size (default 1.5 × batch size, like DeiT). */
  evalBatchSize?: number;
  /** --mixup (0 = off; DeiT 0.8) */
  mixup: number;
  /** --cutmix (0 = off; DeiT 1.0) */
  cutmix: number;
  /** Probability of mixing a batch at all (timm's mixup_prob; no flag, default 1 as in DeiT). */
  mixupProb?: number;
  /** --mixup-switch-prob */
  mixupSwitchProb?: number;
  /** --smoothing (DeiT 0.1) */
  smoothing: number;
  /** --aa: timm RandAugment string, '' or 'none' for off (DeiT 'rand-m9-mstd0.5-inc1'). */
  aa: string;
  /** --color-jitter, used only with --aa off. */
  colorJitter?: number;
  /** --reprob (DeiT 0.25) */
  reprob: number;
  /** --repeated-aug (DeiT: on, 3 repeats). */
  repeatedAug: boolean;
  /** The eval resize is inputSize / evalCropRatio before the center crop (no flag; default 0.875 as in DeiT). */
  evalCropRatio?: number;
  seed: number;
  rank?: number;
  worldSize?: number;
  /** Shard evaluation across ranks (--dist-eval); otherwise every rank evaluates the whole split. */
  distEval?: boolean;
  /** Decode workers (default: cores left after the native threads; 0 = in-process). */
  workers?: number;
  /** Native intra-op threads, to size the default worker count. */
  nativeThreads?: number;
  /** Batches prepared ahead (default max(2, 2 × workers)). */
  prefetch?: number;
  /** --max-bad-fraction: abort when more than this fraction of samples fails to load. */
  maxBadFraction?: number;
  /** Use only the first N samples of each split (0 or unset: all). */
  trainSubset?: number;
  evalSubset?: number;
  /** For dataset 'synthetic'. */
  synthetic?: { length: number; numClasses: number; height: number; width: number; channels: 1 | 3; seed: number };
}

export interface Loaders {
  train: DataLoader;
  eval: DataLoader;
  classes: string[];
  numClasses: number;
  /** The transforms in use (saved with the run's config). */
  transforms: { train: TransformSpec; eval: TransformSpec };
  close(): Promise<void>;
}

/** 'small' keeps 28/32 px data sets at their own size; anything else gets the DeiT (ImageNet) pipeline. */
function transformsFor(ds: ImageDataset, c: DataConfig): { train: TransformSpec; eval: TransformSpec } {
  const channels = c.channels ?? 3;
  const stats = channelStats(DATASET_STATS[ds.name] ?? { mean: IMAGENET_MEAN, std: IMAGENET_STD }, channels);
  const aa = c.aa === 'none' ? '' : c.aa;
  if (ds.kind === 'memory' && ds.height === c.inputSize && ds.width === c.inputSize) {
    return {
      train: smallTrainSpec(c.inputSize, channels, stats.mean, stats.std, { reprob: c.reprob }),
      eval: smallEvalSpec(c.inputSize, channels, stats.mean, stats.std),
    };
  }
  const common = { channels, mean: stats.mean, std: stats.std, evalCropRatio: c.evalCropRatio ?? 0.875 };
  return {
    train: deitTrainSpec(c.inputSize, { ...common, autoAugment: aa, colorJitter: c.colorJitter ?? SCHEMA['color-jitter'].default, reprob: c.reprob }),
    eval: deitEvalSpec(c.inputSize, common),
  };
}

export interface EvalLoader {
  eval: DataLoader;
  classes: string[];
  transform: TransformSpec;
  close(): Promise<void>;
}

function openSplit(c: DataConfig, split: 'train' | 'val'): Promise<ImageDataset> {
  return openDataset({ name: c.dataset, split, dataPath: c.dataPath, synthetic: c.synthetic });
}

function loaderCommon(c: DataConfig) {
  const workers = c.workers === undefined ? defaultWorkerCount(c.nativeThreads ?? 1) : capAtCores(c.workers, '--workers');
  return { seed: c.seed, workers, prefetch: c.prefetch ?? Math.max(2, 2 * workers), maxBadFraction: c.maxBadFraction };
}

function evalLoaderFor(evalSet: ImageDataset, transform: TransformSpec, c: DataConfig): DataLoader {
  const sharded = c.distEval === true;
  return new DataLoader({
    ...loaderCommon(c), dataset: evalSet, transform, batchSize: c.evalBatchSize ?? Math.floor(1.5 * c.batchSize),
    dropLast: false,
    sampler: { shuffle: false, repeats: 1, rank: sharded ? c.rank ?? 0 : 0, worldSize: sharded ? c.worldSize ?? 1 : 1, pad: false },
  });
}

/** The validation loader alone, for evaluation: the train split is never opened (it need not exist). */
export async function createEvalLoader(c: DataConfig): Promise<EvalLoader> {
  const evalSet = subsetDataset(await openSplit(c, 'val'), c.evalSubset ?? 0);
  const transform = transformsFor(evalSet, c).eval;
  const loader = evalLoaderFor(evalSet, transform, c);
  return { eval: loader, classes: evalSet.classes, transform, close: () => loader.close() };
}

/** Which classes one split has and the other lacks, or where their order differs. */
function classMismatch(train: ImageDataset, val: ImageDataset): string {
  const quote = (names: string[]) => names.slice(0, 8).map((n) => `'${n}'`).join(', ') + (names.length > 8 ? `, … (${names.length} in all)` : '');
  const onlyTrain = train.classes.filter((k) => !val.classes.includes(k));
  const onlyVal = val.classes.filter((k) => !train.classes.includes(k));
  const parts: string[] = [];
  if (onlyTrain.length) parts.push(`only ${train.source} has ${quote(onlyTrain)}`);
  if (onlyVal.length) parts.push(`only ${val.source} has ${quote(onlyVal)}`);
  if (!parts.length) parts.push(`the classes are the same but in another order (train: ${quote(train.classes)}; val: ${quote(val.classes)})`);
  return `the train and val splits have different classes: ${parts.join('; ')}. Both need the same class directories (an empty one is allowed).`;
}

export async function createLoaders(c: DataConfig): Promise<Loaders> {
  const [fullTrain, fullEval] = await Promise.all([openSplit(c, 'train'), openSplit(c, 'val')]);
  const trainSet = subsetDataset(fullTrain, c.trainSubset ?? 0);
  const evalSet = subsetDataset(fullEval, c.evalSubset ?? 0);
  if (trainSet.classes.length !== evalSet.classes.length || trainSet.classes.some((k, i) => evalSet.classes[i] !== k)) {
    throw new DatasetError('MDISTILL_BAD_DATASET', classMismatch(trainSet, evalSet));
  }
  const transforms = transformsFor(trainSet, c);
  const train = new DataLoader({
    ...loaderCommon(c), dataset: trainSet, transform: transforms.train, batchSize: c.batchSize, dropLast: true,
    sampler: { shuffle: true, repeats: c.repeatedAug ? 3 : 1, rank: c.rank ?? 0, worldSize: c.worldSize ?? 1, pad: true },
    targets: {
      mixupAlpha: c.mixup, cutmixAlpha: c.cutmix, prob: c.mixupProb ?? 1, switchProb: c.mixupSwitchProb ?? SCHEMA['mixup-switch-prob'].default,
      smoothing: c.smoothing, numClasses: trainSet.classes.length,
    },
  });
  const evalLoader = evalLoaderFor(evalSet, transforms.eval, c);
  return {
    train, eval: evalLoader, classes: trainSet.classes, numClasses: trainSet.classes.length, transforms,
    close: async () => {
      await Promise.all([train.close(), evalLoader.close()]);
    },
  };
}
