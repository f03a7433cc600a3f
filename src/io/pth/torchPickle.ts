// What a PyTorch checkpoint's pickle may contain, and nothing more: tensors (torch._utils._rebuild_tensor_v2,
// _rebuild_tensor, _rebuild_parameter) over typed storages (persistent ids), OrderedDicts, and the plain data of a
// training checkpoint's other entries. argparse.Namespace (the 'args' of DeiT / ManifoldKD checkpoints) becomes an
// opaque record of its fields: nothing of it is run. Any other global is refused, naming it.
import { PyCustom, PyDict, PyGlobal, PyTuple, pyTypeName, type PickleHooks, type PyValue } from './pickle.js';
import { TorchCheckpointError } from './torchCheckpointError.js';

export type StorageDType = 'F32' | 'F16' | 'BF16' | 'F64' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL' | 'C64' | 'C128';

const STORAGE_TYPES: Readonly<Record<string, { dtype: StorageDType; itemSize: number }>> = {
  FloatStorage: { dtype: 'F32', itemSize: 4 },
  HalfStorage: { dtype: 'F16', itemSize: 2 },
  BFloat16Storage: { dtype: 'BF16', itemSize: 2 },
  DoubleStorage: { dtype: 'F64', itemSize: 8 },
  LongStorage: { dtype: 'I64', itemSize: 8 },
  IntStorage: { dtype: 'I32', itemSize: 4 },
  ShortStorage: { dtype: 'I16', itemSize: 2 },
  CharStorage: { dtype: 'I8', itemSize: 1 },
  ByteStorage: { dtype: 'U8', itemSize: 1 },
  BoolStorage: { dtype: 'BOOL', itemSize: 1 },
  ComplexFloatStorage: { dtype: 'C64', itemSize: 8 },
  ComplexDoubleStorage: { dtype: 'C128', itemSize: 16 },
};

type GlobalKind = 'ordered-dict' | 'rebuild-tensor-v2' | 'rebuild-tensor' | 'rebuild-parameter' | 'opaque' | 'set' | 'codecs-encode';

const ALLOWED_GLOBALS: ReadonlyMap<string, GlobalKind> = new Map<string, GlobalKind>([
  ['collections.OrderedDict', 'ordered-dict'],
  ['torch._utils._rebuild_tensor_v2', 'rebuild-tensor-v2'],
  ['torch._utils._rebuild_tensor', 'rebuild-tensor'],
  ['torch._utils._rebuild_parameter', 'rebuild-parameter'],
  // The training arguments DeiT-style checkpoints carry: a record of fields, never instantiated.
  ['argparse.Namespace', 'opaque'],
  // Plain data as Python 3 pickles it at protocol 2 (sets, and bytes through _codecs.encode).
  ['builtins.set', 'set'], ['builtins.frozenset', 'set'], ['__builtin__.set', 'set'], ['__builtin__.frozenset', 'set'],
  ['_codecs.encode', 'codecs-encode'],
]);

/** Tensor ranks beyond this are not plausible in a checkpoint. */
const MAX_RANK = 64;

class StorageType extends PyGlobal {
  constructor(module: string, name: string, readonly dtype: StorageDType, readonly itemSize: number) {
    super(module, name);
  }
}

class AllowedGlobal extends PyGlobal {
  constructor(module: string, name: string, readonly kind: GlobalKind) {
    super(module, name);
  }
}

/** A typed storage: `numel` elements of `dtype` from element `elementOffset` of the record `key`. */
export class StorageRef extends PyCustom {
  constructor(readonly key: string, readonly dtype: StorageDType, readonly itemSize: number, readonly numel: number, readonly elementOffset: number) {
    super();
  }
  describe(): string {
    return `storage '${this.key}'`;
  }
}

/** A tensor as a view of a storage; its data is read only if the tensor is selected. */
export class TensorRef extends PyCustom {
  constructor(readonly storage: StorageRef, readonly offset: number, readonly shape: number[], readonly stride: number[]) {
    super();
  }
  get numel(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }
  describe(): string {
    return 'Tensor';
  }
}

/** An instance of an allowed class (argparse.Namespace): its arguments and state, kept as data. */
export class OpaqueObject extends PyCustom {
  state: PyValue | undefined;
  constructor(readonly cls: PyGlobal, readonly args: PyTuple) {
    super();
  }
  describe(): string {
    return this.cls.qualifiedName;
  }
}

