// The architecture of a state dict with no metadata (a .pth from the official code, DeiT or timm), read from its
// tensor shapes: ViT/DeiT, CaiT or Swin, width, depth(s), patch size, channels, classes, image size (not Swin's),
// distillation token, MLP ratio, qkv bias, window and heads (Swin). The one thing shapes cannot tell is a ViT's number of attention heads (qkv is 3C×C for any
// head count): it comes from a preset of the same width, or from --model.
import type { TensorEntry } from '../io/safetensors.js';
import { MODEL_PRESETS, resolveModel, toTimm, validateModelConfig, type ModelConfig } from './modelConfig.js';
import { stripPrefixes } from './statePrefixes.js';
import { WeightsError } from './weightsError.js';

/** The fields a preset given with --model must share with the weights (the others follow the weights). */
const STRUCTURAL: readonly (keyof ModelConfig)[] = ['arch', 'embedDim', 'depth', 'patchSize', 'mlpRatio', 'qkvBias', 'distilled', 'depthTokenOnly'];

export interface InferredArchitecture {
  config: ModelConfig;
  /** The preset these weights are an instance of (the same timm class and kwargs), if any. */
  name?: string;
}

function blockCount(names: string[], prefix: string): number {
  const re = new RegExp(`^${prefix.replace('.', '\\.')}\\.(\\d+)\\.`);
  let count = 0;
  for (const n of names) {
    const m = re.exec(n);
    if (m) count = Math.max(count, Number(m[1]) + 1);
  }
  return count;
}

/**
 * The ModelConfig of `tensors`. With `preset` (from --model, overrides applied), its head count and CaiT init values
 * are used and its structure must agree; classes, channels and image size always follow the weights.
 */
export function inferArchitecture(tensors: Map<string, TensorEntry>, source: string, preset?: { name: string; config: ModelConfig }): InferredArchitecture {
  const shapes = new Map([...tensors].map(([name, t]) => [stripPrefixes(name), t.shape]));
  const fail = (m: string): never => {
    throw new WeightsError('MDISTILL_BAD_ARGUMENT', `${source}: ${m}`);
  };
  const shape = (name: string, rank: number): number[] => {
    const s = shapes.get(name);
    if (!s || s.length !== rank) fail(`cannot tell the architecture: no ${rank}-D '${name}' (is this a ViT/DeiT or CaiT state dict?); pass --model <preset>`);
    return s!;
  };
  const names = [...shapes.keys()];
  if (shapes.has('layers.0.blocks.0.attn.relative_position_bias_table')) return nameOf(swinArchitecture(shapes, names, source, shape, fail, preset), preset);
  const cait = shapes.has('blocks_token_only.0.norm1.weight');
  const [, , embedDim] = shape('cls_token', 3);
  const [, inChans, patchSize] = shape('patch_embed.proj.weight', 4);
  const [numClasses] = shape('head.weight', 2);
  const depth = blockCount(names, 'blocks');
  if (depth === 0) fail('cannot tell the architecture: no blocks.N.* tensors; pass --model <preset>');
  const distilled = !cait && shapes.has('dist_token');
  const prefixTokens = cait ? 0 : distilled ? 2 : 1;
  const [, tokens] = shape('pos_embed', 3);
  const grid = Math.round(Math.sqrt(tokens - prefixTokens));
  if (grid < 1 || grid * grid !== tokens - prefixTokens) fail(`pos_embed has ${tokens} tokens, which is not ${prefixTokens} + a square grid`);
  const [hidden] = shape('blocks.0.mlp.fc1.weight', 2);
  let numHeads: number | undefined;
  if (cait) numHeads = shape('blocks.0.attn.proj_l.weight', 2)[0];
  else if (preset) numHeads = preset.config.numHeads;
  else {
    const heads = new Set(Object.values(MODEL_PRESETS).filter((p) => p.arch === 'vit' && p.embedDim === embedDim).map((p) => p.numHeads));
    if (heads.size !== 1) {
      fail(`cannot tell the number of attention heads of a ${embedDim}-wide ViT from its weights (no preset has that width); ` +
        'pass --model <preset> (with --model-overrides for a custom size)');
    }
    numHeads = [...heads][0];
  }
  const derived: ModelConfig = {
    arch: cait ? 'cait' : 'vit',
    imgSize: grid * patchSize,
    patchSize,
    inChans,
    numClasses,
    embedDim,
    depth,
    numHeads: numHeads!,
    mlpRatio: hidden / embedDim,
    qkvBias: shapes.has('blocks.0.attn.qkv.bias'),
    distilled,
    depthTokenOnly: cait ? blockCount(names, 'blocks_token_only') : 0,
    initValues: cait ? (preset?.config.initValues ?? 1e-5) : 0,
    depths: [], stageHeads: [], windowSize: 0,
  };
  if (preset) {
    const diffs = STRUCTURAL.filter((k) => preset.config[k] !== derived[k]).map((k) => `${k} ${String(preset.config[k])} vs ${String(derived[k])}`);
    if (diffs.length) fail(`--model ${preset.name} does not fit these weights (--model vs weights: ${diffs.join(', ')})`);
  }
  return nameOf(validateModelConfig(derived, source), preset);
}

