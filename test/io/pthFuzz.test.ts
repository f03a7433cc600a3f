// The .pth reader over thousands of mutated checkpoints, made in-process from the torch.save fixtures: byte flips,
// truncations, corrupted zip and pickle length fields, huge declared sizes, duplicated and recursive memo references,
// deep nesting. Each file must either load or fail with a TorchCheckpointError naming it, within a time bound (no
// hang); anything else (a TypeError, a RangeError, an out-of-memory) is a crash.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { memorySource } from '../../src/io/pth/byteSource.js';
import { unpickle } from '../../src/io/pth/pickle.js';
import { parseTorchCheckpoint, TorchCheckpointError } from '../../src/io/pth/torchCheckpoint.js';
import { TorchPickleHooks } from '../../src/io/pth/torchPickle.js';
import { ZipArchive } from '../../src/io/pth/zipArchive.js';
import { PTH_DIR, makeZip, readManifest } from './pthFixtures.js';

/** Generous: a parse of these small files takes milliseconds; only a hang (or a quadratic blow-up) reaches it. */
const PER_FILE_MS = 2000;

/** mulberry32: a small seeded generator, so that a failing case can be replayed from its name. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Base {
  name: string;
  bytes: Uint8Array;
  format: 'zip' | 'legacy';
  /** Zip: the archive's records, data.pkl among them. */
  records?: { name: string; data: Uint8Array }[];
  pickleName?: string;
  /** Legacy: where the object pickle starts and ends, and where each storage's element count lies. */
  legacy?: { objectStart: number; objectEnd: number; countOffsets: number[] };
}

function loadBases(): Base[] {
  return Object.entries(readManifest()).map(([name, m]) => {
    const bytes = new Uint8Array(readFileSync(path.join(PTH_DIR, name)));
    if (m.format === 'zip') {
      const zip = ZipArchive.open(memorySource(bytes, name));
      const records = [...zip.entries.values()].sort((a, b) => a.localHeaderOffset - b.localHeaderOffset).map((e) => ({ name: e.name, data: zip.read(e) }));
      return { name, bytes, format: 'zip', records, pickleName: records.find((r) => r.name.endsWith('/data.pkl'))!.name };
    }
    const hooks = new TorchPickleHooks(name);
    let at = 0;
    for (let i = 0; i < 3; i++) at = unpickle(bytes, hooks, at).end;
    const objectStart = at;
    at = unpickle(bytes, hooks, at).end;
    const objectEnd = at;
    const keys = unpickle(bytes, hooks, at);
    const countOffsets: number[] = [];
    let offset = keys.end;
    for (const key of keys.value as string[]) {
      countOffsets.push(offset);
      const s = hooks.storages.get(key)!;
      offset += 8 + s.numel * s.itemSize;
    }
    return { name, bytes, format: 'legacy', legacy: { objectStart, objectEnd, countOffsets } };
  });
}

const EXTREMES = [0, 1, 0x7f, 0xff, 0x7fff, 0xffff, 0x7fffffff, 0x80000000, 0xfffffff0, 0xffffffff];

function flipBytes(bytes: Uint8Array, r: () => number, from = 0, to = bytes.length): Uint8Array {
  const out = bytes.slice();
  const n = 1 + Math.floor(r() * 8);
  for (let i = 0; i < n && to > from; i++) out[from + Math.floor(r() * (to - from))] ^= 1 + Math.floor(r() * 255);
  return out;
}

function writeU32(bytes: Uint8Array, at: number, value: number): void {
  if (at + 4 <= bytes.length) new DataView(bytes.buffer, bytes.byteOffset).setUint32(at, value >>> 0, true);
}

/** Offsets of the zip's numeric fields (end record, central entries, local headers) to corrupt. */
function zipFieldOffsets(bytes: Uint8Array): { at: number; width: 2 | 4 }[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fields: { at: number; width: 2 | 4 }[] = [];
  for (let i = 0; i + 4 <= bytes.length; i++) {
    const sig = view.getUint32(i, true);
    if (sig === 0x06054b50) fields.push({ at: i + 8, width: 2 }, { at: i + 10, width: 2 }, { at: i + 12, width: 4 }, { at: i + 16, width: 4 }, { at: i + 20, width: 2 });
    if (sig === 0x02014b50) fields.push({ at: i + 10, width: 2 }, { at: i + 20, width: 4 }, { at: i + 24, width: 4 }, { at: i + 28, width: 2 }, { at: i + 30, width: 2 }, { at: i + 42, width: 4 });
    if (sig === 0x04034b50) fields.push({ at: i + 18, width: 4 }, { at: i + 22, width: 4 }, { at: i + 26, width: 2 }, { at: i + 28, width: 2 });
  }
  return fields;
}

