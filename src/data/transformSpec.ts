// The per-sample transform, as plain data (it is posted to the worker threads).
import { IMAGENET_MEAN, IMAGENET_STD } from './normalize.js';

export interface TransformSpec {
  /**
   * 'small': pad-crop + flip on the native pixels (28/32 px data sets at their own size).
   * 'deit': RandomResizedCrop / resize + center crop through sharp, RandAugment, random erasing.
   */
  kind: 'small' | 'deit';
  train: boolean;
  /** Output height = width. */
  size: number;
  /** Output channels (the model's). */
  channels: 1 | 3;
  mean: number[];
  std: number[];
  hflip: number;
  /** small/train: RandomCrop padding. */
  padding: number;
  /** deit/train: RandomResizedCrop scale and ratio. */
  scale: [number, number];
  ratio: [number, number];
  /** deit/train: timm auto-augment string ('' = off), e.g. 'rand-m9-mstd0.5-inc1'. */
  autoAugment: string;
  /** deit/train: ColorJitter strength, used only when autoAugment is off (0 = off). */
  colorJitter: number;
  /** Random erasing probability (train). */
  reprob: number;
  /** deit/eval: the resize is size / evalCropRatio. */
  evalCropRatio: number;
}

export function deitTrainSpec(size: number, over: Partial<TransformSpec> = {}): TransformSpec {
  return {
    kind: 'deit', train: true, size, channels: 3, mean: IMAGENET_MEAN, std: IMAGENET_STD, hflip: 0.5, padding: 0,
    scale: [0.08, 1], ratio: [3 / 4, 4 / 3], autoAugment: 'rand-m9-mstd0.5-inc1', colorJitter: 0.3, reprob: 0.25,
    evalCropRatio: 0.875, ...over,
  };
}

export function deitEvalSpec(size: number, over: Partial<TransformSpec> = {}): TransformSpec {
  return { ...deitTrainSpec(size), train: false, ...over };
}

export function smallTrainSpec(size: number, channels: 1 | 3, mean: number[], std: number[], over: Partial<TransformSpec> = {}): TransformSpec {
  return {
    kind: 'small', train: true, size, channels, mean, std, hflip: 0.5, padding: 4, scale: [0.08, 1], ratio: [3 / 4, 4 / 3],
    autoAugment: '', colorJitter: 0, reprob: 0, evalCropRatio: 1, ...over,
  };
}

export function smallEvalSpec(size: number, channels: 1 | 3, mean: number[], std: number[]): TransformSpec {
  return { ...smallTrainSpec(size, channels, mean, std), train: false };
}
