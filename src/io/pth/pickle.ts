// A restricted unpickler: it builds plain data (None, bools, ints, floats, strings, bytes, lists, tuples, dicts)
// from Python's pickle opcodes and executes nothing. Every global, call (REDUCE, NEWOBJ), BUILD and persistent id
// goes to the caller's hooks, which allow a short list and refuse the rest. It is iterative (no recursion), each
// opcode consumes at least one byte, and every length is checked against the bytes left, so malformed input ends
// in a PickleError, never in a crash, a hang or an allocation larger than the input.

/** A Python object the hooks made (a tensor, a storage, an opaque instance). */
export abstract class PyCustom {
  abstract describe(): string;
}

export class PyTuple {
  constructor(readonly items: readonly PyValue[]) {}
}

/** A dict (or OrderedDict) in insertion order; primitive keys are unique, as in Python. */
export class PyDict {
  readonly entries: [PyValue, PyValue][] = [];
  private readonly index = new Map<string | number | bigint | boolean | null, number>();
  /** State BUILD set on the dict instance (an OrderedDict's `_metadata`); kept, never interpreted. */
  state: PyValue | undefined;
  constructor(readonly ordered = false) {}

  set(key: PyValue, value: PyValue): boolean {
    if (!isHashable(key)) return false;
    if (isPrimitive(key)) {
      const at = this.index.get(key);
      if (at !== undefined) {
        this.entries[at][1] = value;
        return true;
      }
      this.index.set(key, this.entries.length);
    }
    this.entries.push([key, value]);
    return true;
  }

  get(key: string): PyValue | undefined {
    const at = this.index.get(key);
    return at === undefined ? undefined : this.entries[at][1];
  }

  get size(): number {
    return this.entries.length;
  }
}

/** A global the hooks allowed (a class or function); it is only a name until a hook interprets a call to it. */
export class PyGlobal {
  constructor(readonly module: string, readonly name: string) {}
  get qualifiedName(): string {
    return `${this.module}.${this.name}`;
  }
}

export type PyValue = null | boolean | number | bigint | string | Uint8Array | PyValue[] | PyTuple | PyDict | PyGlobal | PyCustom;

function isPrimitive(v: PyValue): v is string | number | bigint | boolean | null {
  return v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean';
}

function isHashable(v: PyValue): boolean {
  return isPrimitive(v) || v instanceof PyTuple || v instanceof PyGlobal || v instanceof Uint8Array || v instanceof PyCustom;
}

export function pyTypeName(v: PyValue | undefined): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'None';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  if (typeof v === 'bigint') return 'int';
  if (typeof v === 'string') return 'str';
  if (v instanceof Uint8Array) return 'bytes';
  if (Array.isArray(v)) return 'list';
  if (v instanceof PyTuple) return 'tuple';
  if (v instanceof PyDict) return v.ordered ? 'OrderedDict' : 'dict';
  if (v instanceof PyGlobal) return v.qualifiedName;
  return v.describe();
}

export class PickleError extends Error {
  constructor(message: string, readonly truncated = false) {
    super(message);
    this.name = 'PickleError';
  }
}

export interface PickleHooks {
  /** GLOBAL / STACK_GLOBAL: the allowed global, or a throw naming it. */
  findGlobal(module: string, name: string): PyGlobal;
  /** REDUCE: `callable(*args)`. */
  call(callable: PyGlobal, args: PyTuple): PyValue;
  /** NEWOBJ / NEWOBJ_EX: `cls.__new__(cls, *args)`. */
  newObject(cls: PyGlobal, args: PyTuple): PyValue;
  /** BUILD: `obj.__setstate__(state)` or its __dict__ update; returns nothing, may throw. */
  build(obj: PyValue, state: PyValue): void;
  /** BINPERSID / PERSID. */
  persistentLoad(pid: PyValue): PyValue;
}

const MAX_TEXT_LINE = 4096;

