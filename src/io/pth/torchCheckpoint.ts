// Reads the weights of a PyTorch checkpoint (`torch.save`, .pth/.pt/.bin) without Python and without running any
// of it: the zip format (PyTorch >= 1.6: <name>/data.pkl + one record per storage) and the legacy stream (magic
// number, protocol, sys info, the object, the storage keys, then each storage prefixed by its element count).
// The state dict is the top-level dict of tensors, or the one under 'model' / 'state_dict' (DeiT, ManifoldKD,
// timm), or under 'model_ema' / 'state_dict_ema' with `ema`. Only the selected tensors' storages are read, each
// tensor is materialised contiguous from its strides and offset, and the bytes allocated are bounded by the file.
import { constants as bufferConstants } from 'node:buffer';
import type { DType, TensorData, TensorEntry } from '../safetensors.js';
import { memorySource, openFileSource, type ByteSource } from './byteSource.js';
import { PickleError, PyDict, pyTypeName, unpickle, type PyValue } from './pickle.js';
import { TorchCheckpointError } from './torchCheckpointError.js';
import { StorageRef, TensorRef, TorchPickleHooks, type StorageDType } from './torchPickle.js';
import { ZipArchive } from './zipArchive.js';

export { TorchCheckpointError };

export interface TorchCheckpointOptions {
  /** Read the EMA weights ('model_ema' / 'state_dict_ema') instead of the model's. */
  ema?: boolean;
}

export interface TorchCheckpoint {
  file: string;
  format: 'zip' | 'legacy';
  /** The top-level key that held the state dict, or null when the file is a bare state dict. */
  wrapper: string | null;
  /** The top-level keys (of a dict), for messages: e.g. model, optimizer, lr_scheduler, epoch, model_ema, scaler, args. */
  topLevelKeys: string[];
  tensors: Map<string, TensorEntry>;
  /** Tensors of dtypes a weights file has no use for (bool, int32, complex, …): left out. */
  skipped: { name: string; dtype: StorageDType }[];
}

export const MODEL_KEYS = ['model', 'state_dict'] as const;
export const EMA_KEYS = ['model_ema', 'state_dict_ema'] as const;

const ENTRY_DTYPES: Partial<Record<StorageDType, DType>> = { F32: 'F32', F16: 'F16', BF16: 'BF16', F64: 'F64', I64: 'I64' };
/** Legacy files start with this integer, pickled: `\x80\x02\x8a\x0a` + its 10 little-endian bytes. */
const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL_VERSION = 1001;
const LEGACY_HEAD = Uint8Array.from([0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]);
/** The tensors materialised may take at most this multiple of the file's size (shared and expanded storages). */
const BUDGET_FACTOR = 4;
const BUDGET_SLACK = 64 * 1024 * 1024;

/** Whether the first bytes are those of a torch.save file (zip, or the legacy pickle stream). */
export function looksLikeTorchCheckpoint(head: Uint8Array): boolean {
  if (head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) return true;
  return head.length >= 2 + LEGACY_HEAD.length && head[0] === 0x80 && head[1] <= 5 && LEGACY_HEAD.every((b, i) => head[2 + i] === b);
}

/** Reads `file`'s state dict (the model's, or with `ema` its EMA's). */
export async function readTorchCheckpoint(file: string, options: TorchCheckpointOptions = {}): Promise<TorchCheckpoint> {
  const src = openFileSource(file);
  try {
    return loadTorchCheckpoint(src, options);
  } finally {
    src.close();
  }
}

/** The same from bytes in memory; `source` names them in errors. */
export function parseTorchCheckpoint(bytes: Uint8Array, source: string, options: TorchCheckpointOptions = {}): TorchCheckpoint {
  return loadTorchCheckpoint(memorySource(bytes, source), options);
}

interface Unpickled {
  format: TorchCheckpoint['format'];
  root: PyValue;
  /** The bytes of a root storage (element 0 on). */
  readStorage(key: string): Uint8Array;
}

