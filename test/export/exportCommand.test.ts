// `mdistill export` end to end: checkpoint directories, --ema, metadata, safetensors round trip, errors.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import { exportModel } from '../../src/export/exportModel.js';
import { decodeModel, DataType } from '../../src/export/onnxProto.js';
import { readSafetensors, writeSafetensors, type TensorEntry } from '../../src/io/safetensors.js';
import { timmStateShapes } from '../../src/model/timmStateShapes.js';
import { resolveModel } from '../../src/model/modelConfig.js';
import { modelFromWeightsFile, saveWeights, timmMetadata } from '../../src/model/loadWeights.js';
import { architectureOf } from '../../src/model/checkpointWeights.js';
import { batchOf, FIXTURES, loadFixture, maxAbsDiff, randomState, runOnnx, type Fixture } from './fixtures.js';

let tmp: string;
let ckpt: string;
let noEma: string;
let bareVit: string;
let avgPool: string;
let vit: Fixture;
const CLASSES = ['T-shirt', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

function sameBits(a: TensorEntry, b: TensorEntry): boolean {
  const bytes = (t: TensorEntry) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  return a.dtype === b.dtype && a.shape.join() === b.shape.join() && bytes(a).equals(bytes(b));
}

function perturbed(state: Map<string, TensorEntry>): Map<string, TensorEntry> {
  return new Map([...state].map(([k, t]) => [k, { ...t, data: Float32Array.from(t.data as Float32Array, (v) => v * 0.9 + 0.01) }]));
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'mdistill-export-'));
  vit = await loadFixture('vit_tiny_gray28');
  // A checkpoint directory whose EMA is the fixture (timm's logits known) and whose raw weights differ,
  // with a training-only tensor that the safetensors export must leave out.
  ckpt = path.join(tmp, 'checkpoint-best');
  await mkdir(ckpt);
  const model = perturbed(vit.state);
  model.set('teacher.head.weight', { dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) });
  await writeSafetensors(path.join(ckpt, 'model.safetensors'), model, vit.metadata);
  await writeSafetensors(path.join(ckpt, 'ema.safetensors'), vit.state, vit.metadata);
  await writeFile(path.join(ckpt, 'state.json'), '{"epoch": 3}');
  await writeFile(path.join(ckpt, 'classes.json'), JSON.stringify(CLASSES));
  noEma = path.join(tmp, 'checkpoint-no-ema');
  await mkdir(noEma);
  await writeSafetensors(path.join(noEma, 'model.safetensors'), vit.state, vit.metadata);
  bareVit = path.join(tmp, 'bare-vit.safetensors');
  await writeSafetensors(bareVit, vit.state);
  avgPool = path.join(tmp, 'avg-pool.safetensors');
  await writeSafetensors(avgPool, vit.state, { ...vit.metadata, kwargs: JSON.stringify({ ...JSON.parse(vit.metadata.kwargs), global_pool: 'avg' }) });
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function onnxLogits(file: string, f: Fixture): Promise<number> {
  const { input, dims, expected } = batchOf(f, 3);
  const out = await runOnnx(await readFile(file), input, dims);
  return maxAbsDiff(out.data, expected);
}

