// .pth checkpoints wherever weights are taken: the architecture read from tensor shapes, `mdistill convert` to
// timm-ready safetensors, --teacher-path, eval --weights, and --resume's refusal that points at --finetune.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli } from '../../src/cli/main.js';
import { readSafetensors, type TensorEntry } from '../../src/io/safetensors.js';
import { inferArchitecture, inferArchitectureWith } from '../../src/model/inferArchitecture.js';
import { loadWeightsFile, modelFromWeightsFile } from '../../src/model/loadWeights.js';
import { MODEL_PRESETS, resolveModel, toTimm } from '../../src/model/modelConfig.js';
import { NativeModel } from '../../src/model/nativeModel.js';
import { timmStateShapes } from '../../src/model/timmStateShapes.js';
import { PTH_DIR } from '../io/pthFixtures.js';
import { captureConsole } from '../helpers/captureConsole.js';

const pth = (name: string) => path.join(PTH_DIR, name);
const expected = (name: string) => pth(name.replace(/\.pth$/, '.expected.safetensors'));
/** The fixtures' ViT: DeiT-Tiny's layout at width 8, one block, 4 px patches, 8 px images, 10 classes. */
const TINY_VIT = { embedDim: 8, depth: 1, numHeads: 2, patchSize: 4 };
const hex = (t: TensorEntry) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString('hex');

/** A state dict with the shapes of `config` (inference reads shapes only). */
function shapesOnly(shapes: Map<string, number[]>): Map<string, TensorEntry> {
  return new Map([...shapes].map(([name, shape]) => [name, { dtype: 'F32', shape, data: new Float32Array(0) }]));
}

afterEach(() => vi.restoreAllMocks());

describe('the architecture of a .pth, from its shapes', () => {
  it('recognises every ViT/DeiT and CaiT preset from its state-dict shapes alone', () => {
    for (const [name, config] of Object.entries(MODEL_PRESETS)) {
      if (config.arch !== 'vit' && config.arch !== 'cait') continue;
      const inferred = inferArchitecture(shapesOnly(timmStateShapes(config)), name);
      expect({ name: inferred.name, timm: toTimm(inferred.config) }).toEqual({ name, timm: toTimm(config) });
    }
    // Another class count and image size: the same structure, no preset name.
    const transfer = resolveModel('deit_small_patch16_224', { numClasses: 100, imgSize: 384 });
    const inferred = inferArchitecture(shapesOnly(timmStateShapes(transfer)), 'transfer.pth');
    expect(inferred).toEqual({ config: transfer, name: undefined });
  });

  it('recognises every Swin preset from its shapes, its image size from --model (a Swin has no pos_embed)', () => {
    for (const [name, config] of Object.entries(MODEL_PRESETS)) {
      if (config.arch !== 'swin') continue;
      const inferred = inferArchitecture(shapesOnly(timmStateShapes(config)), name);
      expect({ name: inferred.name, timm: toTimm(inferred.config) }).toEqual({ name, timm: toTimm(config) });
    }
    const small = resolveModel('swin_tiny_patch4_window7_224', { imgSize: 28, patchSize: 2, embedDim: 16, depths: [2, 2], stageHeads: [2, 4], numClasses: 10 });
    const shapes = shapesOnly(timmStateShapes(small));
    expect(inferArchitectureWith(shapes, 'swin.pth', 'swin_tiny_patch4_window7_224', { imgSize: 28, patchSize: 2, embedDim: 16, depths: [2, 2], stageHeads: [2, 4] }).config)
      .toEqual(small);
    expect(() => inferArchitectureWith(shapes, 'swin.pth', 'swin_tiny_patch4_window7_224'))
      .toThrow(/swin\.pth: --model swin_tiny_patch4_window7_224 does not fit these weights \(--model vs weights: embedDim 96 vs 16, patchSize 4 vs 2, depths \[2,2,6,2\] vs \[2,2\], stageHeads \[3,6,12,24\] vs \[2,4\]\)/);
  });

  it('takes a ViT\'s head count from --model, and says what does not fit', async () => {
    const { tensors } = await readSafetensors(expected('deit_checkpoint_zip.pth'));
    expect(() => inferArchitecture(tensors, 'deit.pth')).toThrow(/deit\.pth: cannot tell the number of attention heads of a 8-wide ViT .*pass --model <preset>/);
    const custom = inferArchitectureWith(tensors, 'deit.pth', 'deit_tiny_patch16_224', TINY_VIT);
    expect(custom.config).toMatchObject({ arch: 'vit', embedDim: 8, depth: 1, numHeads: 2, patchSize: 4, imgSize: 8, numClasses: 10, inChans: 3, distilled: false });
    expect(custom.name).toBeUndefined();
    expect(() => inferArchitectureWith(tensors, 'deit.pth', 'deit_tiny_patch16_224'))
      .toThrow(/deit\.pth: --model deit_tiny_patch16_224 does not fit these weights \(--model vs weights: embedDim 192 vs 8, depth 12 vs 1, patchSize 16 vs 4\)/);
    const { tensors: cait } = await readSafetensors(expected('cait_model_only.pth'));
    expect(inferArchitecture(cait, 'cait.pth').config).toMatchObject({ arch: 'cait', embedDim: 8, depth: 2, numHeads: 2, depthTokenOnly: 1, imgSize: 8 });
  });
});

