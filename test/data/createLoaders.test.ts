import { mkdirSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { createEvalLoader, createLoaders, type DataConfig } from '../../src/data/createLoaders.js';
import { FASHION_MNIST_DIR } from '../../src/data/idxDataset.js';
import { installedPath, requireTool } from '../helpers/requireTool.js';
import { tmpDir } from './helpers.js';

const t = tmpDir('evalonly');
afterAll(t.cleanup);

describe('createLoaders', () => {
  it('builds DeiT-recipe train and eval loaders for a synthetic 32 px set upscaled to 48', async () => {
    const L = await createLoaders({
      dataset: 'synthetic', synthetic: { length: 40, numClasses: 4, height: 32, width: 32, channels: 3, seed: 2 },
      inputSize: 48, batchSize: 8, mixup: 0.8, cutmix: 1, smoothing: 0.1, aa: 'rand-m9-mstd0.5-inc1', reprob: 0.25,
      repeatedAug: true, seed: 1, workers: 0,
    });
    try {
      expect(L.transforms.train).toMatchObject({ kind: 'deit', size: 48, autoAugment: 'rand-m9-mstd0.5-inc1', reprob: 0.25 });
      expect(L.numClasses).toBe(4);
      expect(L.train.batchesPerEpoch).toBe(5);
      for await (const b of L.train.epoch(0)) {
        expect(b.shape).toEqual([8, 3, 48, 48]);
        expect(b.targets!.length).toBe(32);
        b.release();
        break;
      }
      expect(L.eval.batchesPerEpoch).toBe(4);
      let seen = 0;
      for await (const b of L.eval.epoch(0)) {
        seen += b.shape[0];
        expect(b.targets).toBeUndefined();
        b.release();
      }
      expect(seen).toBe(40);
    } finally {
      await L.close();
    }
  });

  it('Fashion-MNIST at 28 px uses the small-image recipe and its own statistics', async () => {
    requireTool(installedPath('the Fashion-MNIST data set', FASHION_MNIST_DIR, 'dataset-fashion-mnist'));
    const L = await createLoaders({
      dataset: 'fashion-mnist', inputSize: 28, channels: 1, batchSize: 64, mixup: 0, cutmix: 0, smoothing: 0, aa: 'none',
      reprob: 0, repeatedAug: false, seed: 0, workers: 0, rank: 1, worldSize: 2,
    });
    try {
      expect(L.transforms.train).toMatchObject({ kind: 'small', padding: 4, mean: [0.286], std: [0.353] });
      expect(L.classes[0]).toBe('T-shirt/top');
      expect(L.train.samplesPerEpoch).toBe(30000);
      expect(L.eval.samplesPerEpoch).toBe(10000);
      for await (const b of L.train.epoch(0)) {
        expect(b.shape).toEqual([64, 1, 28, 28]);
        expect(b.targets).toBeUndefined();
        b.release();
        break;
      }
    } finally {
      await L.close();
    }
  });

  it('says where it looked when the data set is missing', async () => {
    await expect(createLoaders({
      dataset: 'imagefolder', dataPath: '/nonexistent/imagenet', inputSize: 224, batchSize: 8, mixup: 0, cutmix: 0,
      smoothing: 0, aa: '', reprob: 0, repeatedAug: false, seed: 0, workers: 0,
    })).rejects.toThrow(/\/nonexistent\/imagenet\/train is not a directory.*--data-path/s);
  });

  it('opens only the val split for evaluation, so a folder without train/ can be evaluated', async () => {
    for (const [k, cls] of ['ant', 'bee'].entries()) {
      mkdirSync(path.join(t.dir, 'val', cls), { recursive: true });
      await sharp({ create: { width: 40, height: 30, channels: 3, background: { r: 80 * k, g: 20, b: 200 } } })
        .png().toFile(path.join(t.dir, 'val', cls, 'x.png'));
    }
    const c: DataConfig = {
      dataset: 'imagefolder', dataPath: t.dir, inputSize: 32, batchSize: 2, mixup: 0, cutmix: 0, smoothing: 0, aa: '',
      reprob: 0, repeatedAug: false, seed: 0, workers: 0,
    };
    await expect(createLoaders(c)).rejects.toThrow(/train is not a directory/);
    const L = await createEvalLoader(c);
    try {
      expect(L.classes).toEqual(['ant', 'bee']);
      expect(L.transform).toMatchObject({ kind: 'deit', size: 32 });
      const labels: number[] = [];
      for await (const b of L.eval.epoch(0)) {
        expect(b.shape).toEqual([2, 3, 32, 32]);
        labels.push(...b.labels!);
        b.release();
      }
      expect(labels).toEqual([0, 1]);
    } finally {
      await L.close();
    }
  });
});