describe('export from a checkpoint directory', () => {
  it('--ema exports the EMA weights to both outputs; the default exports the raw model', async () => {
    const emaOnnx = path.join(tmp, 'ema.onnx');
    const emaSt = path.join(tmp, 'ema.safetensors');
    const result = await exportModel({ weights: ckpt, ema: true, onnx: emaOnnx, safetensors: emaSt, mean: [0.286], std: [0.353] });
    expect(result.weightsFile).toBe(path.join(ckpt, 'ema.safetensors'));
    expect(await onnxLogits(emaOnnx, vit)).toBeLessThan(1e-4);
    const reloaded = await readSafetensors(emaSt);
    for (const [k, t] of vit.state) expect(sameBits(reloaded.tensors.get(k)!, t), k).toBe(true);

    const rawOnnx = path.join(tmp, 'raw.onnx');
    await exportModel({ weights: ckpt, onnx: rawOnnx });
    expect(await onnxLogits(rawOnnx, vit)).toBeGreaterThan(1e-2);
  });

  it('safetensors: timm names in timm order, the same bits and dtype, the same metadata, training state left out', async () => {
    const out = path.join(tmp, 'raw.safetensors');
    const result = await exportModel({ weights: ckpt, safetensors: out });
    expect(result.droppedTrainingState).toEqual(['teacher.head.weight']);
    const source = await readSafetensors(path.join(ckpt, 'model.safetensors'));
    const reloaded = await readSafetensors(out);
    expect([...reloaded.tensors.keys()]).toEqual([...timmStateShapes(vit.config).keys()]);
    for (const [k, t] of reloaded.tensors) expect(sameBits(t, source.tensors.get(k)!), k).toBe(true);
    expect(reloaded.metadata).toEqual(vit.metadata);
  });

  it('ONNX metadata carries the architecture, normalisation and class names (classes.json beside the weights)', async () => {
    const out = path.join(tmp, 'meta.onnx');
    await exportModel({ weights: ckpt, ema: true, onnx: out, mean: [0.286], std: [0.353] });
    const model = decodeModel(await readFile(out));
    const meta = Object.fromEntries(model.metadata_props.map((p) => [p.key, p.value]));
    expect(meta.timm_class).toBe('VisionTransformer');
    expect(JSON.parse(meta.kwargs)).toMatchObject({ img_size: 28, patch_size: 4, in_chans: 1, num_classes: 10, embed_dim: 48, depth: 3, num_heads: 3 });
    expect(JSON.parse(meta.mean)).toEqual([0.286]);
    expect(JSON.parse(meta.std)).toEqual([0.353]);
    expect(JSON.parse(meta.class_names)).toEqual(CLASSES);
    expect(meta.weights).toBe('ema');
    expect(model.opset_import).toEqual([{ domain: '', version: 17 }]);
    expect(model.graph.input.map((i) => i.name)).toEqual(['pixel_values']);
    expect(model.graph.output.map((o) => o.name)).toEqual(['logits']);
    expect(model.graph.input[0].type.tensor_type.shape.dim).toEqual([{ dim_param: 'batch' }, { dim_value: 1 }, { dim_value: 28 }, { dim_value: 28 }]);
  });

  it('--fp16 stores float16 initializers, halves the file and keeps the logits within 1e-2', async () => {
    const full = path.join(tmp, 'full.onnx');
    const half = path.join(tmp, 'half.onnx');
    await exportModel({ weights: ckpt, ema: true, onnx: full });
    await exportModel({ weights: ckpt, ema: true, onnx: half, fp16: true });
    const [fullBytes, halfBytes] = [await readFile(full), await readFile(half)];
    expect(halfBytes.length).toBeLessThan(fullBytes.length * 0.6);
    const weights = decodeModel(halfBytes).graph.initializer.filter((t) => t.dims.length > 1);
    expect(weights.every((t) => t.data_type === DataType.FLOAT16)).toBe(true);
    expect(await onnxLogits(half, vit)).toBeLessThan(1e-2);
  });

  it('ImageNet mean/std by default for a 3-channel model; metadata-less weights take their architecture from --model', async () => {
    const config = resolveModel('deit_tiny_patch16_224');
    const bare = path.join(tmp, 'bare.safetensors');
    await writeSafetensors(bare, randomState(config, 3));
    const out = path.join(tmp, 'bare.onnx');
    const timmReady = path.join(tmp, 'bare-timm.safetensors');
    await exportModel({ weights: bare, model: 'deit_tiny_patch16_224', onnx: out, safetensors: timmReady });
    const meta = Object.fromEntries(decodeModel(await readFile(out)).metadata_props.map((p) => [p.key, p.value]));
    expect(meta.model).toBe('deit_tiny_patch16_224');
    expect(JSON.parse(meta.mean)).toEqual([0.485, 0.456, 0.406]);
    expect(JSON.parse(meta.std)).toEqual([0.229, 0.224, 0.225]);
    const reloaded = await readSafetensors(timmReady);
    expect(reloaded.metadata.timm_class).toBe('VisionTransformer');
    expect(JSON.parse(reloaded.metadata.kwargs)).toMatchObject({ img_size: 224, embed_dim: 192, depth: 12, num_classes: 1000 });
  });
});

