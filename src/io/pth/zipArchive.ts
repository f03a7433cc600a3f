// The zip container of PyTorch checkpoints (torch.save since 1.6): the central directory, then each record read
// by range. PyTorch stores its records uncompressed; deflate is accepted too (a checkpoint re-zipped by another
// tool). Every size and offset is checked against the file before it is used, and each record's CRC-32.
import { constants as bufferConstants } from 'node:buffer';
import { crc32, inflateRawSync } from 'node:zlib';
import type { ByteSource } from './byteSource.js';
import { TorchCheckpointError } from './torchCheckpointError.js';

export interface ZipEntry {
  name: string;
  /** 0 stored, 8 deflate. */
  method: number;
  compressedSize: number;
  size: number;
  crc32: number;
  localHeaderOffset: number;
}

const EOCD_SIGNATURE = 0x06054b50;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const ZIP64_EOCD_SIGNATURE = 0x06064b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;
const EOCD_SIZE = 22;
const CENTRAL_HEADER_SIZE = 46;
const LOCAL_HEADER_SIZE = 30;
const MAX_COMMENT = 0xffff;
/** Deflate cannot expand data by more than about 1032:1; a larger declared size is a lie. */
const MAX_DEFLATE_RATIO = 1032;

const u16 = (b: Uint8Array, at: number): number => b[at] | (b[at + 1] << 8);
const u32 = (b: Uint8Array, at: number): number => (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16)) + b[at + 3] * 0x1000000;
function u64(b: Uint8Array, at: number): number {
  const value = u32(b, at) + u32(b, at + 4) * 0x100000000;
  // Above 2^53 the value is not exact, and no file is that large: the caller's bounds checks reject it.
  return value;
}

export class ZipArchive {
  private constructor(
    private readonly src: ByteSource,
    readonly entries: ReadonlyMap<string, ZipEntry>,
  ) {}

  private static fail(src: ByteSource, message: string): never {
    throw new TorchCheckpointError(src.name, `corrupt zip archive: ${message}`);
  }

