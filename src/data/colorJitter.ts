// torchvision ColorJitter(brightness=s, contrast=s, saturation=s) (hue 0), used only when RandAugment is off:
// each factor is uniform in [max(0, 1 - s), 1 + s] and the ops run in a random order.
import { type RgbImage, enhanceBrightness, enhanceColor, enhanceContrast } from './imageOps.js';
import type { KeyedRng } from './rng.js';

export function colorJitter(img: RgbImage, strength: number, rng: KeyedRng): RgbImage {
  const order = [0, 1, 2];
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rng.float() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const lo = Math.max(0, 1 - strength);
  const factors = [rng.uniform(lo, 1 + strength), rng.uniform(lo, 1 + strength), rng.uniform(lo, 1 + strength)];
  for (const k of order) {
    if (k === 0) img = enhanceBrightness(img, factors[0]);
    else if (k === 1) img = enhanceContrast(img, factors[1]);
    else img = enhanceColor(img, factors[2]);
  }
  return img;
}