describe('export of a Swin', () => {
  it('weights saved by our model export timm-ready (timm\'s class, kwargs and keys) and as ONNX with timm\'s logits', async () => {
    const swin = await loadFixture('swin_32');
    // Through our own model and writer, as a trained checkpoint would be.
    const saved = path.join(tmp, 'swin-ours.safetensors');
    await saveWeights(await modelFromWeightsFile(swin.modelFile), saved);
    const timmReady = path.join(tmp, 'swin-timm.safetensors');
    const onnx = path.join(tmp, 'swin.onnx');
    await exportModel({ weights: saved, safetensors: timmReady, onnx });
    const reloaded = await readSafetensors(timmReady);
    expect(reloaded.metadata.timm_class).toBe('SwinTransformer');
    // The constructor arguments timm built the fixture with, key for key.
    expect(JSON.parse(reloaded.metadata.kwargs)).toEqual(JSON.parse(swin.metadata.kwargs));
    expect([...reloaded.tensors.keys()]).toEqual([...swin.state.keys()]);
    for (const [k, t] of reloaded.tensors) expect(sameBits(t, swin.state.get(k)!), k).toBe(true);
    expect(await onnxLogits(onnx, swin)).toBeLessThan(1e-4);
  });

  it('--model and the metadata compare Swin\'s lists by value; its pooling is the token average', async () => {
    const tiny = resolveModel('swin_tiny_patch4_window7_224');
    const metadata = timmMetadata(tiny);
    expect(architectureOf({ file: 'w.safetensors', metadata }, 'swin_tiny_patch4_window7_224').config).toEqual(tiny);
    expect(() => architectureOf({ file: 'w.safetensors', metadata }, 'swin_small_patch4_window7_224'))
      .toThrow(/disagrees with the architecture in w\.safetensors \(--model vs checkpoint: depths \[2,2,18,2\] vs \[2,2,6,2\]\)/);
    const avg = { ...metadata, kwargs: JSON.stringify({ ...JSON.parse(metadata.kwargs), global_pool: 'avg' }) };
    expect(architectureOf({ file: 'w.safetensors', metadata: avg }).config).toEqual(tiny);
    const token = { ...metadata, kwargs: JSON.stringify({ ...JSON.parse(metadata.kwargs), global_pool: 'token' }) };
    expect(() => architectureOf({ file: 'w.safetensors', metadata: token })).toThrow(/kwargs\.global_pool is "token"; only 'avg'/);
  });
});

