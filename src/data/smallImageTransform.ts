// The small-image recipe (28/32 px: MNIST, CIFAR): RandomCrop(size, padding=4) with zero fill, then
// RandomHorizontalFlip(0.5), drawn in torchvision's order (crop offsets first, then the flip).
import type { KeyedRng } from './rng.js';

/** Returns a new size×size HWC image: the crop of src padded by `padding` zeros on each side, maybe flipped. */
export function padCropFlip(
  src: Uint8Array, h: number, w: number, c: number, size: number, padding: number, flipProb: number, rng: KeyedRng,
): Uint8Array {
  const ph = h + 2 * padding;
  const pw = w + 2 * padding;
  if (size > ph || size > pw) throw new RangeError(`crop ${size} is larger than the padded image ${ph}×${pw}`);
  const top = rng.int(0, ph - size);
  const left = rng.int(0, pw - size);
  const flip = rng.float() < flipProb;
  const out = new Uint8Array(size * size * c);
  for (let y = 0; y < size; y++) {
    const sy = top + y - padding;
    if (sy < 0 || sy >= h) continue;
    for (let x = 0; x < size; x++) {
      const sx = left + (flip ? size - 1 - x : x) - padding;
      if (sx < 0 || sx >= w) continue;
      const s = (sy * w + sx) * c;
      const d = (y * size + x) * c;
      for (let k = 0; k < c; k++) out[d + k] = src[s + k];
    }
  }
  return out;
}

/** Center crop (eval) of a small image to size×size; identity when the sizes match. */
export function centerCropSmall(src: Uint8Array, h: number, w: number, c: number, size: number): Uint8Array {
  if (h === size && w === size) return src;
  if (size > h || size > w) throw new RangeError(`center crop ${size} is larger than the ${h}×${w} image`);
  const top = Math.round((h - size) / 2);
  const left = Math.round((w - size) / 2);
  const out = new Uint8Array(size * size * c);
  for (let y = 0; y < size; y++) out.set(src.subarray(((top + y) * w + left) * c, ((top + y) * w + left + size) * c), y * size * c);
  return out;
}
