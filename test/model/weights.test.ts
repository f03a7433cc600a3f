// Weights in and out of native models: bit-exact round trip, strict diff reports, prefixes, pos_embed resampling.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readSafetensors, toFloat32, type TensorEntry } from '../../src/io/safetensors.js';
import { resamplePosEmbed } from '../../src/native/index.js';
import { fromTimm, resolveModel } from '../../src/model/modelConfig.js';
import { NativeModel } from '../../src/model/nativeModel.js';
import { loadStateDict, loadWeightsFile, modelFromWeightsFile, saveWeights, stateDictOf, stripPrefixes } from '../../src/model/loadWeights.js';
import { fixture, maxAbsDiff } from './fixtures.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'mdistill-weights-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const tiny = (overrides = {}) => resolveModel('deit_tiny_patch16_224', { imgSize: 32, patchSize: 8, embedDim: 24, depth: 2, numHeads: 2, numClasses: 5, ...overrides });
const tinyCait = (overrides = {}) => resolveModel('cait_xxs24_224', { imgSize: 32, patchSize: 8, embedDim: 24, depth: 2, numHeads: 4, numClasses: 5, ...overrides });

function rename(sd: Map<string, TensorEntry>, f: (name: string) => string): Map<string, TensorEntry> {
  return new Map([...sd].map(([k, v]) => [f(k), v]));
}

function expectBitExact(a: NativeModel, b: NativeModel): void {
  const wa = a.getWeights();
  const wb = b.getWeights();
  expect(wb.map((w) => w.name)).toEqual(wa.map((w) => w.name));
  for (let i = 0; i < wa.length; i++) {
    expect(Buffer.from(wb[i].data.buffer).equals(Buffer.from(wa[i].data.buffer)), wa[i].name).toBe(true);
  }
}

describe('save and load', () => {
  it.each([['deit', tiny({ distilled: true })], ['cait', tinyCait()]])('%s round-trips bit-exactly with timm metadata', async (_, config) => {
    const a = new NativeModel(config, { seed: 1 });
    const file = path.join(tmp, `roundtrip-${config.arch}.safetensors`);
    await saveWeights(a, file);
    const { metadata } = await readSafetensors(file);
    expect(fromTimm(metadata.timm_class, metadata.kwargs)).toEqual(config);

    const b = new NativeModel(config, { seed: 2 });
    expect(maxAbsDiff(b.getWeights()[3].data, a.getWeights()[3].data)).toBeGreaterThan(0);
    const report = await loadWeightsFile(b, file);
    expect(report.loaded.length).toBe(a.parameterShapes().length);
    expectBitExact(a, b);
    expectBitExact(a, await modelFromWeightsFile(file));
  });

  it('a model built from a fixture writes back the same tensors', async () => {
    const src = fixture('cait_32.model.safetensors');
    const model = await modelFromWeightsFile(src);
    const file = path.join(tmp, 'cait_32.safetensors');
    await saveWeights(model, file);
    const [orig, ours] = [await readSafetensors(src), await readSafetensors(file)];
    expect([...ours.tensors.keys()]).toEqual([...orig.tensors.keys()]);
    for (const [name, t] of orig.tensors) expect(Buffer.from(toFloat32(ours.tensors.get(name)!).buffer).equals(Buffer.from(toFloat32(t).buffer)), name).toBe(true);
  });

  it('converts F64 weights to float32', () => {
    const a = new NativeModel(tiny(), { seed: 3 });
    const f64 = new Map([...stateDictOf(a)].map(([k, v]) => [k, { dtype: 'F64' as const, shape: v.shape, data: Float64Array.from(v.data as Float32Array) }]));
    const b = new NativeModel(tiny(), { seed: 4 });
    loadStateDict(b, f64);
    expectBitExact(a, b);
  });
});