describe('.pth wherever weights are taken', () => {
  it('mdistill convert writes timm names and our metadata, bit for bit, inferring a CaiT from its shapes', async () => {
    const out = path.join(mkdtempSync(path.join(tmpdir(), 'mdistill-convert-')), 'cait.safetensors');
    const io = captureConsole();
    expect(await runCli(['node', 'mdistill', 'convert', pth('cait_model_only.pth'), out])).toBe(0);
    vi.restoreAllMocks();
    expect(io.out.join('\n')).toContain("cait_model_only.pth (its 'model'): Cait (inferred from the tensor shapes; dim 8, depth 2, 2 heads, 10 classes, 8px)");
    const converted = await readSafetensors(out);
    const config = inferArchitecture(converted.tensors, out).config;
    expect(converted.metadata).toEqual({ format: 'pt', timm_class: 'Cait', kwargs: JSON.stringify(toTimm(config).kwargs) });
    const reference = (await readSafetensors(expected('cait_model_only.pth'))).tensors;
    expect([...converted.tensors.keys()]).toEqual([...timmStateShapes(config).keys()]);
    for (const [name, t] of converted.tensors) expect(hex(t), name).toBe(hex(reference.get(name)!));
    // Every command reads the result by its metadata.
    const model = await modelFromWeightsFile(out);
    expect(model.config).toEqual(config);
  });

  it('mdistill convert: --ema, --model with overrides, a legacy DataParallel file with module. prefixes', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mdistill-convert-'));
    const io = captureConsole();
    const overrides = JSON.stringify(TINY_VIT);
    expect(await runCli(['node', 'mdistill', 'convert', pth('deit_checkpoint_legacy.pth'), path.join(dir, 'ema.safetensors'), '--ema', '--model', 'deit_tiny_patch16_224', '--model-overrides', overrides])).toBe(0);
    expect(await runCli(['node', 'mdistill', 'convert', pth('dataparallel_legacy.pth'), path.join(dir, 'dp.safetensors'), '--model', 'deit_tiny_patch16_224', '--model-overrides', overrides])).toBe(0);
    expect(await runCli(['node', 'mdistill', 'convert', pth('deit_checkpoint_zip.pth'), path.join(dir, 'no-heads.safetensors')])).toBe(1);
    vi.restoreAllMocks();
    expect(io.err.join('\n')).toMatch(/deit_checkpoint_zip\.pth: cannot tell the number of attention heads .*\[MDISTILL_BAD_ARGUMENT\]/);
    const ema = await readSafetensors(path.join(dir, 'ema.safetensors'));
    const emaReference = (await readSafetensors(pth('deit_checkpoint_legacy.ema.expected.safetensors'))).tensors;
    for (const [name, t] of emaReference) expect(hex(ema.tensors.get(name)!), name).toBe(hex(t));
    const dp = await readSafetensors(path.join(dir, 'dp.safetensors'));
    const dpReference = (await readSafetensors(expected('dataparallel_legacy.pth'))).tensors;
    expect([...dpReference.keys()].every((k) => k.startsWith('module.'))).toBe(true);
    for (const [name, t] of dpReference) expect(hex(dp.tensors.get(name.slice('module.'.length))!), name).toBe(hex(t));
  });

  it('--teacher-path (loadWeightsFile) and eval --weights read a .pth', async () => {
    const config = inferArchitecture((await readSafetensors(expected('cait_model_only.pth'))).tensors, 'cait').config;
    const teacher = new NativeModel(config);
    const report = await loadWeightsFile(teacher, pth('cait_model_only.pth'));
    expect(report.loaded).toHaveLength(62);
    const reference = (await readSafetensors(expected('cait_model_only.pth'))).tensors;
    for (const w of teacher.getWeights()) expect(Array.from(w.data), w.name).toEqual(Array.from(reference.get(w.name)!.data as Float32Array));

    const io = captureConsole();
    expect(await runCli(['node', 'mdistill', 'eval', '--weights', pth('cait_model_only.pth'), '--data-set', 'SYNTHETIC', '--input-size', '8', '--eval-subset', '16', '--batch-size', '8', '--json'])).toBe(0);
    expect(await runCli(['node', 'mdistill', 'eval', '--weights', pth('timm_fp16.pth'), '--ema', '--model', 'deit_tiny_patch16_224', '--data-set', 'SYNTHETIC', '--eval-subset', '16', '--batch-size', '8', '--json'])).toBe(1);
    vi.restoreAllMocks();
    const result = JSON.parse(io.out[0]) as { weights: string; samples: number; acc1: number };
    expect(result).toMatchObject({ weights: pth('cait_model_only.pth'), samples: 16 });
    expect(io.err.join('\n')).toMatch(/timm_fp16\.pth: --model deit_tiny_patch16_224 does not fit these weights/);
  });

  it('--resume of a .pth says it cannot be resumed and points at --finetune, before reading any data', async () => {
    const io = captureConsole();
    const out = mkdtempSync(path.join(tmpdir(), 'mdistill-resume-pth-'));
    const code = await runCli(['node', 'mdistill', 'train', '--resume', pth('deit_checkpoint_zip.pth'), '--data-path', path.join(out, 'no-data'), '--output-dir', out]);
    vi.restoreAllMocks();
    expect(code).toBe(1);
    expect(io.err.join('\n')).toContain(`${pth('deit_checkpoint_zip.pth')}: a PyTorch checkpoint cannot be resumed here`);
    expect(io.err.join('\n')).toContain(`pass --finetune ${pth('deit_checkpoint_zip.pth')} instead`);
  });
});