/** Positions of opcodes with a length or index argument in a pickle (found by their byte, so some hits are data: also fine). */
function argumentOffsets(pickle: Uint8Array): { at: number; width: 1 | 4 }[] {
  const out: { at: number; width: 1 | 4 }[] = [];
  for (let i = 0; i < pickle.length - 1; i++) {
    const op = pickle[i];
    if (op === 0x58 || op === 0x4a || op === 0x72 || op === 0x6a || op === 0x42 || op === 0x8b) out.push({ at: i + 1, width: 4 }); // X J r j B LONG4
    if (op === 0x71 || op === 0x68 || op === 0x4b || op === 0x8c || op === 0x8a || op === 0x55 || op === 0x43) out.push({ at: i + 1, width: 1 }); // q h K ...
  }
  return out;
}

/** Duplicated and recursive memo references: BINGET indices pointed at other stored objects (containers included). */
function rewireMemo(pickle: Uint8Array, r: () => number): Uint8Array {
  const out = pickle.slice();
  const puts: number[] = [];
  const gets: number[] = [];
  for (let i = 0; i < out.length - 1; i++) {
    if (out[i] === 0x71) puts.push(out[i + 1]);
    if (out[i] === 0x68) gets.push(i + 1);
  }
  const n = 1 + Math.floor(r() * 4);
  for (let k = 0; k < n && gets.length && puts.length; k++) out[gets[Math.floor(r() * gets.length)]] = puts[Math.floor(r() * puts.length)];
  return out;
}

/** Inserts `h<i> a` / `h<i> X<key> s`-style splices right after a container is memoised, making it contain itself. */
function selfReference(pickle: Uint8Array, r: () => number): Uint8Array {
  const spots: { at: number; index: number; kind: 'list' | 'dict' }[] = [];
  for (let i = 0; i + 2 < pickle.length; i++) {
    if ((pickle[i] === 0x5d || pickle[i] === 0x7d) && pickle[i + 1] === 0x71) spots.push({ at: i + 3, index: pickle[i + 2], kind: pickle[i] === 0x5d ? 'list' : 'dict' });
  }
  if (spots.length === 0) return pickle;
  const s = spots[Math.floor(r() * spots.length)];
  const splice = s.kind === 'list' ? Uint8Array.of(0x68, s.index, 0x61) : Uint8Array.of(0x58, 4, 0, 0, 0, 0x73, 0x65, 0x6c, 0x66, 0x68, s.index, 0x73);
  const out = new Uint8Array(pickle.length + splice.length);
  out.set(pickle.subarray(0, s.at));
  out.set(splice, s.at);
  out.set(pickle.subarray(s.at), s.at + splice.length);
  return out;
}

function corruptArguments(pickle: Uint8Array, r: () => number): Uint8Array {
  const out = pickle.slice();
  const args = argumentOffsets(out);
  const n = 1 + Math.floor(r() * 3);
  for (let k = 0; k < n && args.length; k++) {
    const a = args[Math.floor(r() * args.length)];
    const value = EXTREMES[Math.floor(r() * EXTREMES.length)];
    if (a.width === 1) out[a.at] = value & 0xff;
    else writeU32(out, a.at, value);
  }
  return out;
}

function withPickle(base: Base, pickle: Uint8Array): Uint8Array {
  if (base.format === 'zip') return makeZip(base.records!.map((rec) => (rec.name === base.pickleName ? { name: rec.name, data: pickle } : rec)));
  const { objectStart, objectEnd } = base.legacy!;
  const out = new Uint8Array(base.bytes.length - (objectEnd - objectStart) + pickle.length);
  out.set(base.bytes.subarray(0, objectStart));
  out.set(pickle, objectStart);
  out.set(base.bytes.subarray(objectEnd), objectStart + pickle.length);
  return out;
}

function pickleOf(base: Base): Uint8Array {
  if (base.format === 'zip') return base.records!.find((rec) => rec.name === base.pickleName)!.data;
  return base.bytes.subarray(base.legacy!.objectStart, base.legacy!.objectEnd);
}

interface Case {
  name: string;
  bytes: Uint8Array;
}

