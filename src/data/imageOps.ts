// PIL's image operations that RandAugment and ColorJitter use, on 8-bit RGB HWC images, with PIL's arithmetic
// (truncating blends, fixed-point luma, the SMOOTH kernel with copied borders, bicubic affine with a fill colour).
import { luma } from './normalize.js';

export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

function mapLut(img: RgbImage, luts: [Uint8Array, Uint8Array, Uint8Array]): RgbImage {
  const src = img.data;
  const out = new Uint8Array(src.length);
  for (let p = 0; p < src.length; p += 3) {
    out[p] = luts[0][src[p]];
    out[p + 1] = luts[1][src[p + 1]];
    out[p + 2] = luts[2][src[p + 2]];
  }
  return { ...img, data: out };
}

function sameLut(f: (v: number) => number): [Uint8Array, Uint8Array, Uint8Array] {
  const lut = new Uint8Array(256);
  for (let i = 0; i < 256; i++) lut[i] = f(i);
  return [lut, lut, lut];
}

function histograms(img: RgbImage): [Uint32Array, Uint32Array, Uint32Array] {
  const h: [Uint32Array, Uint32Array, Uint32Array] = [new Uint32Array(256), new Uint32Array(256), new Uint32Array(256)];
  const d = img.data;
  for (let p = 0; p < d.length; p += 3) {
    h[0][d[p]]++;
    h[1][d[p + 1]]++;
    h[2][d[p + 2]]++;
  }
  return h;
}

export function invert(img: RgbImage): RgbImage {
  return mapLut(img, sameLut((v) => 255 - v));
}

/** ImageOps.posterize: keep the top `bits` bits. */
export function posterize(img: RgbImage, bits: number): RgbImage {
  const mask = ~(2 ** (8 - bits) - 1) & 0xff;
  return mapLut(img, sameLut((v) => v & mask));
}

export function solarize(img: RgbImage, threshold: number): RgbImage {
  return mapLut(img, sameLut((v) => (v < threshold ? v : 255 - v)));
}

/** timm's solarize_add: add to the pixels below the threshold, saturating. */
export function solarizeAdd(img: RgbImage, add: number, threshold = 128): RgbImage {
  return mapLut(img, sameLut((v) => (v < threshold ? Math.min(255, v + add) : v)));
}

/** ImageOps.autocontrast(cutoff=0), per channel. */
export function autoContrast(img: RgbImage): RgbImage {
  const hs = histograms(img);
  const luts = hs.map((h) => {
    const lut = new Uint8Array(256);
    let lo = 0;
    while (lo < 256 && h[lo] === 0) lo++;
    let hi = 255;
    while (hi >= 0 && h[hi] === 0) hi--;
    if (hi <= lo) {
      for (let i = 0; i < 256; i++) lut[i] = i;
    } else {
      const scale = 255 / (hi - lo);
      const offset = -lo * scale;
      for (let i = 0; i < 256; i++) {
        const v = Math.trunc(i * scale + offset);
        lut[i] = v < 0 ? 0 : v > 255 ? 255 : v;
      }
    }
    return lut;
  }) as [Uint8Array, Uint8Array, Uint8Array];
  return mapLut(img, luts);
}

/** ImageOps.equalize, per channel. */
export function equalize(img: RgbImage): RgbImage {
  const hs = histograms(img);
  const luts = hs.map((h) => {
    const lut = new Uint8Array(256);
    const nonzero: number[] = [];
    for (let i = 0; i < 256; i++) if (h[i] > 0) nonzero.push(h[i]);
    const total = nonzero.reduce((a, b) => a + b, 0);
    const step = nonzero.length <= 1 ? 0 : Math.floor((total - nonzero[nonzero.length - 1]) / 255);
    if (step === 0) {
      for (let i = 0; i < 256; i++) lut[i] = i;
    } else {
      let n = Math.floor(step / 2);
      for (let i = 0; i < 256; i++) {
        lut[i] = Math.min(255, Math.floor(n / step));
        n += h[i];
      }
    }
    return lut;
  }) as [Uint8Array, Uint8Array, Uint8Array];
  return mapLut(img, luts);
}

/** Image.blend(degenerate, img, factor) as ImageEnhance does it: truncating, clipped to 0..255. */
function blend(degenerate: Uint8Array | number, img: RgbImage, factor: number): RgbImage {
  const src = img.data;
  const out = new Uint8Array(src.length);
  const solid = typeof degenerate === 'number';
  for (let p = 0; p < src.length; p++) {
    const d = solid ? degenerate : degenerate[p];
    const t = d + factor * (src[p] - d);
    out[p] = t <= 0 ? 0 : t >= 255 ? 255 : Math.trunc(t);
  }
  return { ...img, data: out };
}

function greyRgb(img: RgbImage): Uint8Array {
  const d = img.data;
  const out = new Uint8Array(d.length);
  for (let p = 0; p < d.length; p += 3) {
    const l = luma(d[p], d[p + 1], d[p + 2]);
    out[p] = l;
    out[p + 1] = l;
    out[p + 2] = l;
  }
  return out;
}

/** ImageEnhance.Color (saturation). */
export function enhanceColor(img: RgbImage, factor: number): RgbImage {
  return blend(greyRgb(img), img, factor);
}

/** ImageEnhance.Contrast: blend with the rounded mean grey level. */
export function enhanceContrast(img: RgbImage, factor: number): RgbImage {
  const d = img.data;
  let sum = 0;
  for (let p = 0; p < d.length; p += 3) sum += luma(d[p], d[p + 1], d[p + 2]);
  const mean = Math.trunc(sum / (d.length / 3) + 0.5);
  return blend(mean, img, factor);
}

