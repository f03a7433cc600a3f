// Opens a data set by name: 'fashion-mnist' | 'mnist' (IDX), 'cifar10' | 'cifar100' (binary batches),
// 'imagefolder' (a directory tree), 'synthetic' (seeded, for tests and benchmarks).
import { type ImageDataset, DatasetError } from './dataset.js';
import { cifarDataset } from './cifarDataset.js';
import { FASHION_MNIST_DIR, idxDataset } from './idxDataset.js';
import { imageFolderDataset } from './imageFolderDataset.js';
import { syntheticDataset } from './syntheticDataset.js';

export const DATASET_NAMES = ['fashion-mnist', 'mnist', 'cifar10', 'cifar100', 'imagefolder', 'synthetic'] as const;
export type DatasetName = (typeof DATASET_NAMES)[number];

export interface OpenDatasetOptions {
  name: DatasetName;
  split: 'train' | 'val';
  /** Directory of the data (default for fashion-mnist: Debian's /usr/share/datasets/fashion-mnist). */
  dataPath?: string;
  /** Synthetic only. */
  synthetic?: { length: number; numClasses: number; height: number; width: number; channels: 1 | 3; seed: number };
}

export async function openDataset(o: OpenDatasetOptions): Promise<ImageDataset> {
  switch (o.name) {
    case 'fashion-mnist':
    case 'mnist':
      if (o.name === 'mnist' && !o.dataPath) {
        throw new DatasetError('MDISTILL_DATASET_MISSING', 'mnist needs --data-path (a directory with train-images-idx3-ubyte[.gz] and the other IDX files)');
      }
      return idxDataset({ dir: o.dataPath ?? FASHION_MNIST_DIR, split: o.split, variant: o.name });
    case 'cifar10':
    case 'cifar100':
      if (!o.dataPath) throw new DatasetError('MDISTILL_DATASET_MISSING', `${o.name} needs --data-path (the directory with the binary batches)`);
      return cifarDataset({ dir: o.dataPath, split: o.split, variant: o.name });
    case 'imagefolder':
      if (!o.dataPath) {
        throw new DatasetError('MDISTILL_DATASET_MISSING',
          'imagefolder needs --data-path: a directory with train/<class>/*.jpg and val/<class>/*.jpg');
      }
      return imageFolderDataset({ root: o.dataPath, split: o.split });
    case 'synthetic': {
      const s = o.synthetic ?? { length: 1000, numClasses: 10, height: 32, width: 32, channels: 3, seed: 0 };
      // The val split is a disjoint draw: another seed.
      return syntheticDataset({ ...s, seed: o.split === 'train' ? s.seed : s.seed + 1_000_003 });
    }
    default: {
      const name: never = o.name;
      throw new DatasetError('MDISTILL_DATASET_MISSING', `unknown data set '${String(name)}'; known: ${DATASET_NAMES.join(', ')}`);
    }
  }
}
