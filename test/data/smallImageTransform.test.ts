import { describe, expect, it } from 'vitest';
import { memoryImage } from '../../src/data/dataset.js';
import { IMAGENET_MEAN, IMAGENET_STD, writeNormalizedChw } from '../../src/data/normalize.js';
import { randomErase } from '../../src/data/randomErasing.js';
import { KeyedRng } from '../../src/data/rng.js';
import { SampleTransform } from '../../src/data/sampleTransform.js';
import { padCropFlip } from '../../src/data/smallImageTransform.js';
import { syntheticDataset } from '../../src/data/syntheticDataset.js';
import { smallEvalSpec, smallTrainSpec } from '../../src/data/transformSpec.js';
import { checksum, round4 } from './helpers.js';

describe('small-image transforms', () => {
  it('pad-crop-flip keeps the image inside the padded frame', () => {
    const src = Uint8Array.from({ length: 4 * 4 }, (_, i) => i + 1);
    for (let k = 0; k < 50; k++) {
      const out = padCropFlip(src, 4, 4, 1, 4, 2, 0.5, new KeyedRng([k]));
      const nonzero = Array.from(out).filter((v) => v > 0);
      for (const v of nonzero) expect(src).toContain(v);
      expect(new Set(nonzero).size).toBe(nonzero.length);
    }
    const same = padCropFlip(src, 4, 4, 1, 4, 0, 0, new KeyedRng([1]));
    expect(same).toEqual(src);
  });

  it('normalizes, replicating grey to RGB and taking luma of RGB', () => {
    const grey = Uint8Array.from([0, 255]);
    const out = new Float32Array(6);
    writeNormalizedChw(grey, 1, 2, 1, out, 0, 3, IMAGENET_MEAN, IMAGENET_STD);
    expect(out[0]).toBeCloseTo(-0.485 / 0.229, 5);
    expect(out[5]).toBeCloseTo((1 - 0.406) / 0.225, 5);
    const rgb = Uint8Array.from([255, 0, 0]);
    const one = new Float32Array(1);
    writeNormalizedChw(rgb, 1, 1, 3, one, 0, 1, [0], [1]);
    expect(one[0]).toBeCloseTo(76 / 255, 6);
  });

  it('random erasing fills one box of the allowed area with noise', () => {
    let erased = 0;
    for (let k = 0; k < 100; k++) {
      const x = new Float32Array(3 * 20 * 20).fill(7);
      const box = randomErase(x, 0, 3, 20, 20, { probability: 0.5 }, new KeyedRng([k]));
      const changed = x.filter((v) => v !== 7).length;
      if (!box) {
        expect(changed).toBe(0);
        continue;
      }
      erased++;
      expect(changed).toBe(3 * box.h * box.w);
      expect(box.h * box.w).toBeGreaterThanOrEqual(Math.floor(0.02 * 400 * 0.5));
      expect(box.h * box.w).toBeLessThanOrEqual(Math.ceil(400 / 3 * 1.4));
    }
    expect(erased).toBeGreaterThan(30);
    expect(erased).toBeLessThan(70);
  });

  it('golden: fixed seed, fixed tensors (train and eval, 1 and 3 channels)', async () => {
    const ds = syntheticDataset({ length: 4, numClasses: 2, height: 8, width: 8, channels: 1, seed: 3 });
    expect(checksum(memoryImage(ds, 2))).toBe(GOLDEN.image);
    const train = new SampleTransform(ds, smallTrainSpec(8, 3, [0.5], [0.25], { padding: 2, reprob: 0.5 }), 11);
    const evalT = new SampleTransform(ds, smallEvalSpec(8, 1, [0.5], [0.25]), 11);
    const a = new Float32Array(3 * 64);
    await train.write(2, 1, 0, a, 0);
    const b = new Float32Array(3 * 64);
    await train.write(2, 1, 1, b, 0);
    const e = new Float32Array(64);
    await evalT.write(2, 0, 0, e, 0);
    expect([checksum(a), checksum(b), checksum(e)]).toEqual(GOLDEN.tensors);
    expect(round4(a.subarray(0, 4))).toEqual(GOLDEN.first);
  });
});

const GOLDEN = { image: '0827afae', tensors: ['a60f5c52', '51251707', '75afcc12'], first: [1.9059, 2, 2, 2] };
