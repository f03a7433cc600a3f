// Decoding with sharp (libvips): EXIF orientation applied, alpha dropped (PIL's convert('RGB')), grey and
// 16-bit images brought to 8-bit sRGB. Crop and bicubic resize run inside libvips, decoding at reduced size
// (libvips shrink-on-load) when the crop allows.
import { lstat, stat } from 'node:fs/promises';
import sharp from 'sharp';
import { FileProblemError, reasonOf } from '../io/fileProblem.js';
import { NotRegularFileError, readRegularFile } from '../io/regularFile.js';
import { HEADER_BYTES, readImageHeader } from './imageHeader.js';
import type { CropBox } from './randomResizedCrop.js';

sharp.concurrency(1);
sharp.cache(false);

/** An image file (its bytes, once read: see loadImageFile), or raw 8-bit pixels. */
export type ImageInput = { file: string; bytes?: Uint8Array } | { raw: Uint8Array; width: number; height: number; channels: 1 | 3 };

/** Why a sample file cannot be read, in words (the caller names the file). */
async function unreadable(file: string, err: unknown): Promise<Error> {
  if (err instanceof NotRegularFileError) return new Error(`it is ${err.kind}, not a regular file`);
  const link = await lstat(file).catch(() => undefined);
  if (link?.isSymbolicLink()) {
    const target = await stat(file).catch((e: NodeJS.ErrnoException) => e);
    if (target instanceof Error) return new Error(target.code === 'ELOOP' ? 'it is a symbolic link loop' : 'it is a symbolic link to a missing file');
  }
  if (err instanceof FileProblemError && err.errno === undefined) return new Error(err.message);
  return new Error(`cannot read it: ${reasonOf(err).what}`);
}

/**
 * Reads an image file whole, opening only a regular file: a FIFO would block the reader forever, a device or a
 * socket is no image. The bytes then serve both the header read and the decode.
 */
export async function loadImageFile(file: string): Promise<{ file: string; bytes: Uint8Array }> {
  try {
    return { file, bytes: await readRegularFile(file) };
  } catch (err) {
    throw await unreadable(file, err);
  }
}

async function encoded(input: { file: string; bytes?: Uint8Array }): Promise<Uint8Array> {
  return input.bytes ?? (await loadImageFile(input.file)).bytes;
}

async function open(input: ImageInput): Promise<sharp.Sharp> {
  if ('file' in input) return sharp(await encoded(input), { failOn: 'error' });
  return sharp(input.raw, { raw: { width: input.width, height: input.height, channels: input.channels } });
}

/** The displayed size (after EXIF orientation) and whether the stored pixels need rotating. */
export async function imageSize(input: ImageInput): Promise<{ width: number; height: number; oriented: boolean }> {
  if (!('file' in input)) return { width: input.width, height: input.height, oriented: false };
  const bytes = await encoded(input);
  let m: { width?: number; height?: number; orientation?: number } | undefined = readImageHeader(bytes.subarray(0, HEADER_BYTES));
  if (!m) m = await sharp(bytes).metadata();
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
 * When the crop is at least twice the output on both axes, the whole image is resized by the crop's scale first
 * and the box taken afterwards, in one libvips pipeline: that lets libvips decode the JPEG at 1/2, 1/4 or 1/8
 * (shrink-on-load). The result differs from crop-then-resize only by sub-pixel rounding at the box edges.
 */
export async function decodeCropResize(
  input: ImageInput, size: { width: number; height: number; oriented: boolean }, box: CropBox, outW: number, outH: number,
): Promise<Uint8Array> {
  const sx = box.width / outW;
  const sy = box.height / outH;
  if ('file' in input && !size.oriented && sx >= 2 && sy >= 2) {
    const rw = Math.max(outW, Math.round(size.width / sx));
    const rh = Math.max(outH, Math.round(size.height / sy));
    const left = Math.min(rw - outW, Math.round(box.left / sx));
    const top = Math.min(rh - outH, Math.round(box.top / sy));
    const p = (await open(input)).resize(rw, rh, { fit: 'fill', kernel: 'cubic' }).extract({ left, top, width: outW, height: outH });
    return toRgb(p, outW, outH, describe(input));
  }
  const p = (await open(input)).rotate().extract({ left: box.left, top: box.top, width: box.width, height: box.height })
    .resize(outW, outH, { fit: 'fill', kernel: 'cubic' });
  return toRgb(p, outW, outH, describe(input));
}

/** Resizes the whole image to rw×rh (bicubic; shrink-on-load applies), then takes `crop`; returns RGB HWC. */
export async function decodeResizeCrop(input: ImageInput, rw: number, rh: number, crop: CropBox): Promise<Uint8Array> {
  const p = (await open(input)).rotate().resize(rw, rh, { fit: 'fill', kernel: 'cubic' })
    .extract({ left: crop.left, top: crop.top, width: crop.width, height: crop.height });
  return toRgb(p, crop.width, crop.height, describe(input));
}