export function enhanceBrightness(img: RgbImage, factor: number): RgbImage {
  return blend(0, img, factor);
}

/** ImageEnhance.Sharpness: blend with ImageFilter.SMOOTH (3×3, centre 5, sum 13; the border is copied). */
export function enhanceSharpness(img: RgbImage, factor: number): RgbImage {
  const { width: w, height: h, data: d } = img;
  const smooth = new Uint8Array(d);
  for (let y = 1; y < h - 1; y++) {
    for (let x = 1; x < w - 1; x++) {
      for (let c = 0; c < 3; c++) {
        let s = 4 * d[(y * w + x) * 3 + c];
        for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) s += d[((y + dy) * w + x + dx) * 3 + c];
        const v = Math.trunc(s / 13 + 0.5);
        smooth[(y * w + x) * 3 + c] = v > 255 ? 255 : v;
      }
    }
  }
  return blend(smooth, img, factor);
}

/** PIL's bicubic kernel (a = -0.5) at the four taps around a sample at fraction t. */
function cubicWeights(t: number, out: Float64Array): void {
  const a = -0.5;
  const x0 = t + 1;
  const x3 = 2 - t;
  const x2 = 1 - t;
  out[0] = (((x0 - 5) * x0 + 8) * x0 - 4) * a;
  out[1] = ((a + 2) * t - (a + 3)) * t * t + 1;
  out[2] = ((a + 2) * x2 - (a + 3)) * x2 * x2 + 1;
  out[3] = (((x3 - 5) * x3 + 8) * x3 - 4) * a;
}

/**
 * Image.transform(size, AFFINE, (a, b, c, d, e, f), BICUBIC, fillcolor): output pixel (x, y) samples the input
 * at (a x + b y + c, d x + e y + f) measured at pixel centres; points outside the input get the fill colour.
 * Taps with zero weight (an axis that lands on whole pixels, as in shears and translations) are skipped.
 */
export function affine(img: RgbImage, m: readonly number[], fill: readonly [number, number, number]): RgbImage {
  const { width: w, height: h, data: src } = img;
  const out = new Uint8Array(src.length);
  const wx = new Float64Array(4);
  const wy = new Float64Array(4);
  const sx = new Int32Array(4);
  const [a, b, c, d, e, f] = m;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const xin = a * (x + 0.5) + b * (y + 0.5) + c;
      const yin = d * (x + 0.5) + e * (y + 0.5) + f;
      const o = (y * w + x) * 3;
      if (xin < 0 || xin >= w || yin < 0 || yin >= h) {
        out[o] = fill[0];
        out[o + 1] = fill[1];
        out[o + 2] = fill[2];
        continue;
      }
      const xs = xin - 0.5;
      const ys = yin - 0.5;
      const ix = Math.floor(xs);
      const iy = Math.floor(ys);
      cubicWeights(xs - ix, wx);
      cubicWeights(ys - iy, wy);
      for (let i = 0; i < 4; i++) {
        const v = ix - 1 + i;
        sx[i] = (v < 0 ? 0 : v >= w ? w - 1 : v) * 3;
      }
      let r = 0;
      let g = 0;
      let bl = 0;
      for (let j = 0; j < 4; j++) {
        const wj = wy[j];
        if (wj === 0) continue;
        let yy = iy - 1 + j;
        yy = yy < 0 ? 0 : yy >= h ? h - 1 : yy;
        const row = yy * w * 3;
        let rr = 0;
        let rg = 0;
        let rb = 0;
        for (let i = 0; i < 4; i++) {
          const wi = wx[i];
          if (wi === 0) continue;
          const p = row + sx[i];
          rr += wi * src[p];
          rg += wi * src[p + 1];
          rb += wi * src[p + 2];
        }
        r += wj * rr;
        g += wj * rg;
        bl += wj * rb;
      }
      r = Math.round(r);
      g = Math.round(g);
      bl = Math.round(bl);
      out[o] = r < 0 ? 0 : r > 255 ? 255 : r;
      out[o + 1] = g < 0 ? 0 : g > 255 ? 255 : g;
      out[o + 2] = bl < 0 ? 0 : bl > 255 ? 255 : bl;
    }
  }
  return { ...img, data: out };
}

/** Image.rotate(degrees, BICUBIC, fillcolor): counter-clockwise about the centre, same size. */
export function rotate(img: RgbImage, degrees: number, fill: readonly [number, number, number]): RgbImage {
  const angle = -((((degrees % 360) + 360) % 360) * Math.PI) / 180;
  const r15 = (v: number): number => Math.round(v * 1e15) / 1e15;
  const m = [r15(Math.cos(angle)), r15(Math.sin(angle)), 0, r15(-Math.sin(angle)), r15(Math.cos(angle)), 0];
  const cx = img.width / 2;
  const cy = img.height / 2;
  m[2] = m[0] * -cx + m[1] * -cy + cx;
  m[5] = m[3] * -cx + m[4] * -cy + cy;
  return affine(img, m, fill);
}

/** Horizontal mirror, in place. */
export function flipHorizontal(img: RgbImage): RgbImage {
  const { width: w, height: h, data: d } = img;
  for (let y = 0; y < h; y++) {
    let l = y * w * 3;
    let r = (y * w + w - 1) * 3;
    while (l < r) {
      for (let c = 0; c < 3; c++) {
        const t = d[l + c];
        d[l + c] = d[r + c];
        d[r + c] = t;
      }
      l += 3;
      r -= 3;
    }
  }
  return img;
}