const enum Op {
  MARK = 0x28, STOP = 0x2e, POP = 0x30, POP_MARK = 0x31, DUP = 0x32, FLOAT = 0x46, INT = 0x49, BININT = 0x4a,
  BININT1 = 0x4b, LONG = 0x4c, BININT2 = 0x4d, NONE = 0x4e, PERSID = 0x50, BINPERSID = 0x51, REDUCE = 0x52,
  BINSTRING = 0x54, SHORT_BINSTRING = 0x55, BINUNICODE = 0x58, APPEND = 0x61, BUILD = 0x62, GLOBAL = 0x63,
  DICT = 0x64, EMPTY_DICT = 0x7d, APPENDS = 0x65, GET = 0x67, BINGET = 0x68, LONG_BINGET = 0x6a, LIST = 0x6c,
  EMPTY_LIST = 0x5d, PUT = 0x70, BINPUT = 0x71, LONG_BINPUT = 0x72, SETITEM = 0x73, TUPLE = 0x74,
  EMPTY_TUPLE = 0x29, SETITEMS = 0x75, BINFLOAT = 0x47, BINBYTES = 0x42, SHORT_BINBYTES = 0x43,
  PROTO = 0x80, NEWOBJ = 0x81, TUPLE1 = 0x85, TUPLE2 = 0x86, TUPLE3 = 0x87, NEWTRUE = 0x88, NEWFALSE = 0x89,
  LONG1 = 0x8a, LONG4 = 0x8b, SHORT_BINUNICODE = 0x8c, BINUNICODE8 = 0x8d, BINBYTES8 = 0x8e, EMPTY_SET = 0x8f,
  ADDITEMS = 0x90, FROZENSET = 0x91, NEWOBJ_EX = 0x92, STACK_GLOBAL = 0x93, MEMOIZE = 0x94, FRAME = 0x95,
}

/** Opcodes that exist but that a checkpoint has no business using (code paths to arbitrary objects). */
const REFUSED: Record<number, string> = {
  0x69: 'INST', 0x6f: 'OBJ', 0x82: 'EXT1', 0x83: 'EXT2', 0x84: 'EXT4', 0x96: 'BYTEARRAY8', 0x97: 'NEXT_BUFFER',
  0x98: 'READONLY_BUFFER', 0x53: 'STRING', 0x56: 'UNICODE',
};

const MARK = Symbol('mark');
type StackItem = PyValue | typeof MARK;

/** Little-endian two's complement of LONG1/LONG4, as a number when exact, else a bigint. */
function decodeLong(bytes: Uint8Array): number | bigint {
  if (bytes.length === 0) return 0;
  let value = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i]);
  if (bytes[bytes.length - 1] & 0x80) value -= 1n << BigInt(8 * bytes.length);
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}

/** Longs beyond this many bytes are not plausible in a checkpoint (a 2^8192 integer); refusing them bounds BigInt work. */
const MAX_LONG_BYTES = 1024;

export interface UnpickleResult {
  value: PyValue;
  /** The offset just after STOP. */
  end: number;
}