function loadTorchCheckpoint(src: ByteSource, options: TorchCheckpointOptions): TorchCheckpoint {
  const fail = (m: string): never => {
    throw new TorchCheckpointError(src.name, m);
  };
  if (src.size === 0) fail('the file is empty');
  const head = src.read(0, Math.min(src.size, 512));
  let unpickled: Unpickled;
  if (head[0] === 0x50 && head[1] === 0x4b) unpickled = unpickleZip(src);
  else if (looksLikeTorchCheckpoint(head)) unpickled = unpickleLegacy(src);
  else if (head.length >= 262 && new TextDecoder('latin1').decode(head.subarray(257, 262)) === 'ustar') {
    return fail('a tar checkpoint (PyTorch before 0.4) is not supported: load it with PyTorch and save it again');
  } else {
    return fail('not a PyTorch checkpoint: it is neither a zip archive (torch.save since 1.6) nor the legacy pickle stream');
  }
  const selected = selectStateDict(unpickled.root, src.name, options.ema === true);
  const { tensors, skipped } = materialise(selected.entries, unpickled, src);
  return { file: src.name, format: unpickled.format, wrapper: selected.wrapper, topLevelKeys: selected.topLevelKeys, tensors, skipped };
}

function runUnpickler(data: Uint8Array, hooks: TorchPickleHooks, source: string, what: string, start = 0): { value: PyValue; end: number } {
  try {
    return unpickle(data, hooks, start);
  } catch (err) {
    if (err instanceof PickleError) throw new TorchCheckpointError(source, `${what}: ${err.message}`);
    throw err;
  }
}

function unpickleZip(src: ByteSource): Unpickled {
  const fail = (m: string): never => {
    throw new TorchCheckpointError(src.name, m);
  };
  const zip = ZipArchive.open(src);
  const pickles = [...zip.entries.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pickles.length !== 1) {
    fail(pickles.length === 0 ? 'a zip archive without <name>/data.pkl: not a torch.save checkpoint' : `a zip archive with ${pickles.length} data.pkl records`);
  }
  const prefix = pickles[0].slice(0, -'data.pkl'.length);
  if (zip.entries.has(`${prefix}constants.pkl`)) {
    fail('a TorchScript archive (torch.jit.save), not a checkpoint: save model.state_dict() with torch.save');
  }
  const byteorder = zip.entries.get(`${prefix}byteorder`);
  if (byteorder) {
    const order = new TextDecoder('latin1').decode(zip.read(byteorder)).trim();
    if (order !== 'little') fail(`its storages are ${order}-endian; only little-endian checkpoints are read`);
  }
  const hooks = new TorchPickleHooks(src.name, { hasStorageRecord: (key) => zip.entries.has(`${prefix}data/${key}`) });
  const { value } = runUnpickler(zip.read(zip.entries.get(pickles[0])!), hooks, src.name, `${prefix}data.pkl`);
  return {
    format: 'zip',
    root: value,
    readStorage: (key) => zip.read(zip.entries.get(`${prefix}data/${key}`)!),
  };
}

function unpickleLegacy(src: ByteSource): Unpickled {
  // The pickles come first and their length is unknown: parse a prefix, and a longer one while they run past it.
  for (let length = Math.min(src.size, 1 << 20); ; length = Math.min(src.size, length * 4)) {
    try {
      return unpickleLegacyPrefix(src, src.read(0, length));
    } catch (err) {
      if (!(err instanceof TruncatedPrefix) || length >= src.size) {
        if (err instanceof TruncatedPrefix) throw new TorchCheckpointError(src.name, err.message);
        throw err;
      }
    }
  }
}

class TruncatedPrefix extends Error {}

