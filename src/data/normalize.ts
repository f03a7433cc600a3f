// ToTensor + Normalize: 8-bit HWC pixels to float CHW, (x/255 - mean) / std, with the channel count adapted
// to the model's (grey replicated to RGB, RGB to grey by ITU-R 601-2 luma like PIL's convert('L')).

export const IMAGENET_MEAN = [0.485, 0.456, 0.406];
export const IMAGENET_STD = [0.229, 0.224, 0.225];

/** Per-dataset statistics of the training split (the usual published values). */
export const DATASET_STATS: Record<string, { mean: number[]; std: number[] }> = {
  'fashion-mnist': { mean: [0.286], std: [0.353] },
  mnist: { mean: [0.1307], std: [0.3081] },
  cifar10: { mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616] },
  cifar100: { mean: [0.5071, 0.4865, 0.4409], std: [0.2673, 0.2564, 0.2762] },
};

/** Mean/std with one entry per output channel (a grey statistic is replicated for RGB models). */
export function channelStats(stats: { mean: number[]; std: number[] }, channels: number): { mean: number[]; std: number[] } {
  const fit = (v: number[]): number[] => {
    if (v.length === channels) return v;
    if (v.length === 1) return Array(channels).fill(v[0]);
    if (channels === 1) return [v.reduce((a, b) => a + b, 0) / v.length];
    throw new RangeError(`normalization has ${v.length} channels, the model has ${channels}`);
  };
  return { mean: fit(stats.mean), std: fit(stats.std) };
}

/** PIL's L = R * 299/1000 + G * 587/1000 + B * 114/1000, in its fixed-point form. */
export function luma(r: number, g: number, b: number): number {
  return (r * 19595 + g * 38470 + b * 7471 + 0x8000) >>> 16;
}

/**
 * Writes an h×w image (HWC, srcChannels 1 or 3) into dst[offset …] as outChannels×h×w floats, normalized.
 */
export function writeNormalizedChw(
  src: Uint8Array, h: number, w: number, srcChannels: number,
  dst: Float32Array, offset: number, outChannels: number, mean: readonly number[], std: readonly number[],
): void {
  const plane = h * w;
  for (let c = 0; c < outChannels; c++) {
    const scale = 1 / (255 * std[c]);
    const shift = mean[c] / std[c];
    const o = offset + c * plane;
    if (srcChannels === outChannels) {
      for (let p = 0; p < plane; p++) dst[o + p] = src[p * srcChannels + c] * scale - shift;
    } else if (srcChannels === 1) {
      for (let p = 0; p < plane; p++) dst[o + p] = src[p] * scale - shift;
    } else {
      for (let p = 0; p < plane; p++) dst[o + p] = luma(src[3 * p], src[3 * p + 1], src[3 * p + 2]) * scale - shift;
    }
  }
}
