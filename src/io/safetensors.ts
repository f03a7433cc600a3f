// The safetensors format: an 8-byte little-endian header length, a JSON header, then raw little-endian data.
// Everything is validated before any tensor is returned, so a malformed file never half-loads.
import { atomicWriteFile } from './atomicWrite.js';
import { halfBitsToFloat } from './halfFloat.js';
import { FileProblemError, errnoOf, reasonOf } from './fileProblem.js';
import { NotRegularFileError, openRegularFile, readAt } from './regularFile.js';

export type DType = 'F32' | 'F16' | 'BF16' | 'F64' | 'I64';
export type TensorData = Float32Array | Float64Array | BigInt64Array | Uint16Array;

export interface TensorEntry {
  dtype: DType;
  shape: number[];
  /** F16 and BF16 hold their raw 16-bit patterns. */
  data: TensorData;
}

export interface SafetensorsFile {
  tensors: Map<string, TensorEntry>;
  metadata: Record<string, string>;
}

export class SafetensorsError extends Error {
  readonly code = 'MDISTILL_BAD_WEIGHTS';
  constructor(readonly source: string, message: string, readonly tensor?: string) {
    super(`${source}: ${tensor === undefined ? '' : `tensor '${tensor}': `}${message}`);
    this.name = 'SafetensorsError';
  }
}

const ITEM_SIZE: Record<DType, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8 };
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

function typedView(dtype: DType, buffer: ArrayBufferLike): TensorData {
  switch (dtype) {
    case 'F32': return new Float32Array(buffer);
    case 'F64': return new Float64Array(buffer);
    case 'I64': return new BigInt64Array(buffer);
    case 'F16':
    case 'BF16': return new Uint16Array(buffer);
  }
}

function arrayFor(dtype: DType, bytes: Uint8Array): TensorData {
  // Copy into a fresh, aligned buffer: the data section need not be aligned for the element size.
  // (Buffer#slice would share memory, so copy explicitly.)
  const aligned = new Uint8Array(bytes.length);
  aligned.set(bytes);
  return typedView(dtype, aligned.buffer);
}

function dtypeOf(data: TensorData): DType {
  if (data instanceof Float32Array) return 'F32';
  if (data instanceof Float64Array) return 'F64';
  if (data instanceof BigInt64Array) return 'I64';
  throw new Error('a Uint16Array needs an explicit dtype (F16 or BF16)');
}

function isNonNegativeInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

interface TensorSpan {
  name: string;
  begin: number;
  end: number;
  dtype: DType;
  shape: number[];
}

/** The length of the JSON header, from the first 8 bytes, checked against the file size. */
function headerLengthOf(first8: Uint8Array, fileLength: number, source: string): number {
  if (fileLength < 8) throw new SafetensorsError(source, `file is truncated: ${fileLength} bytes, not even the 8-byte header length`);
  const headerLength = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  if (headerLength > BigInt(fileLength - 8)) {
    throw new SafetensorsError(source, `header length ${headerLength} runs past the end of the file (${fileLength} bytes): the file is truncated or not safetensors`);
  }
  if (headerLength > BigInt(MAX_HEADER_BYTES)) throw new SafetensorsError(source, `header length ${headerLength} is implausibly large`);
  return Number(headerLength);
}