function unpickleLegacyPrefix(src: ByteSource, bytes: Uint8Array): Unpickled {
  const fail = (m: string): never => {
    throw new TorchCheckpointError(src.name, m);
  };
  const plain = new TorchPickleHooks(src.name);
  const hooks = new TorchPickleHooks(src.name);
  let at = 0;
  const next = (what: string, withHooks: TorchPickleHooks): PyValue => {
    try {
      const r = unpickle(bytes, withHooks, at);
      at = r.end;
      return r.value;
    } catch (err) {
      if (err instanceof PickleError && err.truncated) throw new TruncatedPrefix(`legacy ${what}: ${err.message}`);
      if (err instanceof PickleError) throw new TorchCheckpointError(src.name, `legacy ${what}: ${err.message}`);
      throw err;
    }
  };
  if (next('magic number', plain) !== LEGACY_MAGIC) fail('the legacy magic number is wrong: not a torch.save file');
  const protocol = next('protocol version', plain);
  if (protocol !== LEGACY_PROTOCOL_VERSION) fail(`legacy protocol version ${String(protocol)} is not supported (expected ${LEGACY_PROTOCOL_VERSION})`);
  const sysInfo = next('sys info', plain);
  if (!(sysInfo instanceof PyDict)) return fail(`the legacy sys info is a ${pyTypeName(sysInfo)}, not a dict`);
  if (sysInfo.get('little_endian') === false) fail('it was saved on a big-endian machine; only little-endian checkpoints are read');
  const root = next('object', hooks);
  const keys = next('storage keys', plain);
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string')) return fail('the legacy storage key list is not a list of strings');
  // Then each storage: its element count (int64, little-endian) and its bytes.
  const records = new Map<string, { offset: number; bytes: number }>();
  let offset = at;
  for (const key of keys as string[]) {
    const declared = hooks.storages.get(key);
    if (!declared) fail(`legacy storage '${key}' is listed but no tensor refers to it`);
    if (records.has(key)) fail(`legacy storage '${key}' is listed twice`);
    if (offset + 8 > src.size) fail(`legacy storage '${key}': its size field lies past the end of the file (truncated)`);
    const count = new DataView(src.read(offset, 8).buffer).getBigInt64(0, true);
    if (count !== BigInt(declared!.numel)) fail(`legacy storage '${key}' holds ${count} elements but the pickle declares ${declared!.numel}`);
    const bytes = declared!.numel * declared!.itemSize;
    if (offset + 8 + bytes > src.size) fail(`legacy storage '${key}': its ${bytes} bytes run past the end of the file (truncated)`);
    records.set(key, { offset: offset + 8, bytes });
    offset += 8 + bytes;
  }
  for (const key of hooks.storages.keys()) if (!records.has(key)) fail(`legacy storage '${key}' is referred to but not stored`);
  return {
    format: 'legacy',
    root,
    readStorage: (key) => {
      const r = records.get(key)!;
      return src.read(r.offset, r.bytes);
    },
  };
}

interface Selected {
  wrapper: string | null;
  topLevelKeys: string[];
  entries: [string, TensorRef][];
}

/** The dict's entries when it is a state dict (string keys, tensor values), else the first entry that is not. */
function stateDictEntries(dict: PyDict): { entries: [string, TensorRef][] } | { offending: string } {
  const entries: [string, TensorRef][] = [];
  for (const [key, value] of dict.entries) {
    if (typeof key !== 'string') return { offending: `a key of type ${pyTypeName(key)}` };
    if (!(value instanceof TensorRef)) return { offending: `'${key}' (a ${pyTypeName(value)})` };
    entries.push([key, value]);
  }
  return { entries };
}

function selectStateDict(root: PyValue, source: string, ema: boolean): Selected {
  const fail = (m: string): never => {
    throw new TorchCheckpointError(source, m);
  };
  if (!(root instanceof PyDict)) return fail(`holds a ${pyTypeName(root)}, not a dict of tensors or a checkpoint dict`);
  const topLevelKeys = root.entries.map(([k]) => (typeof k === 'string' ? k : String(k)));
  const listed = topLevelKeys.length > 20 ? `${topLevelKeys.slice(0, 20).join(', ')}, … (${topLevelKeys.length} in all)` : topLevelKeys.join(', ');
  const bare = stateDictEntries(root);
  if ('entries' in bare && bare.entries.length > 0) {
    if (ema) fail('is a bare state dict, with no EMA weights in it: drop --ema');
    return { wrapper: null, topLevelKeys, entries: bare.entries };
  }
  const candidates = ema ? EMA_KEYS : MODEL_KEYS;
  for (const key of candidates) {
    const value = root.get(key);
    if (value === undefined) continue;
    if (value === null && ema) fail(`'${key}' is None: the run kept no EMA of the weights; drop --ema`);
    if (!(value instanceof PyDict)) return fail(`'${key}' holds a ${pyTypeName(value)}, not a state dict`);
    const inner = stateDictEntries(value);
    if ('offending' in inner) return fail(`'${key}' is not a state dict of tensors: it holds ${inner.offending}`);
    if (inner.entries.length === 0) return fail(`'${key}' is an empty state dict`);
    return { wrapper: key, topLevelKeys, entries: inner.entries };
  }
  if (topLevelKeys.length === 0) return fail('holds an empty dict');
  return fail(`holds no ${ema ? 'EMA ' : ''}state dict: expected a dict of tensors, or one under ${candidates.map((k) => `'${k}'`).join(' or ')}; ` +
    `its top-level keys are ${listed}`);
}

type Units = Uint8Array | Uint16Array | Uint32Array;

