import { describe, expect, it } from 'vitest';
import { type RgbImage, affine, autoContrast, enhanceBrightness, enhanceColor, equalize, invert, posterize, rotate, solarize } from '../../src/data/imageOps.js';
import { RAND_INCREASING_OPS, RAND_ORIGINAL_OPS, applyOp, parseRandAugment, randAugment } from '../../src/data/randAugment.js';
import { randomResizedCropBox } from '../../src/data/randomResizedCrop.js';
import { KeyedRng } from '../../src/data/rng.js';
import { IMAGENET_MEAN } from '../../src/data/normalize.js';
import { checksum } from './helpers.js';

function testImage(w = 24, h = 20, seed = 1): RgbImage {
  const r = new KeyedRng([seed]);
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) {
    data[(y * w + x) * 3 + c] = Math.min(255, 30 + x * 6 + y * 3 * c + r.int(0, 40));
  }
  return { data, width: w, height: h };
}

const cfg = parseRandAugment('rand-m9-mstd0.5-inc1', IMAGENET_MEAN);

describe('RandAugment (timm rand-m9-mstd0.5-inc1)', () => {
  it('parses the config string like timm', () => {
    expect(cfg).toMatchObject({ numOps: 2, magnitude: 9, magnitudeStd: 0.5, magnitudeMax: 10, prob: 0.5, fill: [124, 116, 104] });
    expect(cfg.ops).toBe(RAND_INCREASING_OPS);
    expect(parseRandAugment('rand-m9-mstd0.5', IMAGENET_MEAN).ops).toBe(RAND_ORIGINAL_OPS);
    expect(() => parseRandAugment('v0', IMAGENET_MEAN)).toThrow(/only RandAugment/);
    expect(() => parseRandAugment('rand-q9-inc1', IMAGENET_MEAN)).toThrow(/unknown section 'q9'/);
  });

  it('draws at most 2 ops with p 0.5 each, magnitudes clipped to [0, 10] around 9', () => {
    let applied = 0;
    const levels: number[] = [];
    const seen = new Set<string>();
    for (let k = 0; k < 300; k++) {
      const r = randAugment(testImage(8, 8), cfg, new KeyedRng([k]));
      expect(r.applied.length).toBeLessThanOrEqual(2);
      expect(r.image.data.length).toBe(8 * 8 * 3);
      applied += r.applied.length;
      for (const a of r.applied) {
        expect(RAND_INCREASING_OPS).toContain(a.op);
        seen.add(a.op);
        levels.push(a.level);
      }
    }
    expect(applied / 600).toBeGreaterThan(0.4);
    expect(applied / 600).toBeLessThan(0.6);
    expect(seen.size).toBe(15);
    expect(Math.min(...levels)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...levels)).toBeLessThanOrEqual(10);
    const mean = levels.reduce((a, b) => a + b, 0) / levels.length;
    expect(mean).toBeGreaterThan(8.6);
    expect(mean).toBeLessThan(9.2);
  });

  it('ops are identities at their neutral settings and hit their extremes', () => {
    const img = testImage();
    expect(invert(invert(img)).data).toEqual(img.data);
    expect(solarize(img, 256).data).toEqual(img.data);
    expect(enhanceBrightness(img, 1).data).toEqual(img.data);
    expect(rotate(img, 0, [0, 0, 0]).data).toEqual(img.data);
    expect(affine(img, [1, 0, 0, 0, 1, 0], [0, 0, 0]).data).toEqual(img.data);
    const flat = { ...img, data: new Uint8Array(img.data.length).fill(77) };
    expect(equalize(flat).data).toEqual(flat.data);
    const ac = autoContrast(img).data;
    for (let c = 0; c < 3; c++) {
      const ch = Array.from(ac).filter((_, i) => i % 3 === c);
      expect(Math.min(...ch)).toBe(0);
      // PIL's float LUT (int(i * scale + offset)) can land on 254 for the top level, as here.
      expect(Math.max(...ch)).toBeGreaterThanOrEqual(254);
    }
    // Level 10 translate moves by 45% of the width: that many columns become the fill colour.
    const moved = applyOp(img, 'TranslateXRel', 10, cfg, new KeyedRng([3]));
    let fillCols = 0;
    for (let x = 0; x < img.width; x++) if (moved.data[x * 3] === 124 && moved.data[x * 3 + 1] === 116) fillCols++;
    expect(fillCols).toBe(Math.round(0.45 * 24));
    // Posterize at level 10 keeps no bits.
    expect(applyOp(img, 'PosterizeIncreasing', 10, cfg, new KeyedRng([1])).data.every((v) => v === 0)).toBe(true);
  });

  it('golden: every op at magnitude 9 on a fixed image', () => {
    const img = testImage();
    const sums = RAND_INCREASING_OPS.map((op) => checksum(applyOp(img, op, 9, cfg, new KeyedRng([7])).data));
    expect(sums).toEqual(GOLDEN_OPS);
  });
});