function* mutations(bases: Base[]): Generator<Case> {
  let seed = 1;
  const next = (kind: string, base: Base, make: (r: () => number) => Uint8Array): Case => {
    const s = seed++;
    return { name: `fuzz-${kind}-${s}-${base.name}`, bytes: make(rng(s)) };
  };
  for (let round = 0; round < 60; round++) {
    for (const base of bases) {
      yield next('flip', base, (r) => flipBytes(base.bytes, r));
      if (round % 2 === 0) yield next('truncate', base, (r) => base.bytes.slice(0, Math.floor(r() * base.bytes.length)));
      yield next('pickle-flip', base, (r) => withPickle(base, flipBytes(pickleOf(base), r)));
      yield next('pickle-length', base, (r) => withPickle(base, corruptArguments(pickleOf(base), r)));
      if (round % 2 === 1) yield next('memo-rewire', base, (r) => withPickle(base, rewireMemo(pickleOf(base), r)));
      if (round % 3 === 0) yield next('self-reference', base, (r) => withPickle(base, selfReference(pickleOf(base), r)));
      if (base.format === 'zip') {
        yield next('zip-field', base, (r) => {
          const out = base.bytes.slice();
          const fields = zipFieldOffsets(out);
          const f = fields[Math.floor(r() * fields.length)];
          const value = r() < 0.5 ? EXTREMES[Math.floor(r() * EXTREMES.length)] : Math.floor(r() * 2 * out.length);
          if (f.width === 2) new DataView(out.buffer).setUint16(f.at, value & 0xffff, true);
          else writeU32(out, f.at, value);
          return out;
        });
      } else {
        yield next('storage-count', base, (r) => {
          const out = base.bytes.slice();
          const offsets = base.legacy!.countOffsets;
          const at = offsets[Math.floor(r() * offsets.length)];
          const huge = [2n ** 62n, 2n ** 31n, -1n, 0n, BigInt(Math.floor(r() * 1e6))][Math.floor(r() * 5)];
          new DataView(out.buffer).setBigInt64(at, huge, true);
          return out;
        });
      }
    }
  }
  // Hand-made pathological pickles inside a torch.save-shaped zip.
  const zipOf = (pickle: number[]) => makeZip([{ name: 'archive/data.pkl', data: Uint8Array.from(pickle) }]);
  const repeat = (n: number, ops: number[]) => Array.from({ length: n }, () => ops).flat();
  yield { name: 'fuzz-deep-lists.pth', bytes: zipOf([0x80, 2, ...repeat(200_000, [0x5d]), ...repeat(199_999, [0x61]), 0x2e]) };
  yield { name: 'fuzz-deep-tuples.pth', bytes: zipOf([0x80, 2, 0x4e, ...repeat(200_000, [0x85]), 0x2e]) };
  yield { name: 'fuzz-mark-bomb.pth', bytes: zipOf([0x80, 2, ...repeat(200_000, [0x28]), 0x2e]) };
  yield { name: 'fuzz-dup-bomb.pth', bytes: zipOf([0x80, 2, 0x5d, ...repeat(200_000, [0x32]), 0x2e]) };
  // {'model': <the dict itself>}: a state dict that contains itself.
  yield { name: 'fuzz-model-is-root.pth', bytes: zipOf([0x80, 2, 0x7d, 0x71, 0, 0x58, 5, 0, 0, 0, ...Buffer.from('model'), 0x68, 0, 0x73, 0x2e]) };
  // A list that holds itself 100,000 times.
  yield { name: 'fuzz-self-list.pth', bytes: zipOf([0x80, 2, 0x5d, 0x71, 0, 0x28, ...repeat(100_000, [0x68, 0]), 0x65, 0x2e]) };
}

describe('.pth reader fuzz', () => {
  it('loads or fails cleanly, naming the file, on every one of >= 2,000 mutated checkpoints, each within the time bound', () => {
    const bases = loadBases();
    expect(bases.map((b) => b.format).sort()).toEqual(['legacy', 'legacy', 'legacy', 'zip', 'zip', 'zip', 'zip']);
    const crashes: string[] = [];
    const slow: string[] = [];
    const outcomes = new Map<string, number>();
    let total = 0;
    let loaded = 0;
    let worstMs = 0;
    for (const c of mutations(bases)) {
      total++;
      const started = performance.now();
      try {
        parseTorchCheckpoint(c.bytes, c.name);
        loaded++;
      } catch (err) {
        if (!(err instanceof TorchCheckpointError) || !err.message.startsWith(`${c.name}: `)) {
          crashes.push(`${c.name}: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
        } else {
          const reason = err.reason.replace(/\d+/g, 'N').replace(/'[^']*'/g, "'…'").slice(0, 60);
          outcomes.set(reason, (outcomes.get(reason) ?? 0) + 1);
        }
      }
      const ms = performance.now() - started;
      worstMs = Math.max(worstMs, ms);
      if (ms > PER_FILE_MS) slow.push(`${c.name}: ${ms.toFixed(0)} ms`);
    }
    console.log(`pth fuzz: ${total} files, ${loaded} loaded, ${total - loaded - crashes.length} clean errors (${outcomes.size} kinds), ` +
      `${crashes.length} crashes, slowest ${worstMs.toFixed(1)} ms`);
    expect(crashes).toEqual([]);
    expect(slow).toEqual([]);
    expect(total).toBeGreaterThanOrEqual(2000);
    // The mutations reach deep: many distinct errors, and some mutated files still load (e.g. flips in tensor data of legacy files).
    expect(outcomes.size).toBeGreaterThan(30);
    expect(loaded).toBeGreaterThan(0);
  });
});