/** The storage's bytes as whole units of one element (1, 2 or 4 bytes), with `words` units per element. */
function unitsOf(bytes: Uint8Array, itemSize: number): { units: Units; words: number } {
  const buffer = bytes.buffer;
  if (itemSize === 1) return { units: new Uint8Array(buffer, bytes.byteOffset, bytes.byteLength), words: 1 };
  if (itemSize === 2) return { units: new Uint16Array(buffer, bytes.byteOffset, bytes.byteLength >> 1), words: 1 };
  return { units: new Uint32Array(buffer, bytes.byteOffset, bytes.byteLength >> 2), words: itemSize >> 2 };
}

/** Copies the strided view into contiguous (row-major) order; bit-exact, as it moves integers. */
function gather(storage: Uint8Array, t: TensorRef, out: Uint8Array): void {
  const itemSize = t.storage.itemSize;
  const base = t.storage.elementOffset + t.offset;
  const numel = t.numel;
  const rank = t.shape.length;
  let contiguous = true;
  for (let d = rank - 1, expected = 1; d >= 0; d--) {
    if (t.shape[d] !== 1 && t.stride[d] !== expected) contiguous = false;
    expected *= t.shape[d];
  }
  if (contiguous) {
    out.set(storage.subarray(base * itemSize, (base + numel) * itemSize));
    return;
  }
  const src = unitsOf(storage, itemSize);
  const dst = unitsOf(out, itemSize);
  const w = src.words;
  const index = new Array<number>(rank).fill(0);
  let element = base;
  for (let k = 0; k < numel; k++) {
    for (let j = 0; j < w; j++) dst.units[k * w + j] = src.units[element * w + j];
    // Odometer over the dimensions, innermost first.
    for (let d = rank - 1; d >= 0; d--) {
      index[d]++;
      element += t.stride[d];
      if (index[d] < t.shape[d]) break;
      element -= t.stride[d] * t.shape[d];
      index[d] = 0;
    }
  }
}

function typedArray(dtype: DType, bytes: Uint8Array): TensorData {
  switch (dtype) {
    case 'F32': return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    case 'F64': return new Float64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8);
    case 'I64': return new BigInt64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8);
    case 'F16':
    case 'BF16': return new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);
  }
}

function materialise(entries: [string, TensorRef][], unpickled: Unpickled, src: ByteSource): Pick<TorchCheckpoint, 'tensors' | 'skipped'> {
  const fail = (m: string): never => {
    throw new TorchCheckpointError(src.name, m);
  };
  let budget = BUDGET_FACTOR * src.size + BUDGET_SLACK;
  const skipped: TorchCheckpoint['skipped'] = [];
  const out = new Map<string, { entry: TensorEntry; order: number }>();
  // One storage at a time: read it, copy out every selected tensor that views it, let it go.
  const byStorage = new Map<string, [string, TensorRef, number][]>();
  entries.forEach(([name, t], order) => {
    if (!ENTRY_DTYPES[t.storage.dtype]) {
      skipped.push({ name, dtype: t.storage.dtype });
      return;
    }
    const list = byStorage.get(t.storage.key) ?? [];
    list.push([name, t, order]);
    byStorage.set(t.storage.key, list);
  });
  for (const [key, tensors] of byStorage) {
    const needsData = tensors.some(([, t]) => t.numel > 0);
    const root = tensors[0][1].storage;
    let bytes: Uint8Array = new Uint8Array(0);
    if (needsData) {
      bytes = unpickled.readStorage(key);
      const extent = tensors.reduce((m, [, t]) => Math.max(m, (t.storage.elementOffset + t.storage.numel) * t.storage.itemSize), 0);
      if (bytes.length < extent) fail(`storage '${key}' holds ${bytes.length} bytes, but its tensors need ${extent} (${root.dtype}): truncated`);
    }
    for (const [name, t, order] of tensors) {
      const size = t.numel * t.storage.itemSize;
      if (size > budget || size > bufferConstants.MAX_LENGTH) {
        fail(`tensor '${name}' of size [${t.shape.join(', ')}] would need ${size} bytes, more than a file of ${src.size} bytes can hold`);
      }
      budget -= size;
      const data = new Uint8Array(size);
      if (size > 0) gather(bytes, t, data);
      out.set(name, { entry: { dtype: ENTRY_DTYPES[t.storage.dtype]!, shape: [...t.shape], data: typedArray(ENTRY_DTYPES[t.storage.dtype]!, data) }, order });
    }
  }
  const tensors = new Map([...out.entries()].sort((a, b) => a[1].order - b[1].order).map(([name, v]) => [name, v.entry]));
  return { tensors, skipped };
}