describe('RandomResizedCrop parameters', () => {
  it('stay inside the image with scale and ratio in range, or fall back to a central crop', () => {
    let fallback = 0;
    for (let k = 0; k < 500; k++) {
      const b = randomResizedCropBox(300, 400, [0.08, 1], [3 / 4, 4 / 3], new KeyedRng([k]));
      expect(b.top).toBeGreaterThanOrEqual(0);
      expect(b.left).toBeGreaterThanOrEqual(0);
      expect(b.top + b.height).toBeLessThanOrEqual(300);
      expect(b.left + b.width).toBeLessThanOrEqual(400);
      const area = (b.width * b.height) / 120000;
      if (b.width === 400 && b.height === 300) fallback++;
      else {
        expect(area).toBeGreaterThan(0.07);
        expect(b.width / b.height).toBeGreaterThan(0.74);
        expect(b.width / b.height).toBeLessThan(1.35);
      }
    }
    expect(fallback).toBeLessThan(100);
    // A 1×100 strip never fits the ratio: the fallback is the central crop at the nearest ratio.
    expect(randomResizedCropBox(1, 100, [0.08, 1], [3 / 4, 4 / 3], new KeyedRng([1]))).toEqual({ top: 0, left: 49, height: 1, width: 1 });
    expect(randomResizedCropBox(375, 500, [0.08, 1], [3 / 4, 4 / 3], new KeyedRng([5]))).toEqual(GOLDEN_BOX);
  });
});

const GOLDEN_OPS = [
  '168c653d', '90e1ea09', 'fefffb32', '248ad66d', 'ca644145', 'fefffb32', '4a8008d8', '01d72838', '705bceb9', 'a5459ce8',
  '6156de33', 'abbc3429', 'c5fb724f', '7b771a9f', '64ef67de',
];
const GOLDEN_BOX = { top: 4, left: 8, height: 371, width: 488 };

describe('ColorJitter (only with RandAugment off)', () => {
  it('changes the image deterministically (golden)', async () => {
    const { colorJitter } = await import('../../src/data/colorJitter.js');
    const img = testImage();
    const a = colorJitter({ ...img, data: new Uint8Array(img.data) }, 0.3, new KeyedRng([4]));
    const b = colorJitter({ ...img, data: new Uint8Array(img.data) }, 0.3, new KeyedRng([4]));
    expect(a.data).toEqual(b.data);
    expect(a.data).not.toEqual(img.data);
    expect(checksum(a.data)).toBe(GOLDEN_JITTER);
  });
});

const GOLDEN_JITTER = 'bfc336f8';

describe("RandAugment without '-inc1' (timm's original op set)", () => {
  const original = parseRandAugment('rand-m9-mstd0.5', IMAGENET_MEAN);
  it('draws only from the original set and maps levels like timm (weaker as the level rises)', () => {
    const seen = new Set<string>();
    for (let k = 0; k < 300; k++) {
      for (const a of randAugment(testImage(8, 8), original, new KeyedRng([k])).applied) {
        expect(RAND_ORIGINAL_OPS).toContain(a.op);
        seen.add(a.op);
      }
    }
    expect(seen.size).toBe(15);
    const img = testImage();
    // level 10: 4 bits kept, threshold 256 (no-op), enhance factor 1.9; level 0: 0 bits, threshold 0, factor 0.1
    expect(applyOp(img, 'Posterize', 10, original, new KeyedRng([1])).data).toEqual(posterize(img, 4).data);
    expect(applyOp(img, 'Posterize', 0, original, new KeyedRng([1])).data.every((v) => v === 0)).toBe(true);
    expect(applyOp(img, 'Solarize', 10, original, new KeyedRng([1])).data).toEqual(img.data);
    expect(applyOp(img, 'Solarize', 0, original, new KeyedRng([1])).data).toEqual(invert(img).data);
    expect(applyOp(img, 'Brightness', 10, original, new KeyedRng([1])).data).toEqual(enhanceBrightness(img, 1.9).data);
    expect(applyOp(img, 'Color', 0, original, new KeyedRng([1])).data).toEqual(enhanceColor(img, 0.1).data);
  });
});