/** A Swin (timm ≥ 0.9 layout: layers.i.downsample opens stage i, head.fc). Weights do not hold the image size (there
 *  is no pos_embed): it comes from --model, else the presets' 224 px. */
function swinArchitecture(shapes: Map<string, number[]>, names: string[], source: string, shape: (name: string, rank: number) => number[],
  fail: (m: string) => never, preset?: { name: string; config: ModelConfig }): ModelConfig {
  const [embedDim, inChans, patchSize] = shape('patch_embed.proj.weight', 4);
  const [numClasses] = shape('head.fc.weight', 2);
  const depths: number[] = [], stageHeads: number[] = [];
  for (let i = 0; shapes.has(`layers.${i}.blocks.0.norm1.weight`); i++) {
    depths.push(blockCount(names, `layers.${i}.blocks`));
    stageHeads.push(shape(`layers.${i}.blocks.0.attn.relative_position_bias_table`, 2)[1]);
  }
  const [tableRows] = shape('layers.0.blocks.0.attn.relative_position_bias_table', 2);
  const windowSize = (Math.sqrt(tableRows) + 1) / 2;
  if (!Number.isInteger(windowSize)) fail(`relative_position_bias_table has ${tableRows} rows, which is not (2·window − 1)²`);
  const [hidden] = shape('layers.0.blocks.0.mlp.fc1.weight', 2);
  const derived: ModelConfig = {
    arch: 'swin', imgSize: preset?.config.imgSize ?? 224, patchSize, inChans, numClasses, embedDim, depth: 0, numHeads: 0,
    mlpRatio: hidden / embedDim, qkvBias: shapes.has('layers.0.blocks.0.attn.qkv.bias'), distilled: false, depthTokenOnly: 0, initValues: 0,
    depths, stageHeads, windowSize,
  };
  if (preset) {
    const same = (k: keyof ModelConfig) => JSON.stringify(preset.config[k]) === JSON.stringify(derived[k]);
    const diffs = (['arch', 'embedDim', 'patchSize', 'mlpRatio', 'qkvBias', 'depths', 'stageHeads', 'windowSize'] as const).filter((k) => !same(k))
      .map((k) => `${k} ${JSON.stringify(preset.config[k])} vs ${JSON.stringify(derived[k])}`);
    if (diffs.length) fail(`--model ${preset.name} does not fit these weights (--model vs weights: ${diffs.join(', ')})`);
  }
  return validateModelConfig(derived, source);
}

/** A name only for an exact preset (with --model overrides, or another class count, the weights are not that preset). */
function nameOf(config: ModelConfig, preset?: { name: string; config: ModelConfig }): InferredArchitecture {
  const kwargs = JSON.stringify(toTimm(config));
  const exact = ([, p]: [string, ModelConfig]) => JSON.stringify(toTimm(p)) === kwargs;
  const candidates = Object.entries(MODEL_PRESETS);
  const name = (preset && candidates.find(([n]) => n === preset.name && exact([n, MODEL_PRESETS[n]]))?.[0]) ?? candidates.find(exact)?.[0];
  return { config, name };
}

/** inferArchitecture with --model <name> [overrides] resolved. */
export function inferArchitectureWith(tensors: Map<string, TensorEntry>, source: string, modelName?: string, overrides: Partial<ModelConfig> = {}): InferredArchitecture {
  const preset = modelName === undefined ? undefined : { name: modelName, config: resolveModel(modelName, overrides) };
  return inferArchitecture(tensors, source, preset);
}
