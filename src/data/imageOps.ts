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
  const stride = w * 3;
  for (let y = 1; y < h - 1; y++) {
    for (let p = y * stride + 3; p < (y + 1) * stride - 3; p++) {
      const up = p - stride;
      const dn = p + stride;
      const s = d[up - 3] + d[up] + d[up + 3] + d[p - 3] + 5 * d[p] + d[p + 3] + d[dn - 3] + d[dn] + d[dn + 3];
      const v = Math.trunc(s / 13 + 0.5);
      smooth[p] = v > 255 ? 255 : v;
    }
  }
  return blend(smooth, img, factor);
}

/** PIL's Geometry.c BICUBIC macro (a cubic with a = -1), in its exact evaluation order. */
function cubic(v1: number, v2: number, v3: number, v4: number, d: number): number {
  const p2 = -v1 + v3;
  const p3 = 2 * (v1 - v2) + v3 - v4;
  const p4 = -v1 + v2 - v3 + v4;
  return v2 + d * (p2 + d * (p3 + d * p4));
}

/**
 * Image.transform(size, AFFINE, (a, b, c, d, e, f), BICUBIC, fillcolor): output pixel (x, y) samples the input
 * at (a x + b y + c, d x + e y + f) measured at pixel centres; points outside the input get the fill colour.
 * Follows Pillow's bicubic_filter32RGB: clamped taps, rows then columns, clip, truncate.
 */
export function affine(img: RgbImage, m: readonly number[], fill: readonly [number, number, number]): RgbImage {
  const { width: w, height: h, data: src } = img;
  const out = new Uint8Array(src.length);
  const [a, b, c, d, e, f] = m;
  const stride = w * 3;
  for (let y = 0; y < h; y++) {
    const by = b * (y + 0.5);
    const ey = e * (y + 0.5);
    for (let x = 0; x < w; x++) {
      let xin = a * (x + 0.5) + by + c;
      let yin = d * (x + 0.5) + ey + f;
      const o = (y * w + x) * 3;
      if (xin < 0 || xin >= w || yin < 0 || yin >= h) {
        out[o] = fill[0];
        out[o + 1] = fill[1];
        out[o + 2] = fill[2];
        continue;
      }
      xin -= 0.5;
      yin -= 0.5;
      const ix = Math.floor(xin);
      const iy = Math.floor(yin);
      const dx = xin - ix;
      const dy = yin - iy;
      let x0: number, x1: number, x2: number, x3: number, r0: number, r1: number, r2: number, r3: number;
      if (ix >= 1 && ix <= w - 3 && iy >= 1 && iy <= h - 3) {
        // All 16 taps inside the image (the common case): no clamping.
        x1 = ix * 3;
        x0 = x1 - 3;
        x2 = x1 + 3;
        x3 = x1 + 6;
        r1 = iy * stride;
        r0 = r1 - stride;
        r2 = r1 + stride;
        r3 = r2 + stride;
      } else {
        x0 = (ix - 1 < 0 ? 0 : ix - 1 >= w ? w - 1 : ix - 1) * 3;
        x1 = (ix < 0 ? 0 : ix >= w ? w - 1 : ix) * 3;
        x2 = (ix + 1 < 0 ? 0 : ix + 1 >= w ? w - 1 : ix + 1) * 3;
        x3 = (ix + 2 < 0 ? 0 : ix + 2 >= w ? w - 1 : ix + 2) * 3;
        // Rows past the edges are clamped; Pillow repeats the previous row past the bottom, which is the same.
        r0 = (iy - 1 < 0 ? 0 : iy - 1 >= h ? h - 1 : iy - 1) * stride;
        r1 = (iy < 0 ? 0 : iy >= h ? h - 1 : iy) * stride;
        r2 = (iy + 1 < 0 ? 0 : iy + 1 >= h ? h - 1 : iy + 1) * stride;
        r3 = (iy + 2 < 0 ? 0 : iy + 2 >= h ? h - 1 : iy + 2) * stride;
      }
      for (let ch = 0; ch < 3; ch++) {
        let v: number;
        if (dx === 0) {
          v = dy === 0 ? src[r1 + x1 + ch] : cubic(src[r0 + x1 + ch], src[r1 + x1 + ch], src[r2 + x1 + ch], src[r3 + x1 + ch], dy);
        } else {
          const v1 = dy === 0 ? 0 : cubic(src[r0 + x0 + ch], src[r0 + x1 + ch], src[r0 + x2 + ch], src[r0 + x3 + ch], dx);
          const v2 = cubic(src[r1 + x0 + ch], src[r1 + x1 + ch], src[r1 + x2 + ch], src[r1 + x3 + ch], dx);
          if (dy === 0) v = v2;
          else {
            const v3 = cubic(src[r2 + x0 + ch], src[r2 + x1 + ch], src[r2 + x2 + ch], src[r2 + x3 + ch], dx);
            const v4 = cubic(src[r3 + x0 + ch], src[r3 + x1 + ch], src[r3 + x2 + ch], src[r3 + x3 + ch], dx);
            v = cubic(v1, v2, v3, v4, dy);
          }
        }
        out[o + ch] = v <= 0 ? 0 : v >= 255 ? 255 : Math.trunc(v);
      }
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