describe('bad input: a clear error and nothing at the output path', () => {
  const cases: { name: string; options: () => Parameters<typeof exportModel>[0]; message: RegExp }[] = [
    { name: 'unknown preset', options: () => ({ weights: ckpt, model: 'deit_tiny_patch16', onnx: out() }), message: /unknown model 'deit_tiny_patch16' \(did you mean 'deit_tiny_patch16_224'\?\)/ },
    { name: 'missing weights file', options: () => ({ weights: path.join(tmp, 'nope.safetensors'), onnx: out() }), message: /--weights .*nope\.safetensors: no such file or directory/ },
    { name: 'checkpoint dir without ema.safetensors', options: () => ({ weights: noEma, ema: true, onnx: out() }), message: /has no ema\.safetensors \(it holds model\.safetensors\)\. Drop --ema/ },
    { name: '--ema with a single file', options: () => ({ weights: vit.modelFile, ema: true, safetensors: out() }), message: /--ema needs a checkpoint directory/ },
    { name: '--model disagreeing with the metadata', options: () => ({ weights: vit.modelFile, model: 'deit_tiny_patch16_224', onnx: out() }), message: /--model deit_tiny_patch16_224 disagrees with the architecture in .*img_size 224 vs 28/ },
    { name: 'an unsupported pooling', options: () => ({ weights: avgPool, onnx: out() }), message: /kwargs\.global_pool is "avg"; only 'token'/ },
    { name: 'no architecture at all', options: () => ({ weights: bareVit, onnx: out() }), message: /carries no architecture.*pass --model <preset>/ },
    { name: 'an output directory that does not exist', options: () => ({ weights: vit.modelFile, onnx: path.join(tmp, 'no', 'such', 'dir', 'x.onnx') }), message: /cannot write .*x\.onnx: the directory .* does not exist or is not writable/ },
    { name: 'an output path that is a directory', options: () => ({ weights: vit.modelFile, onnx: tmp }), message: /cannot write .*: it is a directory/ },
    { name: 'no output', options: () => ({ weights: vit.modelFile }), message: /nothing to export: pass --onnx <file> and\/or --safetensors <file>/ },
    { name: 'class names that do not fit', options: () => ({ weights: vit.modelFile, onnx: out(), classNames: path.join(FIXTURES, 'README.md') }), message: /--class-names .*README\.md: \d+ class names, but the model has 10 classes/ },
    { name: 'class names from a FIFO nobody writes to', options: () => ({ weights: vit.modelFile, onnx: out(), classNames: fifo() }), message: /--class-names .*names\.fifo: cannot read it: it is a FIFO \(named pipe\), not a regular file/ },
  ];
  const fifo = () => {
    const file = path.join(tmp, 'names.fifo');
    if (!existsSync(file)) execFileSync('mkfifo', [file]);
    return file;
  };
  let counter = 0;
  let current = '';
  const out = () => current;

  it.each(cases)('$name', async ({ options, message }) => {
    current = path.join(tmp, `error-${counter++}.onnx`);
    const opts = options();
    await expect(exportModel(opts)).rejects.toThrow(message);
    for (const p of [opts.onnx, opts.safetensors]) if (p !== undefined && p !== tmp) expect(existsSync(p), p).toBe(false);
  });

  it('weights that do not fit the architecture: every missing, unexpected and wrong-shape key is named', async () => {
    const broken = new Map(vit.state);
    broken.delete('blocks.2.mlp.fc2.bias');
    broken.delete('head.weight');
    broken.set('blocks.7.attn.qkv.weight', { dtype: 'F32', shape: [1], data: new Float32Array(1) });
    broken.set('pos_embed', { dtype: 'F32', shape: [1, 49, 48], data: new Float32Array(49 * 48) });
    const file = path.join(tmp, 'broken.safetensors');
    await writeSafetensors(file, broken, vit.metadata);
    const target = path.join(tmp, 'broken.onnx');
    const timmOut = path.join(tmp, 'broken-timm.safetensors');
    const err = await exportModel({ weights: file, onnx: target, safetensors: timmOut }).then(
      () => { throw new Error('expected the export to fail'); },
      (e: unknown) => e as Error & { code: string },
    );
    expect(err.message).toContain('missing keys: blocks.2.mlp.fc2.bias, head.weight');
    expect(err.message).toContain('unexpected keys: blocks.7.attn.qkv.weight');
    expect(err.message).toContain('wrong shapes: pos_embed is [1, 49, 48], expected [1, 50, 48]');
    expect(err.code).toBe('MDISTILL_BAD_WEIGHTS');
    expect(existsSync(target)).toBe(false);
    expect(existsSync(timmOut)).toBe(false);
  });
});

describe('the CLI', () => {
  it('exports with the flags and exits 0', async () => {
    const out = path.join(tmp, 'cli.onnx');
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const code = await runCli(['node', 'mdistill', 'export', '--weights', ckpt, '--ema', '--onnx', out, '--fp16', '--mean', '0.286', '--std', '0.353']);
    log.mockRestore();
    expect(code).toBe(0);
    expect(await onnxLogits(out, vit)).toBeLessThan(1e-2);
  });

  it('reports a bad flag value and an export error with exit code 1 and names them', async () => {
    const errors: string[] = [];
    const err = vi.spyOn(console, 'error').mockImplementation((m: unknown) => { errors.push(String(m)); });
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((m: string | Uint8Array) => { errors.push(String(m)); return true; });
    const out = path.join(tmp, 'cli-bad.onnx');
    const badMean = await runCli(['node', 'mdistill', 'export', '--weights', ckpt, '--onnx', out, '--mean', '0.5,x']);
    const badModel = await runCli(['node', 'mdistill', 'export', '--weights', ckpt, '--onnx', out, '--model', 'cait_xxs24']);
    err.mockRestore();
    stderr.mockRestore();
    expect(badMean).not.toBe(0);
    expect(badModel).toBe(1);
    expect(errors.join('\n')).toMatch(/--mean must be comma-separated numbers/);
    expect(errors.join('\n')).toMatch(/unknown model 'cait_xxs24' \(did you mean 'cait_xxs24_224'\?\)/);
    expect(existsSync(out)).toBe(false);
  });
});
