// timm's RandAugment ('rand-m9-mstd0.5-inc1' in DeiT): n ops drawn with replacement from the 'increasing' set
// (or, without '-inc1', timm's original set, whose posterize/solarize/enhance ops weaken as the level rises), each applied with probability 0.5 at a magnitude drawn from N(m, mstd) clipped to [0, 10]; signed ops get a
// random sign. Level-to-argument mappings follow timm's auto_augment.py.
import {
  type RgbImage, affine, autoContrast, enhanceBrightness, enhanceColor, enhanceContrast, enhanceSharpness, equalize,
  invert, posterize, rotate, solarize, solarizeAdd,
} from './imageOps.js';
import type { KeyedRng } from './rng.js';

export const RAND_INCREASING_OPS = [
  'AutoContrast', 'Equalize', 'Invert', 'Rotate', 'PosterizeIncreasing', 'SolarizeIncreasing', 'SolarizeAdd',
  'ColorIncreasing', 'ContrastIncreasing', 'BrightnessIncreasing', 'SharpnessIncreasing', 'ShearX', 'ShearY',
  'TranslateXRel', 'TranslateYRel',
] as const;
/** timm's _RAND_TRANSFORMS: the op set without '-inc1'. */
export const RAND_ORIGINAL_OPS = [
  'AutoContrast', 'Equalize', 'Invert', 'Rotate', 'Posterize', 'Solarize', 'SolarizeAdd',
  'Color', 'Contrast', 'Brightness', 'Sharpness', 'ShearX', 'ShearY', 'TranslateXRel', 'TranslateYRel',
] as const;
export type RandAugmentOp = (typeof RAND_INCREASING_OPS)[number] | (typeof RAND_ORIGINAL_OPS)[number];

export interface RandAugmentConfig {
  numOps: number;
  magnitude: number;
  magnitudeStd: number;
  magnitudeMax: number;
  prob: number;
  /** Fill colour of the geometric ops: the dataset mean in 0..255 (timm's img_mean). */
  fill: [number, number, number];
  translatePct: number;
  /** The op set: '-inc1' picks the increasing ops (DeiT), otherwise timm's original ones. */
  ops: readonly RandAugmentOp[];
}

/** Parses timm's config string, e.g. 'rand-m9-mstd0.5-inc1'. */
export function parseRandAugment(spec: string, mean: readonly number[]): RandAugmentConfig {
  const parts = spec.split('-');
  if (parts[0] !== 'rand') throw new RangeError(`auto-augment '${spec}': only RandAugment ('rand-…') is supported, e.g. 'rand-m9-mstd0.5-inc1'`);
  const cfg: RandAugmentConfig = {
    numOps: 2, magnitude: 10, magnitudeStd: 0, magnitudeMax: 10, prob: 0.5, translatePct: 0.45, ops: RAND_ORIGINAL_OPS,
    fill: [0, 1, 2].map((c) => Math.min(255, Math.round(255 * (mean[c] ?? mean[0])))) as [number, number, number],
  };
  for (const p of parts.slice(1)) {
    const m = /^([a-z]+)([0-9.]+|inf)$/.exec(p);
    if (!m) throw new RangeError(`auto-augment '${spec}': cannot read section '${p}'`);
    const v = m[2] === 'inf' ? Infinity : Number(m[2]);
    switch (m[1]) {
      case 'm': cfg.magnitude = v; break;
      case 'n': cfg.numOps = v; break;
      case 'mstd': cfg.magnitudeStd = v; break;
      case 'mmax': cfg.magnitudeMax = v; break;
      case 'p': cfg.prob = v; break;
      case 'inc': cfg.ops = v !== 0 ? RAND_INCREASING_OPS : RAND_ORIGINAL_OPS; break;
      default: throw new RangeError(`auto-augment '${spec}': unknown section '${p}' (known: m, n, mstd, mmax, p, inc)`);
    }
  }
  return cfg;
}

function negate(v: number, rng: KeyedRng): number {
  return rng.float() > 0.5 ? -v : v;
}

/** Applies one op at magnitude `level` (0..10); draws the sign for signed ops. Exported for tests. */
export function applyOp(img: RgbImage, op: RandAugmentOp, level: number, cfg: RandAugmentConfig, rng: KeyedRng): RgbImage {
  const fill = cfg.fill;
  switch (op) {
    case 'AutoContrast': return autoContrast(img);
    case 'Equalize': return equalize(img);
    case 'Invert': return invert(img);
    case 'Rotate': return rotate(img, negate((level / 10) * 30, rng), fill);
    case 'PosterizeIncreasing': {
      const bits = 4 - Math.trunc((level / 10) * 4);
      return bits >= 8 ? img : posterize(img, bits);
    }
    case 'SolarizeIncreasing': return solarize(img, 256 - Math.trunc((level / 10) * 256));
    // timm's original set: posterize keeps 0..4 bits and solarize's threshold rises with the level (weaker ops).
    case 'Posterize': return posterize(img, Math.trunc((level / 10) * 4));
    case 'Solarize': return solarize(img, Math.trunc((level / 10) * 256));
    case 'Color': return enhanceColor(img, (level / 10) * 1.8 + 0.1);
    case 'Contrast': return enhanceContrast(img, (level / 10) * 1.8 + 0.1);
    case 'Brightness': return enhanceBrightness(img, (level / 10) * 1.8 + 0.1);
    case 'Sharpness': return enhanceSharpness(img, (level / 10) * 1.8 + 0.1);
    case 'SolarizeAdd': return solarizeAdd(img, Math.trunc((level / 10) * 110));
    case 'ColorIncreasing': return enhanceColor(img, 1 + negate((level / 10) * 0.9, rng));
    case 'ContrastIncreasing': return enhanceContrast(img, 1 + negate((level / 10) * 0.9, rng));
    case 'BrightnessIncreasing': return enhanceBrightness(img, 1 + negate((level / 10) * 0.9, rng));
    case 'SharpnessIncreasing': return enhanceSharpness(img, 1 + negate((level / 10) * 0.9, rng));
    case 'ShearX': return affine(img, [1, negate((level / 10) * 0.3, rng), 0, 0, 1, 0], fill);
    case 'ShearY': return affine(img, [1, 0, 0, negate((level / 10) * 0.3, rng), 1, 0], fill);
    case 'TranslateXRel': return affine(img, [1, 0, negate((level / 10) * cfg.translatePct, rng) * img.width, 0, 1, 0], fill);
    case 'TranslateYRel': return affine(img, [1, 0, 0, 0, 1, negate((level / 10) * cfg.translatePct, rng) * img.height], fill);
  }
}

/** Returns the augmented image and the ops that ran (with their magnitudes), for tests and debugging. */
export function randAugment(img: RgbImage, cfg: RandAugmentConfig, rng: KeyedRng): { image: RgbImage; applied: { op: RandAugmentOp; level: number }[] } {
  const applied: { op: RandAugmentOp; level: number }[] = [];
  const ops: RandAugmentOp[] = [];
  for (let i = 0; i < cfg.numOps; i++) ops.push(cfg.ops[Math.floor(rng.float() * cfg.ops.length)]);
  for (const op of ops) {
    if (cfg.prob < 1 && rng.float() > cfg.prob) continue;
    let level = cfg.magnitude;
    if (cfg.magnitudeStd === Infinity) level = rng.uniform(0, level);
    else if (cfg.magnitudeStd > 0) level = rng.gauss(level, cfg.magnitudeStd);
    level = Math.max(0, Math.min(level, cfg.magnitudeMax));
    img = applyOp(img, op, level, cfg, rng);
    applied.push({ op, level });
  }
  return { image: img, applied };
}
