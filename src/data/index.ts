// The data pipeline's public face.
export { createEvalLoader, createLoaders, type DataConfig, type EvalLoader, type Loaders } from './createLoaders.js';
export type { Batch } from './batch.js';
export { DataLoader, defaultWorkerCount, type DataLoaderOptions } from './dataLoader.js';
export { DatasetError, filePath, filePaths, writeClassesJson, type ImageDataset, type MemoryDataset, type FileDataset } from './dataset.js';
export { openDataset, DATASET_NAMES, type DatasetName } from './openDataset.js';
export { planEpoch, samplesPerRank, type SamplerOptions, type SamplerPosition } from './sampler.js';
export type { TransformSpec } from './transformSpec.js';
export type { BadSample } from './batchFiller.js';
