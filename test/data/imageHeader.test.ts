import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { readImageHeader } from '../../src/data/imageHeader.js';

const raw = (w: number, h: number) => sharp(Buffer.alloc(w * h * 3, 90), { raw: { width: w, height: h, channels: 3 } });

async function sharpHeader(b: Buffer) {
  const m = await sharp(b).metadata();
  return { width: m.width, height: m.height, orientation: m.orientation ?? 1 };
}

describe('readImageHeader', () => {
  it('reads JPEG and PNG sizes and EXIF orientation exactly as sharp reports them', async () => {
    const images: [string, Buffer][] = [
      ['baseline JPEG', await raw(64, 48).jpeg().toBuffer()],
      ['progressive JPEG', await raw(33, 71).jpeg({ progressive: true }).toBuffer()],
      ['JPEG, EXIF orientation 6', await raw(64, 48).jpeg().withMetadata({ orientation: 6 }).toBuffer()],
      ['JPEG, EXIF orientation 3', await raw(20, 10).jpeg().withMetadata({ orientation: 3 }).toBuffer()],
      ['JPEG with an ICC profile', await raw(40, 30).jpeg().withMetadata({ icc: 'srgb' }).toBuffer()],
      ['8-bit RGB PNG', await raw(50, 20).png().toBuffer()],
      ['16-bit grey PNG', await sharp(Buffer.alloc(7 * 5 * 2), { raw: { width: 7, height: 5, channels: 1 } }).toColourspace('grey16').png().toBuffer()],
    ];
    for (const [what, bytes] of images) {
      expect(readImageHeader(bytes), what).toEqual(await sharpHeader(bytes));
    }
  });

  it('gives up (undefined) on other formats, PNGs with an eXIf chunk, and truncated or garbled bytes', async () => {
    const jpeg = await raw(64, 48).jpeg().withMetadata({ orientation: 6 }).toBuffer();
    expect(readImageHeader(await raw(10, 10).webp().toBuffer())).toBeUndefined();
    expect(readImageHeader(await raw(10, 10).png().withMetadata({ orientation: 8 }).toBuffer())).toBeUndefined();
    expect(readImageHeader(jpeg.subarray(0, 40))).toBeUndefined();
    expect(readImageHeader(Buffer.from('not an image at all'))).toBeUndefined();
    const garbled = Buffer.from(jpeg);
    garbled[2] = 0x12; // the first segment no longer starts with a marker
    expect(readImageHeader(garbled)).toBeUndefined();
  });
});