/** Unpickles one object starting at `start`. */
export function unpickle(data: Uint8Array, hooks: PickleHooks, start = 0): UnpickleResult {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const stack: StackItem[] = [];
  const marks: number[] = [];
  const memo = new Map<number, PyValue>();
  let pos = start;
  let opAt = start;
  const fail = (message: string): never => {
    throw new PickleError(`pickle byte ${opAt}: ${message}`);
  };
  const need = (n: number, what: string): void => {
    if (!(n >= 0) || pos + n > data.length) {
      throw new PickleError(`pickle byte ${opAt}: ${what} needs ${n} bytes but ${data.length - pos} are left (truncated)`, true);
    }
  };
  const take = (n: number, what: string): Uint8Array => {
    need(n, what);
    const out = data.subarray(pos, pos + n);
    pos += n;
    return out;
  };
  const readU64 = (what: string): bigint => {
    need(8, what);
    const n = view.getBigUint64(pos, true);
    pos += 8;
    return n;
  };
  /** `n` bytes (a 64-bit length); with `consume` false, only checks that they are there. */
  const takeBig = (n: bigint, what: string, consume = true): Uint8Array => {
    if (n > BigInt(data.length - pos)) {
      throw new PickleError(`pickle byte ${opAt}: ${what} needs ${n} bytes but ${data.length - pos} are left (truncated)`, true);
    }
    return consume ? take(Number(n), what) : data.subarray(pos, pos);
  };
  const line = (what: string): string => {
    const window = data.subarray(pos, pos + MAX_TEXT_LINE + 1);
    const length = window.indexOf(0x0a);
    if (length < 0) {
      if (window.length <= MAX_TEXT_LINE) throw new PickleError(`pickle byte ${opAt}: ${what} has no end of line (truncated)`, true);
      fail(`${what} is not a line of at most ${MAX_TEXT_LINE} bytes`);
    }
    const text = new TextDecoder('latin1').decode(window.subarray(0, length));
    pos += length + 1;
    return text;
  };
  const pop = (): PyValue => {
    const markFloor = marks.length ? marks[marks.length - 1] : 0;
    if (stack.length <= markFloor) fail('the stack is empty (or only a MARK is left)');
    return stack.pop() as PyValue;
  };
  const top = (): PyValue => {
    const markFloor = marks.length ? marks[marks.length - 1] : 0;
    if (stack.length <= markFloor) fail('the stack is empty');
    return stack[stack.length - 1] as PyValue;
  };
  const popMark = (): PyValue[] => {
    const mark = marks.pop();
    if (mark === undefined) fail('no MARK to pop to');
    const items = stack.splice(mark as number) as PyValue[];
    if (stack.pop() !== MARK) fail('the MARK is missing from the stack');
    return items;
  };
  const push = (v: PyValue): void => {
    stack.push(v);
  };
  const memoGet = (index: number): void => {
    const v = memo.get(index);
    if (v === undefined) fail(`memo entry ${index} was never stored`);
    push(v as PyValue);
  };
  const memoPut = (index: number): void => {
    memo.set(index, top());
  };
  const utf8 = (bytes: Uint8Array): string => new TextDecoder('utf-8').decode(bytes);
  const setItems = (dict: PyValue, pairs: PyValue[]): void => {
    if (!(dict instanceof PyDict)) fail(`SETITEM(S) on a ${pyTypeName(dict)}, not a dict`);
    if (pairs.length % 2 !== 0) fail('SETITEMS with an odd number of items');
    for (let i = 0; i < pairs.length; i += 2) {
      if (!(dict as PyDict).set(pairs[i], pairs[i + 1])) fail(`a dict key of type ${pyTypeName(pairs[i])} is unhashable`);
    }
  };
  const appendTo = (list: PyValue, items: PyValue[]): void => {
    if (!Array.isArray(list)) fail(`APPEND(S) on a ${pyTypeName(list)}, not a list`);
    for (const item of items) (list as PyValue[]).push(item);
  };
  const asGlobal = (v: PyValue, what: string): PyGlobal => {
    if (!(v instanceof PyGlobal)) fail(`${what} on a ${pyTypeName(v)}, not a class or function`);
    return v as PyGlobal;
  };
  const asTuple = (v: PyValue, what: string): PyTuple => {
    if (!(v instanceof PyTuple)) fail(`${what} arguments are a ${pyTypeName(v)}, not a tuple`);
    return v as PyTuple;
  };

  for (;;) {
    opAt = pos;
    need(1, 'an opcode');
    const op = data[pos++];
    switch (op) {
      case Op.PROTO: {
        const version = take(1, 'PROTO')[0];
        if (version > 5) fail(`pickle protocol ${version} is not supported (0 to 5)`);
        break;
      }
      case Op.FRAME:
        // Frames only group opcodes for buffered reading; the length is checked and the contents read as usual.
        takeBig(readU64('FRAME'), 'FRAME', false);
        break;
      case Op.STOP: {
        if (stack.length === 0) fail('STOP with an empty stack');
        const value = stack[stack.length - 1];
        if (value === MARK) fail('STOP with a MARK on top of the stack');
        return { value: value as PyValue, end: pos };
      }
      case Op.MARK:
        marks.push(stack.length + 1);
        stack.push(MARK);
        break;
      case Op.POP:
        pop();
        break;
      case Op.POP_MARK:
        popMark();
        break;
      case Op.DUP:
        push(top());
        break;
      case Op.NONE: push(null); break;
      case Op.NEWTRUE: push(true); break;
      case Op.NEWFALSE: push(false); break;
      case Op.BININT: need(4, 'BININT'); push(view.getInt32(pos, true)); pos += 4; break;
      case Op.BININT1: push(take(1, 'BININT1')[0]); break;
      case Op.BININT2: need(2, 'BININT2'); push(view.getUint16(pos, true)); pos += 2; break;
      case Op.LONG1: {
        const n = take(1, 'LONG1')[0];
        push(decodeLong(take(n, 'LONG1')));
        break;
      }
      case Op.LONG4: {
        need(4, 'LONG4');
        const n = view.getInt32(pos, true);
        pos += 4;
        if (n < 0) fail(`LONG4 with a negative length ${n}`);
        if (n > MAX_LONG_BYTES) fail(`an integer of ${n} bytes is implausible`);
        push(decodeLong(take(n, 'LONG4')));
        break;
      }
      case Op.INT: {
        const text = line('INT').trim();
        if (text === '01') push(true);
        else if (text === '00') push(false);
        else if (/^[+-]?\d{1,15}$/.test(text)) push(Number(text));
        else fail(`INT '${text.slice(0, 40)}' is not a plausible integer`);
        break;
      }
      case Op.LONG: {
        const text = line('LONG').trim().replace(/L$/, '');
        if (!/^[+-]?\d{1,300}$/.test(text)) fail(`LONG '${text.slice(0, 40)}' is not an integer`);
        const big = BigInt(text);
        push(big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big);
        break;
      }
      case Op.FLOAT: {
        const text = line('FLOAT').trim();
        const x = Number(text);
        if (text === '' || (Number.isNaN(x) && !/^[+-]?nan$/i.test(text))) fail(`FLOAT '${text.slice(0, 40)}' is not a number`);
        push(x);
        break;
      }
      case Op.BINFLOAT: need(8, 'BINFLOAT'); push(view.getFloat64(pos, false)); pos += 8; break;
      case Op.BINUNICODE: {
        need(4, 'BINUNICODE');
        const n = view.getUint32(pos, true);
        pos += 4;
        push(utf8(take(n, 'BINUNICODE')));
        break;
      }
      case Op.SHORT_BINUNICODE: push(utf8(take(take(1, 'SHORT_BINUNICODE')[0], 'SHORT_BINUNICODE'))); break;
      case Op.BINUNICODE8: push(utf8(takeBig(readU64('BINUNICODE8'), 'BINUNICODE8'))); break;
      case Op.BINSTRING: {
        need(4, 'BINSTRING');
        const n = view.getInt32(pos, true);
        pos += 4;
        if (n < 0) fail(`BINSTRING with a negative length ${n}`);
        push(new TextDecoder('latin1').decode(take(n, 'BINSTRING')));
        break;
      }
      case Op.SHORT_BINSTRING: push(new TextDecoder('latin1').decode(take(take(1, 'SHORT_BINSTRING')[0], 'SHORT_BINSTRING'))); break;
      case Op.BINBYTES: {
        need(4, 'BINBYTES');
        const n = view.getUint32(pos, true);
        pos += 4;
        push(take(n, 'BINBYTES').slice());
        break;
      }
      case Op.SHORT_BINBYTES: push(take(take(1, 'SHORT_BINBYTES')[0], 'SHORT_BINBYTES').slice()); break;
      case Op.BINBYTES8: push(takeBig(readU64('BINBYTES8'), 'BINBYTES8').slice()); break;
      case Op.EMPTY_LIST: push([]); break;
      case Op.EMPTY_TUPLE: push(new PyTuple([])); break;
      case Op.EMPTY_DICT: push(new PyDict()); break;
      case Op.EMPTY_SET: push([]); break;
      case Op.LIST: push(popMark()); break;
      case Op.TUPLE: push(new PyTuple(popMark())); break;
      case Op.FROZENSET: push(popMark()); break;
      case Op.TUPLE1: { const a = pop(); push(new PyTuple([a])); break; }
      case Op.TUPLE2: { const b = pop(); const a = pop(); push(new PyTuple([a, b])); break; }
      case Op.TUPLE3: { const c = pop(); const b = pop(); const a = pop(); push(new PyTuple([a, b, c])); break; }
      case Op.DICT: {
        const items = popMark();
        const dict = new PyDict();
        setItems(dict, items);
        push(dict);
        break;
      }
      case Op.APPEND: { const item = pop(); appendTo(top(), [item]); break; }
      case Op.APPENDS: { const items = popMark(); appendTo(top(), items); break; }
      case Op.ADDITEMS: { const items = popMark(); appendTo(top(), items); break; }
      case Op.SETITEM: { const value = pop(); const key = pop(); setItems(top(), [key, value]); break; }
      case Op.SETITEMS: { const items = popMark(); setItems(top(), items); break; }
      case Op.BINPUT: memoPut(take(1, 'BINPUT')[0]); break;
      case Op.LONG_BINPUT: need(4, 'LONG_BINPUT'); memoPut(view.getUint32(pos, true)); pos += 4; break;
      case Op.MEMOIZE: memoPut(memo.size); break;
      case Op.PUT: {
        const text = line('PUT');
        if (!/^\d{1,10}$/.test(text)) fail(`PUT '${text.slice(0, 40)}' is not an index`);
        memoPut(Number(text));
        break;
      }
      case Op.BINGET: memoGet(take(1, 'BINGET')[0]); break;
      case Op.LONG_BINGET: need(4, 'LONG_BINGET'); memoGet(view.getUint32(pos, true)); pos += 4; break;
      case Op.GET: {
        const text = line('GET');
        if (!/^\d{1,10}$/.test(text)) fail(`GET '${text.slice(0, 40)}' is not an index`);
        memoGet(Number(text));
        break;
      }
      case Op.GLOBAL: {
        const module = line('GLOBAL module');
        const name = line('GLOBAL name');
        push(hooks.findGlobal(module, name));
        break;
      }
      case Op.STACK_GLOBAL: {
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
        push(hooks.findGlobal(module as string, name as string));
        break;
      }
      case Op.REDUCE: {
        const args = asTuple(pop(), 'REDUCE');
        const callable = asGlobal(pop(), 'REDUCE');
        push(hooks.call(callable, args));
        break;
      }
      case Op.NEWOBJ: {
        const args = asTuple(pop(), 'NEWOBJ');
        const cls = asGlobal(pop(), 'NEWOBJ');
        push(hooks.newObject(cls, args));
        break;
      }
      case Op.NEWOBJ_EX: {
        const kwargs = pop();
        const args = asTuple(pop(), 'NEWOBJ_EX');
        const cls = asGlobal(pop(), 'NEWOBJ_EX');
        if (!(kwargs instanceof PyDict) || kwargs.size > 0) fail('NEWOBJ_EX with keyword arguments is not supported');
        push(hooks.newObject(cls, args));
        break;
      }
      case Op.BUILD: {
        const state = pop();
        hooks.build(top(), state);
        break;
      }
      case Op.BINPERSID: push(hooks.persistentLoad(pop())); break;
      case Op.PERSID: push(hooks.persistentLoad(line('PERSID'))); break;
      default:
        fail(REFUSED[op] ? `opcode ${REFUSED[op]} is not allowed in a checkpoint` : `unknown opcode 0x${op.toString(16).padStart(2, '0')}`);
    }
  }
}