  static open(src: ByteSource): ZipArchive {
    const fail = (m: string): never => ZipArchive.fail(src, m);
    if (src.size < EOCD_SIZE) fail(`${src.size} bytes is too short for a zip archive`);
    const tailLength = Math.min(src.size, EOCD_SIZE + MAX_COMMENT);
    const tailStart = src.size - tailLength;
    const tail = src.read(tailStart, tailLength);
    let eocd = -1;
    for (let i = tail.length - EOCD_SIZE; i >= 0; i--) {
      if (u32(tail, i) === EOCD_SIGNATURE && i + EOCD_SIZE + u16(tail, i + 20) <= tail.length) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) fail('no end-of-central-directory record (the file is truncated)');
    let count = u16(tail, eocd + 10);
    let cdSize = u32(tail, eocd + 12);
    let cdOffset = u32(tail, eocd + 16);
    if (u16(tail, eocd + 4) !== 0 || u16(tail, eocd + 6) !== 0) fail('multi-disk archives are not supported');
    const eocdOffset = tailStart + eocd;
    if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
      const locatorOffset = eocdOffset - 20;
      if (locatorOffset < 0) fail('a ZIP64 archive without its ZIP64 locator');
      const locator = src.read(locatorOffset, 20);
      if (u32(locator, 0) !== ZIP64_LOCATOR_SIGNATURE) fail('a ZIP64 archive without its ZIP64 locator');
      const recordOffset = u64(locator, 8);
      if (!(recordOffset >= 0 && recordOffset + 56 <= locatorOffset)) fail(`the ZIP64 end record offset ${recordOffset} lies outside the file`);
      const record = src.read(recordOffset, 56);
      if (u32(record, 0) !== ZIP64_EOCD_SIGNATURE) fail('the ZIP64 end record has a wrong signature');
      count = u64(record, 32);
      cdSize = u64(record, 40);
      cdOffset = u64(record, 48);
    }
    if (!(cdOffset + cdSize <= eocdOffset)) {
      fail(`the central directory (${cdSize} bytes at ${cdOffset}) runs past its end record at ${eocdOffset}`);
    }
    if (count > cdSize / CENTRAL_HEADER_SIZE) fail(`${count} entries cannot fit in a central directory of ${cdSize} bytes`);
    const cd = src.read(cdOffset, cdSize);
    const entries = new Map<string, ZipEntry>();
    let at = 0;
    for (let i = 0; i < count; i++) {
      if (at + CENTRAL_HEADER_SIZE > cd.length || u32(cd, at) !== CENTRAL_SIGNATURE) fail(`central directory entry ${i} is malformed`);
      const flags = u16(cd, at + 8);
      const method = u16(cd, at + 10);
      const crc = u32(cd, at + 16);
      let compressedSize = u32(cd, at + 20);
      let size = u32(cd, at + 24);
      const nameLength = u16(cd, at + 28);
      const extraLength = u16(cd, at + 30);
      const commentLength = u16(cd, at + 32);
      let localHeaderOffset = u32(cd, at + 42);
      const end = at + CENTRAL_HEADER_SIZE + nameLength + extraLength + commentLength;
      if (end > cd.length) fail(`central directory entry ${i} runs past the directory`);
      const nameBytes = cd.subarray(at + CENTRAL_HEADER_SIZE, at + CENTRAL_HEADER_SIZE + nameLength);
      const name = new TextDecoder(flags & 0x800 ? 'utf-8' : 'latin1').decode(nameBytes);
      // ZIP64 extended information: the 64-bit values of the fields that hold 0xffffffff, in this order.
      let extra = at + CENTRAL_HEADER_SIZE + nameLength;
      const extraEnd = extra + extraLength;
      while (extra + 4 <= extraEnd) {
        const id = u16(cd, extra);
        const length = u16(cd, extra + 2);
        if (extra + 4 + length > extraEnd) fail(`entry '${name}': an extra field runs past its entry`);
        if (id === 0x0001) {
          let p = extra + 4;
          const next = (): number => {
            if (p + 8 > extra + 4 + length) fail(`entry '${name}': the ZIP64 extra field is too short`);
            const v = u64(cd, p);
            p += 8;
            return v;
          };
          if (size === 0xffffffff) size = next();
          if (compressedSize === 0xffffffff) compressedSize = next();
          if (localHeaderOffset === 0xffffffff) localHeaderOffset = next();
        }
        extra += 4 + length;
      }
      if (flags & 0x1) fail(`entry '${name}' is encrypted`);
      if (entries.has(name)) fail(`entry '${name}' appears twice`);
      if (!(localHeaderOffset + LOCAL_HEADER_SIZE <= cdOffset) || !(compressedSize <= cdOffset)) {
        fail(`entry '${name}' points outside the archive's data (offset ${localHeaderOffset}, ${compressedSize} bytes)`);
      }
      entries.set(name, { name, method, compressedSize, size, crc32: crc, localHeaderOffset });
      at = end;
    }
    return new ZipArchive(src, entries);
  }

  /** The record's bytes, decompressed and checked against its CRC-32 and sizes. */
  read(entry: ZipEntry): Uint8Array {
    const fail = (m: string): never => ZipArchive.fail(this.src, `entry '${entry.name}': ${m}`);
    const header = this.src.read(entry.localHeaderOffset, LOCAL_HEADER_SIZE);
    if (u32(header, 0) !== LOCAL_SIGNATURE) fail('its local header has a wrong signature');
    const dataStart = entry.localHeaderOffset + LOCAL_HEADER_SIZE + u16(header, 26) + u16(header, 28);
    if (!(dataStart + entry.compressedSize <= this.src.size)) fail(`its ${entry.compressedSize} bytes of data run past the end of the file`);
    let data: Uint8Array;
    if (entry.method === 0) {
      if (entry.compressedSize !== entry.size) fail(`stored uncompressed, yet its sizes differ (${entry.compressedSize} vs ${entry.size})`);
      data = this.src.read(dataStart, entry.size);
    } else if (entry.method === 8) {
      if (entry.size > entry.compressedSize * MAX_DEFLATE_RATIO + 64 || entry.size > bufferConstants.MAX_LENGTH) {
        fail(`declares ${entry.size} bytes from ${entry.compressedSize} compressed: implausible`);
      }
      let inflated: Buffer;
      try {
        inflated = inflateRawSync(this.src.read(dataStart, entry.compressedSize), { maxOutputLength: Math.max(1, entry.size) });
      } catch (err) {
        return fail(`does not inflate (${err instanceof Error ? err.message : String(err)})`);
      }
      if (inflated.length !== entry.size) fail(`inflates to ${inflated.length} bytes, not the ${entry.size} it declares`);
      data = new Uint8Array(inflated.length);
      data.set(inflated);
    } else {
      return fail(`compression method ${entry.method} is not supported (only stored and deflate)`);
    }
    // torch.save can be told not to compute CRCs (it then writes 0); any other mismatch is corruption.
    if (entry.crc32 !== 0 && (crc32(data) >>> 0) !== entry.crc32) fail('CRC-32 mismatch: the data is corrupt');
    return data;
  }
}
