// torchvision's RandomResizedCrop.get_params (timm's RandomResizedCropAndInterpolation draws the same):
// 10 attempts at a box of scale × area and log-uniform aspect ratio, then a central fallback crop.
import { type KeyedRng, roundHalfEven } from './rng.js';

export interface CropBox {
  top: number;
  left: number;
  height: number;
  width: number;
}

export function randomResizedCropBox(
  height: number, width: number, scale: readonly [number, number], ratio: readonly [number, number], rng: KeyedRng,
): CropBox {
  const area = height * width;
  const logLo = Math.log(ratio[0]);
  const logHi = Math.log(ratio[1]);
  for (let attempt = 0; attempt < 10; attempt++) {
    const targetArea = area * rng.uniform(scale[0], scale[1]);
    const aspect = Math.exp(rng.uniform(logLo, logHi));
    const w = roundHalfEven(Math.sqrt(targetArea * aspect));
    const h = roundHalfEven(Math.sqrt(targetArea / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      return { top: rng.int(0, height - h), left: rng.int(0, width - w), height: h, width: w };
    }
  }
  const inRatio = width / height;
  let w: number;
  let h: number;
  if (inRatio < Math.min(ratio[0], ratio[1])) {
    w = width;
    h = roundHalfEven(w / Math.min(ratio[0], ratio[1]));
  } else if (inRatio > Math.max(ratio[0], ratio[1])) {
    h = height;
    w = roundHalfEven(h * Math.max(ratio[0], ratio[1]));
  } else {
    w = width;
    h = height;
  }
  return { top: Math.floor((height - h) / 2), left: Math.floor((width - w) / 2), height: h, width: w };
}

/** Eval geometry: resize the shorter side to floor(size / cropRatio) (torchvision Resize(int)), then center crop. */
export function evalResizeAndCrop(height: number, width: number, size: number, cropRatio: number): {
  resizeHeight: number; resizeWidth: number; crop: CropBox;
} {
  const short = Math.floor(size / cropRatio);
  let rh: number;
  let rw: number;
  if (width <= height) {
    rw = short;
    rh = Math.floor((short * height) / width);
  } else {
    rh = short;
    rw = Math.floor((short * width) / height);
  }
  const crop = { top: roundHalfEven((rh - size) / 2), left: roundHalfEven((rw - size) / 2), height: size, width: size };
  return { resizeHeight: rh, resizeWidth: rw, crop };
}
