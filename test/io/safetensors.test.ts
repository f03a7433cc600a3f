import { describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  SafetensorsError, parseSafetensors, readSafetensors, serializeSafetensors, toFloat32, writeSafetensors,
  type TensorEntry,
} from '../../src/io/safetensors.js';
import { packageRoot } from '../../src/io/packageRoot.js';
import { floatToHalfBits } from '../../src/io/halfFloat.js';

const fixtures = path.resolve(packageRoot, '..', 'shared', 'fixtures');

/** A file with a hand-written header, for the malformed cases. */
function handMade(header: unknown, dataBytes: number, headerText?: string): Uint8Array {
  const json = new TextEncoder().encode(headerText ?? JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

function sample(): Map<string, TensorEntry> {
  return new Map<string, TensorEntry>([
    ['a.weight', { dtype: 'F32', shape: [2, 3], data: Float32Array.from([1, -2, 3.5, 1e-8, 0, -0]) }],
    ['b', { dtype: 'F64', shape: [1], data: Float64Array.from([Math.PI]) }],
    ['idx', { dtype: 'I64', shape: [3], data: BigInt64Array.from([0n, -5n, 2n ** 40n]) }],
    ['h', { dtype: 'F16', shape: [2], data: Uint16Array.from([floatToHalfBits(1.5), floatToHalfBits(-0.25)]) }],
    ['bf', { dtype: 'BF16', shape: [2], data: Uint16Array.from([0x3fc0, 0xbe80]) }],
    ['empty', { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) }],
  ]);
}

describe('safetensors', () => {
  it('reads timm fixtures with metadata', async () => {
    const f = await readSafetensors(path.join(fixtures, 'vit_tiny_gray28.model.safetensors'));
    expect(f.metadata.timm_class).toBe('VisionTransformer');
    const pos = f.tensors.get('pos_embed')!;
    expect(pos.dtype).toBe('F32');
    expect(pos.shape).toEqual([1, 50, 48]);
    expect(pos.data.length).toBe(50 * 48);
    const io = await readSafetensors(path.join(fixtures, 'manifold_loss.safetensors'));
    expect(io.tensors.get('perm.0')!.dtype).toBe('I64');
  });

  it('round-trips every dtype and the metadata bit-exactly', () => {
    const bytes = serializeSafetensors(sample(), { timm_class: 'VisionTransformer', note: 'x' });
    expect((new DataView(bytes.buffer).getBigUint64(0, true) + 8n) % 8n).toBe(0n);
    const back = parseSafetensors(bytes, 'mem');
    expect(back.metadata).toEqual({ timm_class: 'VisionTransformer', note: 'x' });
    for (const [name, t] of sample()) {
      const r = back.tensors.get(name)!;
      expect(r.dtype).toBe(t.dtype);
      expect(r.shape).toEqual(t.shape);
      expect(new Uint8Array(r.data.buffer)).toEqual(new Uint8Array(t.data.buffer));
    }
  });

  it('converts F16, BF16 and F64 to float32', () => {
    const t = sample();
    expect(Array.from(toFloat32(t.get('h')!))).toEqual([1.5, -0.25]);
    expect(Array.from(toFloat32(t.get('bf')!))).toEqual([1.5, -0.25]);
    expect(toFloat32(t.get('b')!)[0]).toBeCloseTo(Math.PI, 6);
    expect(() => toFloat32(t.get('idx')!, 'idx')).toThrow(/'idx': is I64/);
    expect(floatToHalfBits(65504)).toBe(0x7bff);
    expect(floatToHalfBits(1e6)).toBe(0x7c00);
    expect(floatToHalfBits(2 ** -24)).toBe(0x0001);
  });

  it.each<[string, () => Uint8Array, RegExp]>([
    ['a file shorter than 8 bytes', () => new Uint8Array(5), /truncated: 5 bytes/],
    ['a header length past EOF', () => {
      const b = handMade({}, 0);
      new DataView(b.buffer).setBigUint64(0, 1000n, true);
      return b;
    }, /header length 1000 runs past the end of the file/],
    ['bad JSON', () => handMade(null, 0, '{"a": {"dtype": '), /header is not valid JSON/],
    ['a truncated data section', () => handMade({ w: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, 8), /'w'.*run past the data section/],
    ['overlapping offsets', () => handMade({
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
    }, 12), /'b'.*overlap those of 'a'/],
    ['a size that is not dtype × shape', () => handMade({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, 8), /'w'.*holds 8 bytes but F32 × \[3\] needs 12/],
    ['an unknown dtype', () => handMade({ w: { dtype: 'U7', shape: [1], data_offsets: [0, 1] } }, 1), /'w'.*unsupported dtype 'U7'/],
    ['a bad shape', () => handMade({ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, 4), /'w'.*shape must be/],
    ['non-string metadata', () => handMade({ __metadata__: { a: 1 } }, 0), /__metadata__\.a must be a string/],
  ])('rejects %s with a clear error', (_name, make, message) => {
    let err: unknown;
    try {
      parseSafetensors(make(), 'bad.safetensors');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SafetensorsError);
    expect((err as SafetensorsError).code).toBe('MDISTILL_BAD_WEIGHTS');
    expect((err as Error).message).toMatch(/^bad\.safetensors: /);
    expect((err as Error).message).toMatch(message);
  });

  it('writes atomically and names a missing file', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mdistill-st-'));
    const file = path.join(dir, 'w.safetensors');
    await writeSafetensors(file, sample(), { a: 'b' });
    expect(readdirSync(dir)).toEqual(['w.safetensors']);
    expect((await readSafetensors(file)).tensors.size).toBe(6);
    await expect(readSafetensors(path.join(dir, 'nope.safetensors'))).rejects.toThrow(/nope\.safetensors: no such file/);
    await expect(writeSafetensors(path.join(dir, 'no', 'dir', 'x.safetensors'), sample())).rejects.toThrow(/could not write .*x\.safetensors/);
  });
});
