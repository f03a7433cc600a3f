// Model architectures and timm's presets. TypeScript owns this table; the native addon builds whatever
// full ModelConfig it is handed, and checkpoints carry timm's class name and kwargs in their metadata.
import { assertModelFits } from './modelSize.js';
import { didYouMean } from '../config/didYouMean.js';

export interface ModelConfig {
  /** 'vit' is timm's VisionTransformer (and VisionTransformerDistilled with distilled: true); 'cait' is Cait. */
  arch: 'vit' | 'cait';
  imgSize: number;
  patchSize: number;
  inChans: number;
  numClasses: number;
  embedDim: number;
  depth: number;
  numHeads: number;
  mlpRatio: number;
  qkvBias: boolean;
  /** ViT only: a distillation token and head_dist (DeiT distilled). */
  distilled: boolean;
  /** CaiT only: the number of class-attention blocks (blocks_token_only). */
  depthTokenOnly: number;
  /** CaiT only: LayerScale init (gamma_1, gamma_2). */
  initValues: number;
}

const vit = (embedDim: number, numHeads: number, distilled: boolean): ModelConfig => ({
  arch: 'vit', imgSize: 224, patchSize: 16, inChans: 3, numClasses: 1000, embedDim, depth: 12, numHeads,
  mlpRatio: 4, qkvBias: true, distilled, depthTokenOnly: 0, initValues: 0,
});

const cait = (embedDim: number, numHeads: number): ModelConfig => ({
  arch: 'cait', imgSize: 224, patchSize: 16, inChans: 3, numClasses: 1000, embedDim, depth: 24, numHeads,
  mlpRatio: 4, qkvBias: true, distilled: false, depthTokenOnly: 2, initValues: 1e-5,
});

export const MODEL_PRESETS: Readonly<Record<string, ModelConfig>> = {
  deit_tiny_patch16_224: vit(192, 3, false),
  deit_small_patch16_224: vit(384, 6, false),
  deit_base_patch16_224: vit(768, 12, false),
  deit_tiny_distilled_patch16_224: vit(192, 3, true),
  deit_small_distilled_patch16_224: vit(384, 6, true),
  deit_base_distilled_patch16_224: vit(768, 12, true),
  cait_xxs24_224: cait(192, 4),
  cait_xs24_224: cait(288, 6),
  cait_s24_224: cait(384, 8),
};

/** A preset by name, with optional overrides (for example the small-image configs: imgSize 28, patchSize 4). */
export function resolveModel(name: string, overrides: Partial<ModelConfig> = {}, where = name): ModelConfig {
  const preset = MODEL_PRESETS[name];
  if (!preset) {
    throw new Error(`unknown model '${name}'${didYouMean(name, Object.keys(MODEL_PRESETS))}. Known: ${Object.keys(MODEL_PRESETS).join(', ')}`);
  }
  return validateModelConfig({ ...preset, ...overrides }, where);
}

/** Checks that the numbers describe a buildable model; the message names the field. */
export function validateModelConfig(config: ModelConfig, where = 'model'): ModelConfig {
  const positive: (keyof ModelConfig)[] = ['imgSize', 'patchSize', 'inChans', 'numClasses', 'embedDim', 'depth', 'numHeads', 'mlpRatio'];
  for (const key of positive) {
    const v = config[key];
    if (typeof v !== 'number' || !(v > 0) || (key !== 'mlpRatio' && !Number.isInteger(v))) {
      throw new Error(`${where}: ${key} must be a positive ${key === 'mlpRatio' ? 'number' : 'integer'}, got ${String(v)}`);
    }
  }
  if (config.arch !== 'vit' && config.arch !== 'cait') throw new Error(`${where}: arch must be 'vit' or 'cait', got '${String(config.arch)}'`);
  if (config.imgSize % config.patchSize !== 0) {
    throw new Error(`${where}: imgSize ${config.imgSize} is not a multiple of patchSize ${config.patchSize}`);
  }
  if (config.embedDim % config.numHeads !== 0) {
    throw new Error(`${where}: embedDim ${config.embedDim} is not divisible by numHeads ${config.numHeads}`);
  }
  if (config.arch === 'cait' && config.distilled) throw new Error(`${where}: CaiT has no distillation token`);
  assertModelFits(config, where);
  return config;
}

/** Tokens per image at the output of a block: patches, plus cls (and dist) for ViT; CaiT blocks hold patches only. */
export function tokenCount(config: ModelConfig): number {
  const patches = (config.imgSize / config.patchSize) ** 2;
  if (config.arch === 'cait') return patches;
  return patches + (config.distilled ? 2 : 1);
}

/** timm's class name and constructor kwargs, as the safetensors metadata of timm checkpoints carries them. */
export function toTimm(config: ModelConfig): { timmClass: string; kwargs: Record<string, number | boolean> } {
  const kwargs: Record<string, number | boolean> = {
    img_size: config.imgSize, patch_size: config.patchSize, in_chans: config.inChans, num_classes: config.numClasses,
    embed_dim: config.embedDim, depth: config.depth, num_heads: config.numHeads, mlp_ratio: config.mlpRatio, qkv_bias: config.qkvBias,
  };
  if (config.arch === 'cait') {
    kwargs.depth_token_only = config.depthTokenOnly;
    kwargs.init_values = config.initValues;
    return { timmClass: 'Cait', kwargs };
  }
  return { timmClass: config.distilled ? 'VisionTransformerDistilled' : 'VisionTransformer', kwargs };
}

/** The inverse of toTimm: reads `timm_class` and `kwargs` (a JSON string) from safetensors metadata. */
export function fromTimm(timmClass: string, kwargsJson: string, where = 'metadata'): ModelConfig {
  let kw: Record<string, unknown>;
  try {
    kw = JSON.parse(kwargsJson) as Record<string, unknown>;
  } catch {
    throw new Error(`${where}: kwargs is not valid JSON`);
  }
  const num = (key: string, fallback?: number): number => {
    const v = kw[key] ?? fallback;
    if (typeof v !== 'number') throw new Error(`${where}: kwargs.${key} must be a number`);
    return v;
  };
  const known = ['VisionTransformer', 'VisionTransformerDistilled', 'Cait'];
  if (!known.includes(timmClass)) throw new Error(`${where}: unsupported timm_class '${timmClass}'${didYouMean(timmClass, known)}`);
  const isCait = timmClass === 'Cait';
  return validateModelConfig({
    arch: isCait ? 'cait' : 'vit',
    imgSize: num('img_size', 224), patchSize: num('patch_size', 16), inChans: num('in_chans', 3),
    numClasses: num('num_classes', 1000), embedDim: num('embed_dim', 768), depth: num('depth', 12),
    numHeads: num('num_heads', 12), mlpRatio: num('mlp_ratio', 4), qkvBias: kw.qkv_bias === undefined ? true : Boolean(kw.qkv_bias),
    distilled: timmClass === 'VisionTransformerDistilled',
    depthTokenOnly: isCait ? num('depth_token_only', 2) : 0,
    initValues: isCait ? num('init_values', 1e-5) : 0,
  }, where);
}