function isCount(v: PyValue): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

export interface TorchPickleOptions {
  /** Zip checkpoints: whether the archive holds the record of storage `key`. */
  hasStorageRecord?: (key: string) => boolean;
}

/** The hooks of one checkpoint's unpickling; `storages` records every root storage it referenced. */
export class TorchPickleHooks implements PickleHooks {
  /** Root storages by key: their dtype and element count, as the persistent ids declare them. */
  readonly storages = new Map<string, { dtype: StorageDType; itemSize: number; numel: number }>();

  constructor(private readonly source: string, private readonly options: TorchPickleOptions = {}) {}

  private fail(message: string): never {
    throw new TorchCheckpointError(this.source, message);
  }

  findGlobal(module: string, name: string): PyGlobal {
    const qualified = `${module}.${name}`;
    const storage = (module === 'torch' || module === 'torch.cuda') ? STORAGE_TYPES[name] : undefined;
    if (storage) return new StorageType(module, name, storage.dtype, storage.itemSize);
    const kind = ALLOWED_GLOBALS.get(qualified);
    if (kind) return new AllowedGlobal(module, name, kind);
    const hint = module.startsWith('__torch__') ? ' This is a TorchScript archive (torch.jit.save), not a checkpoint: save model.state_dict() with torch.save.'
      : module.startsWith('torch') ? ''
        : ' A checkpoint of a whole pickled object (torch.save(model)) cannot be read safely: save model.state_dict() instead.';
    return this.fail(`refuses the global '${qualified}': only tensors, their storages, OrderedDict and argparse.Namespace are read ` +
      `(loading any other global could run code).${hint}`);
  }

  call(callable: PyGlobal, args: PyTuple): PyValue {
    const kind = callable instanceof AllowedGlobal ? callable.kind : undefined;
    const a = args.items;
    switch (kind) {
      case 'ordered-dict': {
        const dict = new PyDict(true);
        if (a.length === 0) return dict;
        if (a.length === 1 && Array.isArray(a[0])) {
          for (const pair of a[0]) {
            const items = Array.isArray(pair) ? pair : pair instanceof PyTuple ? pair.items : undefined;
            if (!items || items.length !== 2 || !dict.set(items[0], items[1])) this.fail('OrderedDict() built from something other than (key, value) pairs');
          }
          return dict;
        }
        return this.fail(`OrderedDict() called with ${a.length} arguments`);
      }
      case 'rebuild-tensor-v2':
        if (a.length !== 6 && a.length !== 7) this.fail(`_rebuild_tensor_v2 called with ${a.length} arguments (expected 6 or 7)`);
        return this.tensor(a[0], a[1], a[2], a[3]);
      case 'rebuild-tensor':
        if (a.length !== 4) this.fail(`_rebuild_tensor called with ${a.length} arguments (expected 4)`);
        return this.tensor(a[0], a[1], a[2], a[3]);
      case 'rebuild-parameter':
        if (a.length !== 3 || !(a[0] instanceof TensorRef)) this.fail('_rebuild_parameter expects (tensor, requires_grad, hooks)');
        return a[0];
      case 'opaque':
        return new OpaqueObject(callable, args);
      case 'set':
        if (a.length === 0) return [];
        if (a.length === 1 && Array.isArray(a[0])) return [...a[0]];
        return this.fail(`${callable.qualifiedName}() expects one list`);
      case 'codecs-encode': {
        const [text, encoding] = a;
        if (a.length !== 2 || typeof text !== 'string' || (encoding !== 'latin1' && encoding !== 'latin-1')) {
          this.fail('_codecs.encode is read only as encode(str, "latin1"), the way pickle stores bytes');
        }
        const bytes = new Uint8Array((text as string).length);
        for (let i = 0; i < bytes.length; i++) {
          const c = (text as string).charCodeAt(i);
          if (c > 0xff) this.fail('_codecs.encode of a character outside latin-1');
          bytes[i] = c;
        }
        return bytes;
      }
      default:
        return this.fail(`cannot call '${callable.qualifiedName}' (REDUCE)`);
    }
  }

