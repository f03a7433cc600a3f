// Decoding with sharp (libvips): EXIF orientation applied, alpha dropped (PIL's convert('RGB')), grey and
// 16-bit images brought to 8-bit sRGB. Crop and bicubic resize run inside libvips; when the crop is at least
// twice the output size, the image is first decoded at a reduced scale (libvips shrink-on-load).
import sharp from 'sharp';
import type { CropBox } from './randomResizedCrop.js';

sharp.concurrency(1);
sharp.cache(false);

export type ImageInput = { file: string } | { raw: Uint8Array; width: number; height: number; channels: 1 | 3 };

function open(input: ImageInput): sharp.Sharp {
  if ('file' in input) return sharp(input.file, { failOn: 'error' });
  return sharp(input.raw, { raw: { width: input.width, height: input.height, channels: input.channels } });
}

/** The displayed size (after EXIF orientation) and whether the stored pixels need rotating. */
export async function imageSize(input: ImageInput): Promise<{ width: number; height: number; oriented: boolean }> {
  if (!('file' in input)) return { width: input.width, height: input.height, oriented: false };
  const m = await sharp(input.file).metadata();
  if (!m.width || !m.height) throw new Error(`${input.file}: sharp reports no image size`);
  const o = m.orientation ?? 1;
  return o >= 5 ? { width: m.height, height: m.width, oriented: true } : { width: m.width, height: m.height, oriented: o > 1 };
}

async function toRgb(p: sharp.Sharp, w: number, h: number, what: string): Promise<Uint8Array> {
  const { data, info } = await p.removeAlpha().toColourspace('srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  if (info.width !== w || info.height !== h || info.channels !== 3) {
    throw new Error(`${what}: decoded to ${info.width}×${info.height}×${info.channels}, expected ${w}×${h}×3`);
  }
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function describe(input: ImageInput): string {
  return 'file' in input ? input.file : 'raw image';
}

/**
 * Crops `box` (in displayed coordinates) and resizes it to outW×outH with a bicubic kernel; returns RGB HWC.
 * With a crop at least twice the output, decodes at 1/2, 1/4 or 1/8 scale first (shrink-on-load).
 */
export async function decodeCropResize(
  input: ImageInput, size: { width: number; height: number; oriented: boolean }, box: CropBox, outW: number, outH: number,
): Promise<Uint8Array> {
  const shrink = 'file' in input && !size.oriented ? Math.min(Math.floor(box.width / outW), Math.floor(box.height / outH)) : 1;
  if (shrink >= 2) {
    const f = shrink >= 8 ? 8 : shrink >= 4 ? 4 : 2;
    // A reduction a hair above f lets libvips pick the f× JPEG/WebP load scale; the box is then mapped onto it.
    const sw = Math.max(1, Math.floor(size.width / (f + 0.01)));
    const sh = Math.max(1, Math.floor(size.height / (f + 0.01)));
    const small = await open(input).resize(sw, sh, { fit: 'fill', kernel: 'cubic' }).removeAlpha().toColourspace('srgb')
      .raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    const sx = sw / size.width;
    const sy = sh / size.height;
    const left = Math.min(sw - 1, Math.floor(box.left * sx));
    const top = Math.min(sh - 1, Math.floor(box.top * sy));
    const width = Math.max(1, Math.min(sw - left, Math.round(box.width * sx)));
    const height = Math.max(1, Math.min(sh - top, Math.round(box.height * sy)));
    const p = sharp(small.data, { raw: { width: small.info.width, height: small.info.height, channels: small.info.channels as 3 } })
      .extract({ left, top, width, height }).resize(outW, outH, { fit: 'fill', kernel: 'cubic' });
    return toRgb(p, outW, outH, describe(input));
  }
  const p = open(input).rotate().extract({ left: box.left, top: box.top, width: box.width, height: box.height })
    .resize(outW, outH, { fit: 'fill', kernel: 'cubic' });
  return toRgb(p, outW, outH, describe(input));
}

/** Resizes the whole image to rw×rh (bicubic; shrink-on-load applies), then takes `crop`; returns RGB HWC. */
export async function decodeResizeCrop(input: ImageInput, rw: number, rh: number, crop: CropBox): Promise<Uint8Array> {
  const p = open(input).rotate().resize(rw, rh, { fit: 'fill', kernel: 'cubic' })
    .extract({ left: crop.left, top: crop.top, width: crop.width, height: crop.height });
  return toRgb(p, crop.width, crop.height, describe(input));
}
