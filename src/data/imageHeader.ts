// Width, height and EXIF orientation of a JPEG or PNG from its first bytes, without libvips. Every training sample
// needs its size before the crop is drawn; asking sharp for it costs a second libvips call per image. Anything this
// reader is unsure of returns undefined, and the caller asks sharp.

export interface ImageHeader {
  width: number;
  height: number;
  /** EXIF orientation 1–8 (1 when absent). */
  orientation: number;
}

/** Bytes read from the start of a file: enough for the EXIF block and the frame header of ordinary JPEGs. */
export const HEADER_BYTES = 65536;

function u16(b: Uint8Array, i: number, littleEndian = false): number {
  return littleEndian ? b[i] | (b[i + 1] << 8) : (b[i] << 8) | b[i + 1];
}

function u32(b: Uint8Array, i: number, littleEndian = false): number {
  return littleEndian
    ? (b[i] | (b[i + 1] << 8) | (b[i + 2] << 16) | (b[i + 3] << 24)) >>> 0
    : ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;
}

/** The orientation tag (0x0112) of IFD0 in a TIFF block at b[start, end); 1 when absent, undefined when malformed. */
function exifOrientation(b: Uint8Array, start: number, end: number): number | undefined {
  if (end - start < 8) return undefined;
  const order = u16(b, start);
  if (order !== 0x4949 && order !== 0x4d4d) return undefined;
  const le = order === 0x4949;
  if (u16(b, start + 2, le) !== 42) return undefined;
  const ifd = start + u32(b, start + 4, le);
  if (ifd + 2 > end) return undefined;
  const count = u16(b, ifd, le);
  for (let k = 0; k < count; k++) {
    const entry = ifd + 2 + 12 * k;
    if (entry + 12 > end) return undefined;
    if (u16(b, entry, le) === 0x0112) {
      const value = u16(b, entry + 8, le);
      return value >= 1 && value <= 8 ? value : undefined;
    }
  }
  return 1;
}

function jpegHeader(b: Uint8Array): ImageHeader | undefined {
  let orientation = 1;
  let i = 2;
  while (i + 4 <= b.length) {
    if (b[i] !== 0xff) return undefined;
    const marker = b[i + 1];
    if (marker === 0xff) {
      i += 1; // fill byte
      continue;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2;
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) return undefined; // image data before any frame header
    const length = u16(b, i + 2);
    if (length < 2) return undefined;
    const isFrame = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isFrame) {
      if (i + 9 > b.length) return undefined;
      const height = u16(b, i + 5);
      const width = u16(b, i + 7);
      return width > 0 && height > 0 ? { width, height, orientation } : undefined;
    }
    const body = i + 4;
    const end = i + 2 + length;
    if (marker === 0xe1 && end <= b.length && end - body >= 6 && u32(b, body) === 0x45786966 && u16(b, body + 4) === 0) {
      const o = exifOrientation(b, body + 6, end);
      if (o === undefined) return undefined;
      orientation = o;
    }
    i = end;
  }
  return undefined;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function pngHeader(b: Uint8Array): ImageHeader | undefined {
  if (b.length < 33 || u32(b, 12) !== 0x49484452) return undefined; // IHDR
  const width = u32(b, 16);
  const height = u32(b, 20);
  // An eXIf chunk may carry an orientation: leave those to sharp. Chunks are scanned up to the image data.
  let i = 8;
  while (i + 8 <= b.length) {
    const type = u32(b, i + 4);
    if (type === 0x49444154) return width > 0 && height > 0 ? { width, height, orientation: 1 } : undefined; // IDAT
    if (type === 0x65584966) return undefined; // eXIf
    i += 12 + u32(b, i);
  }
  return undefined;
}

/** The header of a JPEG or PNG starting at b[0], or undefined (another format, or not sure). */
export function readImageHeader(b: Uint8Array): ImageHeader | undefined {
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xd8) return jpegHeader(b);
  if (b.length >= 8 && PNG_SIGNATURE.every((v, k) => b[k] === v)) return pngHeader(b);
  return undefined;
}