  newObject(cls: PyGlobal, args: PyTuple): PyValue {
    const kind = cls instanceof AllowedGlobal ? cls.kind : undefined;
    if (kind === 'opaque') return new OpaqueObject(cls, args);
    if (kind === 'ordered-dict') return new PyDict(true);
    return this.fail(`cannot instantiate '${cls.qualifiedName}' (NEWOBJ)`);
  }

  build(obj: PyValue, state: PyValue): void {
    if (obj instanceof PyDict || obj instanceof OpaqueObject) {
      obj.state = state;
      return;
    }
    this.fail(`cannot set the state of a ${pyTypeName(obj)} (BUILD)`);
  }

  persistentLoad(pid: PyValue): PyValue {
    const items = pid instanceof PyTuple ? pid.items : undefined;
    if (!items || items[0] !== 'storage' || (items.length !== 5 && items.length !== 6)) {
      return this.fail(`a persistent id that is not a storage: ${pyTypeName(pid)}${items ? ` of ${items.length} items` : ''}`);
    }
    const [, type, rawKey, location, numel, view] = items;
    if (!(type instanceof StorageType)) return this.fail(`a storage whose type is ${pyTypeName(type)}, not a torch storage class`);
    if (typeof rawKey !== 'string' && !isCount(rawKey)) return this.fail(`a storage key that is a ${pyTypeName(rawKey)}`);
    const key = String(rawKey);
    if (typeof location !== 'string') return this.fail(`storage '${key}': its location is a ${pyTypeName(location)}, not a string`);
    if (!isCount(numel)) return this.fail(`storage '${key}': its size ${String(numel)} is not a count`);
    const known = this.storages.get(key);
    if (known && (known.dtype !== type.dtype || known.numel !== numel)) {
      this.fail(`storage '${key}' is declared twice, as ${known.numel} × ${known.dtype} and as ${numel} × ${type.dtype}`);
    }
    if (this.options.hasStorageRecord && !this.options.hasStorageRecord(key)) this.fail(`storage '${key}' has no data record in the archive`);
    this.storages.set(key, { dtype: type.dtype, itemSize: type.itemSize, numel });
    if (view === undefined || view === null) return new StorageRef(key, type.dtype, type.itemSize, numel, 0);
    // Legacy files: a view (view_key, offset, size) of the root storage, in elements.
    const v = view instanceof PyTuple ? view.items : undefined;
    if (!v || v.length !== 3 || !isCount(v[1]) || !isCount(v[2]) || v[1] + v[2] > numel) {
      return this.fail(`storage '${key}': a malformed storage view`);
    }
    return new StorageRef(key, type.dtype, type.itemSize, v[2] as number, v[1] as number);
  }

  private tensor(storage: PyValue, offset: PyValue, size: PyValue, stride: PyValue): TensorRef {
    if (!(storage instanceof StorageRef)) return this.fail(`a tensor over a ${pyTypeName(storage)}, not a storage`);
    if (!isCount(offset)) return this.fail(`a tensor over storage '${storage.key}' with a bad storage offset ${String(offset)}`);
    const shape = size instanceof PyTuple ? size.items : undefined;
    const strides = stride instanceof PyTuple ? stride.items : undefined;
    if (!shape || !strides || shape.length !== strides.length || shape.length > MAX_RANK || !shape.every(isCount) || !strides.every(isCount)) {
      return this.fail(`a tensor over storage '${storage.key}' with a malformed size or stride`);
    }
    let numel = 1;
    let last = offset;
    for (let d = 0; d < shape.length; d++) {
      numel *= shape[d] as number;
      if (!Number.isSafeInteger(numel)) this.fail(`a tensor of implausible size [${shape.join(', ')}]`);
    }
    if (numel > 0) {
      for (let d = 0; d < shape.length; d++) {
        last += ((shape[d] as number) - 1) * (strides[d] as number);
        if (!Number.isSafeInteger(last)) this.fail(`a tensor over storage '${storage.key}' with implausible strides`);
      }
      if (last >= storage.numel) {
        this.fail(`a tensor of size [${shape.join(', ')}] with strides [${strides.join(', ')}] at offset ${offset} reaches element ${last} of storage '${storage.key}', which holds ${storage.numel}`);
      }
    }
    return new TensorRef(storage, offset, shape as number[], strides as number[]);
  }
}
