// The safetensors format: an 8-byte little-endian header length, a JSON header, then raw little-endian data.
// Everything is validated before any tensor is returned, so a malformed file never half-loads.
import { readFile } from 'node:fs/promises';
import { atomicWriteFile } from './atomicWrite.js';
import { halfBitsToFloat } from './halfFloat.js';

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

function arrayFor(dtype: DType, bytes: Uint8Array): TensorData {
  // Copy into a fresh, aligned buffer: the data section need not be aligned for the element size.
  // (Buffer#slice would share memory, so copy explicitly.)
  const aligned = new Uint8Array(bytes.length);
  aligned.set(bytes);
  const copy = aligned.buffer;
  switch (dtype) {
    case 'F32': return new Float32Array(copy);
    case 'F64': return new Float64Array(copy);
    case 'I64': return new BigInt64Array(copy);
    case 'F16':
    case 'BF16': return new Uint16Array(copy);
  }
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

export function parseSafetensors(bytes: Uint8Array, source: string): SafetensorsFile {
  if (bytes.length < 8) throw new SafetensorsError(source, `file is truncated: ${bytes.length} bytes, not even the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(bytes.length - 8)) {
    throw new SafetensorsError(source, `header length ${headerLength} runs past the end of the file (${bytes.length} bytes): the file is truncated or not safetensors`);
  }
  if (headerLength > BigInt(MAX_HEADER_BYTES)) throw new SafetensorsError(source, `header length ${headerLength} is implausibly large`);
  const headerEnd = 8 + Number(headerLength);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, headerEnd)));
  } catch (err) {
    throw new SafetensorsError(source, `header is not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new SafetensorsError(source, 'header must be a JSON object');
  }
  const dataLength = bytes.length - headerEnd;
  const metadata: Record<string, string> = {};
  const spans: { name: string; begin: number; end: number; dtype: DType; shape: number[] }[] = [];
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
  const tensors = new Map<string, TensorEntry>();
  for (const s of spans) {
    tensors.set(s.name, { dtype: s.dtype, shape: s.shape, data: arrayFor(s.dtype, bytes.subarray(headerEnd + s.begin, headerEnd + s.end)) });
  }
  return { tensors, metadata };
}

export async function readSafetensors(file: string): Promise<SafetensorsFile> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new SafetensorsError(file, code === 'ENOENT' ? 'no such file' : `cannot read (${code ?? String(err)})`);
  }
  return parseSafetensors(bytes, file);
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

/** The tensor as float32, converting F16/BF16/F64 (I64 is rejected: it is not a weight). */
export function toFloat32(entry: TensorEntry, name = 'tensor'): Float32Array {
  switch (entry.dtype) {
    case 'F32': return entry.data as Float32Array;
    case 'F64': return Float32Array.from(entry.data as Float64Array);
    case 'BF16': {
      const bits = new Uint32Array((entry.data as Uint16Array).length);
      (entry.data as Uint16Array).forEach((h, i) => { bits[i] = h << 16; });
      return new Float32Array(bits.buffer);
    }
    case 'F16': return Float32Array.from(entry.data as Uint16Array, halfBitsToFloat);
    case 'I64': throw new SafetensorsError('(convert)', 'is I64; expected a floating-point tensor', name);
  }
}