/** The metadata and every tensor's place in the data section, validated against its length. */
function layoutOf(headerBytes: Uint8Array, dataLength: number, source: string): { metadata: Record<string, string>; spans: TensorSpan[] } {
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes));
  } catch (err) {
    throw new SafetensorsError(source, `header is not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new SafetensorsError(source, 'header must be a JSON object');
  }
  const metadata: Record<string, string> = {};
  const spans: TensorSpan[] = [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof raw !== 'object' || raw === null) throw new SafetensorsError(source, '__metadata__ must be an object of strings');
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') throw new SafetensorsError(source, `__metadata__.${k} must be a string`);
        metadata[k] = v;
      }
      continue;
    }
    const info = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof info !== 'object' || info === null) throw new SafetensorsError(source, 'entry must be an object', name);
    if (typeof info.dtype !== 'string' || !(info.dtype in ITEM_SIZE)) {
      throw new SafetensorsError(source, `unsupported dtype '${String(info.dtype)}' (supported: ${Object.keys(ITEM_SIZE).join(', ')})`, name);
    }
    const dtype = info.dtype as DType;
    if (!Array.isArray(info.shape) || !info.shape.every(isNonNegativeInt)) {
      throw new SafetensorsError(source, `shape must be an array of non-negative integers, got ${JSON.stringify(info.shape)}`, name);
    }
    const offsets = info.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNonNegativeInt) || offsets[0] > offsets[1]) {
      throw new SafetensorsError(source, `data_offsets must be [begin, end] with begin <= end, got ${JSON.stringify(offsets)}`, name);
    }
    const [begin, end] = offsets as [number, number];
    if (end > dataLength) {
      throw new SafetensorsError(source, `data_offsets [${begin}, ${end}] run past the data section (${dataLength} bytes): the file is truncated`, name);
    }
    const shape = info.shape as number[];
    const expected = shape.reduce((a, b) => a * b, 1) * ITEM_SIZE[dtype];
    if (end - begin !== expected) {
      throw new SafetensorsError(source, `holds ${end - begin} bytes but ${dtype} × [${shape.join(', ')}] needs ${expected}`, name);
    }
    spans.push({ name, begin, end, dtype, shape });
  }
  const sorted = [...spans].sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].begin < sorted[i - 1].end && sorted[i].end > sorted[i].begin) {
      throw new SafetensorsError(source, `data_offsets overlap those of '${sorted[i - 1].name}'`, sorted[i].name);
    }
  }
  return { metadata, spans };
}

export function parseSafetensors(bytes: Uint8Array, source: string): SafetensorsFile {
  const headerLength = headerLengthOf(bytes.subarray(0, 8), bytes.length, source);
  const headerEnd = 8 + headerLength;
  const { metadata, spans } = layoutOf(bytes.subarray(8, headerEnd), bytes.length - headerEnd, source);
  const tensors = new Map<string, TensorEntry>();
  for (const s of spans) {
    tensors.set(s.name, { dtype: s.dtype, shape: s.shape, data: arrayFor(s.dtype, bytes.subarray(headerEnd + s.begin, headerEnd + s.end)) });
  }
  return { tensors, metadata };
}

/**
 * Reads the header, then each tensor by its byte range, so a file of any size loads (a whole-file read stops at
 * 2 GiB, and ViT-L teachers are larger). Only regular files are opened.
 */
export async function readSafetensors(file: string, context: { flag?: string } = {}): Promise<SafetensorsFile> {
  let opened;
  try {
    opened = await openRegularFile(file, context);
  } catch (err) {
    const why = reasonText(err);
    throw new SafetensorsError(context.flag ? `${context.flag} ${file}` : file, why.startsWith('no such file') ? why : `cannot read it: ${why}`);
  }
  const { handle, size } = opened;
  try {
    const first8 = new Uint8Array(8);
    if (size >= 8) await readAt(handle, first8, 0, file);
    const headerLength = headerLengthOf(first8, size, file);
    const headerBytes = new Uint8Array(headerLength);
    await readAt(handle, headerBytes, 8, file);
    const headerEnd = 8 + headerLength;
    const { metadata, spans } = layoutOf(headerBytes, size - headerEnd, file);
    const tensors = new Map<string, TensorEntry>();
    for (const s of spans) {
      const bytes = new Uint8Array(s.end - s.begin);
      await readAt(handle, bytes, headerEnd + s.begin, file);
      tensors.set(s.name, { dtype: s.dtype, shape: s.shape, data: typedView(s.dtype, bytes.buffer) });
    }
    return { tensors, metadata };
  } catch (err) {
    if (err instanceof SafetensorsError) throw err;
    throw new SafetensorsError(file, `cannot read it: ${reasonText(err)}`);
  } finally {
    await handle.close();
  }
}

function reasonText(err: unknown): string {
  if (err instanceof NotRegularFileError) return `it is ${err.kind}, not a regular file. Pass a .safetensors file or a checkpoint directory`;
  if (err instanceof FileProblemError && err.errno === undefined) return err.message;
  if (errnoOf(err) === 'ENOENT') return 'no such file. Check the path';
  const r = reasonOf(err);
  return `${r.what}. ${r.fix[0].toUpperCase()}${r.fix.slice(1)}`;
}

export function serializeSafetensors(tensors: Map<string, TensorEntry>, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of tensors) {
    const numel = t.shape.reduce((a, b) => a * b, 1);
    if (t.data.length !== numel) {
      throw new SafetensorsError('(serialize)', `has ${t.data.length} elements but shape [${t.shape.join(', ')}] needs ${numel}`, name);
    }
    const dtype = t.data instanceof Uint16Array ? t.dtype : dtypeOf(t.data);
    if (dtype !== t.dtype) throw new SafetensorsError('(serialize)', `dtype ${t.dtype} does not match its ${t.data.constructor.name}`, name);
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((Buffer.byteLength(json) + 8) % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const t of tensors.values()) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}

/** Writes atomically: a crash leaves the old file or the new one, never a torn file. */
export async function writeSafetensors(file: string, tensors: Map<string, TensorEntry>, metadata: Record<string, string> = {}): Promise<void> {
  await atomicWriteFile(file, serializeSafetensors(tensors, metadata));
}

/** The tensor as float32, converting F16/BF16/F64 (I64 is rejected: it is not a weight). `source` names the file. */
export function toFloat32(entry: TensorEntry, name = 'tensor', source = '(convert)'): Float32Array {
  switch (entry.dtype) {
    case 'F32': return entry.data as Float32Array;
    case 'F64': return Float32Array.from(entry.data as Float64Array);
    case 'BF16': {
      const bits = new Uint32Array((entry.data as Uint16Array).length);
      (entry.data as Uint16Array).forEach((h, i) => { bits[i] = h << 16; });
      return new Float32Array(bits.buffer);
    }
    case 'F16': return Float32Array.from(entry.data as Uint16Array, halfBitsToFloat);
    case 'I64': throw new SafetensorsError(source, 'is I64 (integers); a weight must be a floating-point tensor (F32, F16, BF16 or F64)', name);
  }
}