describe('strict loading', () => {
  it('lists missing, unexpected and wrong-shape keys in one error', () => {
    const model = new NativeModel(tiny());
    const sd = stateDictOf(new NativeModel(tiny()));
    sd.delete('blocks.1.mlp.fc2.bias');
    sd.delete('norm.weight');
    sd.set('head_extra.weight', { dtype: 'F32', shape: [2], data: new Float32Array(2) });
    sd.set('head.weight', { dtype: 'F32', shape: [7, 24], data: new Float32Array(7 * 24) });
    let err: (Error & { code?: string; report?: { missing: string[]; unexpected: string[] } }) | undefined;
    try {
      loadStateDict(model, sd, { source: 'ckpt.safetensors' });
    } catch (e) {
      err = e as typeof err;
    }
    expect(err?.code).toBe('MDISTILL_BAD_WEIGHTS');
    expect(err?.message).toContain('ckpt.safetensors');
    expect(err?.message).toContain('head.weight: checkpoint [7, 24], model [5, 24]');
    expect(err?.report?.missing).toEqual(['blocks.1.mlp.fc2.bias', 'norm.weight']);
    expect(err?.report?.unexpected).toEqual(['head_extra.weight']);
    expect(err?.message).toMatch(/missing from the checkpoint \(2\): blocks\.1\.mlp\.fc2\.bias, norm\.weight/);
    expect(err?.message).toMatch(/unexpected in the checkpoint \(1\): head_extra\.weight/);
  });

  it('strict: false skips missing and unexpected keys but loads the rest; wrong shapes still fail', () => {
    const src = new NativeModel(tiny(), { seed: 5 });
    const sd = stateDictOf(src);
    sd.delete('head.bias');
    sd.set('fc_norm.weight', { dtype: 'F32', shape: [24], data: new Float32Array(24) });
    const model = new NativeModel(tiny(), { seed: 6 });
    const before = model.getWeights().find((w) => w.name === 'head.bias')!.data;
    const report = loadStateDict(model, sd, { strict: false });
    expect(report.missing).toEqual(['head.bias']);
    expect(report.unexpected).toEqual(['fc_norm.weight']);
    const after = model.getWeights();
    expect(after.find((w) => w.name === 'head.bias')!.data).toEqual(before);
    expect(after.find((w) => w.name === 'blocks.0.attn.qkv.weight')!.data).toEqual(src.getWeights().find((w) => w.name === 'blocks.0.attn.qkv.weight')!.data);

    sd.set('norm.bias', { dtype: 'F32', shape: [25], data: new Float32Array(25) });
    expect(() => loadStateDict(model, sd, { strict: false })).toThrow(/norm\.bias: checkpoint \[25\], model \[24\]/);
  });

  it('strips module. and model. prefixes', () => {
    expect(stripPrefixes('module.model.blocks.0.norm1.weight')).toBe('blocks.0.norm1.weight');
    const src = new NativeModel(tiny(), { seed: 7 });
    for (const prefix of ['module.', 'model.', 'module.model.']) {
      const model = new NativeModel(tiny(), { seed: 8 });
      loadStateDict(model, rename(stateDictOf(src), (k) => prefix + k));
      expectBitExact(src, model);
    }
  });

  it('the native setter rejects unknown names and wrong shapes before writing anything', () => {
    const model = new NativeModel(tiny(), { seed: 9 });
    const before = model.getWeights();
    const good = { name: 'norm.weight', shape: [24], data: new Float32Array(24).fill(3) };
    expect(() => model.setWeights([good, { name: 'nope', shape: [1], data: new Float32Array(1) }])).toThrow(expect.objectContaining({ code: 'MDISTILL_BAD_WEIGHTS' }));
    expect(() => model.setWeights([good, { name: 'head.bias', shape: [4], data: new Float32Array(4) }])).toThrow(/'head\.bias' has shape \[4\] but the model's is \[5\]/);
    expectBitExact({ getWeights: () => before } as unknown as NativeModel, model);
  });
});

describe('pos_embed resampling', () => {
  const ref = JSON.parse(readFileSync(new URL('./fixtures/pos_embed_resample.json', import.meta.url), 'utf8')) as {
    input: { shape: number[]; data: number[] };
    prefix: number;
    cases: { grid: [number, number]; shape: number[]; data: number[] }[];
  };

  it.each(ref.cases.map((c) => [c.grid.join('x'), c] as const))('matches PyTorch bicubic antialias to %s', (_, c) => {
    const out = resamplePosEmbed(Float32Array.from(ref.input.data), ref.input.shape, c.grid, ref.prefix);
    expect(out.shape).toEqual(c.shape);
    expect(maxAbsDiff(out.data, c.data)).toBeLessThan(1e-5);
  });

  it('a same-size resample is the identity', () => {
    const data = Float32Array.from(ref.input.data);
    const out = resamplePosEmbed(data, ref.input.shape, [4, 4], 1);
    expect(out.shape).toEqual(ref.input.shape);
    expect(out.data).toEqual(data);
  });

  it.each([['deit', tiny({ distilled: true }), 2], ['cait', tinyCait(), 0]])('%s weights from 32 px load into a 48 px model', async (_, config, prefix) => {
    const small = new NativeModel(config, { seed: 10 });
    const big = new NativeModel({ ...config, imgSize: 48 }, { seed: 11 });
    const report = loadStateDict(big, stateDictOf(small));
    const tokens = (n: number) => n * n + (prefix as number);
    expect(report.resized).toEqual([{ name: 'pos_embed', from: [1, tokens(4), 24], to: [1, tokens(6), 24] }]);
    const pos = (m: NativeModel) => m.getWeights().find((w) => w.name === 'pos_embed')!.data;
    // The prefix tokens (cls, dist) are kept as they are; the grid is resampled.
    expect(pos(big).subarray(0, 24 * (prefix as number))).toEqual(pos(small).subarray(0, 24 * (prefix as number)));
    const expected = resamplePosEmbed(pos(small), [1, tokens(4), 24], [6, 6], prefix as number);
    expect(pos(big)).toEqual(expected.data);
    const out = await big.forward(new Float32Array(2 * 3 * 48 * 48).fill(0.5), [2, 3, 48, 48]);
    expect(out.logitsShape).toEqual([2, 5]);
  });
});

describe('forward', () => {
  it('returns only the requested blocks, in the requested order', async () => {
    const model = new NativeModel(tiny({ depth: 4, distilled: true }));
    const x = new Float32Array(2 * 3 * 32 * 32).map((_, i) => Math.sin(i));
    const out = await model.forward(x, [2, 3, 32, 32], { blocks: [3, 1] });
    expect(out.blocks.map((b) => b.index)).toEqual([3, 1]);
    expect(out.blocks[0].shape).toEqual([2, 16 + 2, 24]);
    expect(out.blocks[0].data.length).toBe(2 * 18 * 24);
    expect((await model.forward(x, [2, 3, 32, 32])).blocks).toEqual([]);
    await expect(model.forward(x, [2, 3, 32, 32], { blocks: [4] })).rejects.toMatchObject({ code: 'MDISTILL_BAD_ARGUMENT' });
  });

  it('rejects a wrong input shape with MDISTILL_SHAPE_MISMATCH naming both shapes', async () => {
    const model = new NativeModel(tinyCait());
    const x = new Float32Array(2 * 1 * 32 * 32);
    await expect(model.forward(x, [2, 1, 32, 32])).rejects.toMatchObject({ code: 'MDISTILL_SHAPE_MISMATCH', message: expect.stringMatching(/\[2, 1, 32, 32\].*\[B, 3, 32, 32\]/) });
    await expect(model.forward(x, [2, 32, 32])).rejects.toMatchObject({ code: 'MDISTILL_SHAPE_MISMATCH' });
    // The shape fits the model but not the data: the bridge reports both sizes.
    await expect(model.forward(x, [1, 3, 32, 32])).rejects.toMatchObject({ code: 'MDISTILL_SHAPE_MISMATCH' });
  });

  it('drop-path makes training forwards stochastic and leaves eval deterministic', async () => {
    const model = new NativeModel(tiny({ depth: 4 }), { dropPathRate: 0.5, seed: 12 });
    const x = new Float32Array(8 * 3 * 32 * 32).map((_, i) => Math.cos(i));
    const shape = [8, 3, 32, 32];
    const [e1, e2] = [await model.forward(x, shape), await model.forward(x, shape)];
    expect(e1.logits).toEqual(e2.logits);
    const [t1, t2] = [await model.forward(x, shape, { train: true }), await model.forward(x, shape, { train: true })];
    expect(maxAbsDiff(t1.logits, t2.logits)).toBeGreaterThan(0);
  });
});

describe('initialisation', () => {
  it('follows timm: trunc-normal(0.02) linears with zero bias, unit LayerNorm, LayerScale at initValues; seeded', () => {
    const config = tinyCait({ embedDim: 64, initValues: 1e-4 });
    const weights = new Map(new NativeModel(config, { seed: 13 }).getWeights().map((w) => [w.name, w.data]));
    const std = (d: Float32Array) => Math.sqrt(d.reduce((s, v) => s + v * v, 0) / d.length);
    expect(std(weights.get('blocks.0.mlp.fc1.weight')!)).toBeCloseTo(0.02, 2);
    expect(std(weights.get('pos_embed')!)).toBeCloseTo(0.02, 2);
    expect(weights.get('blocks.0.mlp.fc1.bias')!.every((v) => v === 0)).toBe(true);
    expect(weights.get('norm.weight')!.every((v) => v === 1)).toBe(true);
    expect(weights.get('blocks_token_only.1.gamma_2')!.every((v) => v === Math.fround(1e-4))).toBe(true);
    // The same seed gives the same weights; another seed, other weights.
    expectBitExact(new NativeModel(config, { seed: 13 }), new NativeModel(config, { seed: 13 }));
    const patch = (seed: number) => new NativeModel(config, { seed }).getWeights().find((w) => w.name === 'patch_embed.proj.weight')!.data;
    expect(maxAbsDiff(patch(13), patch(14))).toBeGreaterThan(0);
  });
});
