// Model architectures and timm's presets. TypeScript owns this table; the native addon builds whatever
// full ModelConfig it is handed, and checkpoints carry timm's class name and kwargs in their metadata.
import { assertModelFits, type ModelDimensions } from './modelSize.js';
import { didYouMean } from '../config/didYouMean.js';

/** A model's architecture: its size (ModelDimensions, whose fields carry their docs) and CaiT's LayerScale init. */
export interface ModelConfig extends ModelDimensions {
  /** CaiT only: LayerScale init (gamma_1, gamma_2). */
  initValues: number;
}

const NOT_SWIN = { depths: [], stageHeads: [], windowSize: 0 };

const vit = (embedDim: number, numHeads: number, distilled: boolean): ModelConfig => ({
  arch: 'vit', imgSize: 224, patchSize: 16, inChans: 3, numClasses: 1000, embedDim, depth: 12, numHeads,
  mlpRatio: 4, qkvBias: true, distilled, depthTokenOnly: 0, initValues: 0, ...NOT_SWIN,
});

const cait = (embedDim: number, numHeads: number): ModelConfig => ({
  arch: 'cait', imgSize: 224, patchSize: 16, inChans: 3, numClasses: 1000, embedDim, depth: 24, numHeads,
  mlpRatio: 4, qkvBias: true, distilled: false, depthTokenOnly: 2, initValues: 1e-5, ...NOT_SWIN,
});

const swin = (embedDim: number, depths: number[], stageHeads: number[]): ModelConfig => ({
  arch: 'swin', imgSize: 224, patchSize: 4, inChans: 3, numClasses: 1000, embedDim, depth: 0, numHeads: 0,
  mlpRatio: 4, qkvBias: true, distilled: false, depthTokenOnly: 0, initValues: 0, depths, stageHeads, windowSize: 7,
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
  swin_tiny_patch4_window7_224: swin(96, [2, 2, 6, 2], [3, 6, 12, 24]),
  swin_small_patch4_window7_224: swin(96, [2, 2, 18, 2], [3, 6, 12, 24]),
  swin_base_patch4_window7_224: swin(128, [2, 2, 18, 2], [4, 8, 16, 32]),
};

/** One line per preset for help texts: the name and what it is. */
export function describePresets(): string[] {
  return Object.entries(MODEL_PRESETS).map(([name, c]) => {
    const shape = c.arch === 'swin'
      ? `Swin, dim ${c.embedDim}, depths ${c.depths.join('-')}, heads ${c.stageHeads.join('-')}, window ${c.windowSize}`
      : `${c.arch === 'cait' ? 'CaiT' : c.distilled ? 'DeiT distilled' : 'DeiT'}, dim ${c.embedDim}, depth ${c.depth}${c.arch === 'cait' ? ` + ${c.depthTokenOnly}` : ''}, heads ${c.numHeads}`;
    return `${name}: ${shape}, patch ${c.patchSize}, ${c.imgSize} px`;
  });
}

/** A preset by name, with optional overrides (for example the small-image configs: imgSize 28, patchSize 4). */
export function resolveModel(name: string, overrides: Partial<ModelConfig> = {}, where = name): ModelConfig {
  const preset = MODEL_PRESETS[name];
  if (!preset) {
    throw new Error(`unknown model '${name}'${didYouMean(name, Object.keys(MODEL_PRESETS))}. Known: ${Object.keys(MODEL_PRESETS).join(', ')}`);
  }
  return validateModelConfig({ ...preset, ...overrides }, where);
}

const positiveInteger = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;

/** Checks that the numbers describe a buildable model; the message names the field. */
export function validateModelConfig(config: ModelConfig, where = 'model'): ModelConfig {
  if (config.arch !== 'vit' && config.arch !== 'cait' && config.arch !== 'swin') {
    throw new Error(`${where}: arch must be 'vit', 'cait' or 'swin', got '${String(config.arch)}'`);
  }
  const isSwin = config.arch === 'swin';
  const positive: (keyof ModelConfig)[] = ['imgSize', 'patchSize', 'inChans', 'numClasses', 'embedDim', 'mlpRatio', ...(isSwin ? [] : ['depth', 'numHeads'] as const)];
  for (const key of positive) {
    const v = config[key];
    if (typeof v !== 'number' || !(v > 0) || (key !== 'mlpRatio' && !Number.isInteger(v))) {
      throw new Error(`${where}: ${key} must be a positive ${key === 'mlpRatio' ? 'number' : 'integer'}, got ${String(v)}`);
    }
  }
  if (config.imgSize % config.patchSize !== 0) {
    throw new Error(`${where}: imgSize ${config.imgSize} is not a multiple of patchSize ${config.patchSize}`);
  }
  if (isSwin) {
    validateSwin(config, where);
    assertModelFits(config, where);
    return config;
  }
  if (config.embedDim % config.numHeads !== 0) {
    throw new Error(`${where}: embedDim ${config.embedDim} is not divisible by numHeads ${config.numHeads}`);
  }
  if (config.arch === 'cait' && config.distilled) throw new Error(`${where}: CaiT has no distillation token`);
  if (!Array.isArray(config.depths) || config.depths.length > 0 || !Array.isArray(config.stageHeads) || config.stageHeads.length > 0 || config.windowSize !== 0) {
    throw new Error(`${where}: depths, stageHeads and windowSize are Swin's; ${config.arch === 'cait' ? 'CaiT' : 'a ViT'} takes depth and numHeads (leave them [], [] and 0)`);
  }
  assertModelFits(config, where);
  return config;
}

function validateSwin(config: ModelConfig, where: string): void {
  const { depths, stageHeads } = config;
  if (!Array.isArray(depths) || depths.length === 0 || !depths.every(positiveInteger)) {
    throw new Error(`${where}: depths must be a non-empty list of positive integers (blocks per stage, e.g. [2, 2, 6, 2]), got ${JSON.stringify(depths)}`);
  }
  if (!Array.isArray(stageHeads) || stageHeads.length !== depths.length || !stageHeads.every(positiveInteger)) {
    throw new Error(`${where}: stageHeads must list the attention heads of each of the ${depths.length} stages, got ${JSON.stringify(stageHeads)}`);
  }
  if (!positiveInteger(config.windowSize)) throw new Error(`${where}: windowSize must be a positive integer, got ${String(config.windowSize)}`);
  if (config.depth !== 0 || config.numHeads !== 0) {
    throw new Error(`${where}: Swin takes depths and stageHeads per stage; depth and numHeads must be 0 (got ${config.depth} and ${config.numHeads})`);
  }
  if (config.distilled) throw new Error(`${where}: Swin has no distillation token`);
  stageHeads.forEach((heads, i) => {
    const dim = config.embedDim * 2 ** i;
    if (dim % heads !== 0) throw new Error(`${where}: stage ${i} is ${dim} wide, not divisible by stageHeads[${i}] ${heads}`);
  });
  swinStages(config, where);
}

/** One Swin stage, by timm's rule: a grid no larger than the window is a single window, and is not shifted. */
export interface SwinStage {
  /** Tokens per side. */
  grid: number;
  dim: number;
  heads: number;
  /** The effective window side. */
  window: number;
  /** The shift of the odd blocks (0: no shifted windows). */
  shift: number;
}

/** Every stage's geometry (native/model/swin.cc's SwinStageShapes); throws naming the input size when a grid does
 *  not fit the windows or cannot be halved by patch merging. */
export function swinStages(config: ModelConfig, where = 'model'): SwinStage[] {
  const input = `input size ${config.imgSize} (patch ${config.patchSize})`;
  let grid = config.imgSize / config.patchSize;
  return config.depths.map((_, i) => {
    if (i > 0) {
      if (grid % 2 !== 0) {
        throw new Error(`${where}: ${input} gives a ${grid}x${grid} grid at stage ${i - 1}, which patch merging cannot halve; pick an input size whose grid stays even until the last stage`);
      }
      grid /= 2;
    }
    const w = config.windowSize;
    if (grid > w && grid % w !== 0) {
      throw new Error(`${where}: ${input} gives a ${grid}x${grid} grid at stage ${i}, which ${w}x${w} windows do not tile; ` +
        `pick an input size whose grid at every stage is a multiple of windowSize ${w} or no larger than it`);
    }
    return { grid, dim: config.embedDim * 2 ** i, heads: config.stageHeads[i], window: Math.min(grid, w), shift: grid > w ? Math.floor(w / 2) : 0 };
  });
}

/** The blocks --s-id/--t-id number: ViT and CaiT self-attention blocks; Swin's, counted across its stages. */
export function blockCount(config: ModelConfig): number {
  return config.arch === 'swin' ? config.depths.reduce((a, b) => a + b, 0) : config.depth;
}

/** How the tokens of a block's output lie: `prefix` leading tokens (ViT's cls and dist) then a rows x cols grid. */
export interface TokenLayout {
  prefix: number;
  rows: number;
  cols: number;
}

/** The token layout of every block's output, in block order (native Model::BlockLayout). */
export function blockLayouts(config: ModelConfig): TokenLayout[] {
  if (config.arch === 'swin') {
    return swinStages(config).flatMap((s, i) => Array.from({ length: config.depths[i] }, () => ({ prefix: 0, rows: s.grid, cols: s.grid })));
  }
  const grid = config.imgSize / config.patchSize;
  return Array.from({ length: config.depth }, () => ({ prefix: tokenCount(config) - grid * grid, rows: grid, cols: grid }));
}

/** Tokens in pos_embed: patches, plus cls (and dist) for ViT; CaiT's hold patches only; Swin has no pos_embed. */
export function tokenCount(config: ModelConfig): number {
  const patches = (config.imgSize / config.patchSize) ** 2;
  if (config.arch !== 'vit') return patches;
  return patches + (config.distilled ? 2 : 1);
}

/** timm's class name and constructor kwargs, as the safetensors metadata of timm checkpoints carries them. */
export function toTimm(config: ModelConfig): { timmClass: string; kwargs: Record<string, number | boolean | number[]> } {
  if (config.arch === 'swin') {
    return {
      timmClass: 'SwinTransformer',
      kwargs: {
        img_size: config.imgSize, patch_size: config.patchSize, in_chans: config.inChans, num_classes: config.numClasses,
        embed_dim: config.embedDim, depths: config.depths, num_heads: config.stageHeads, window_size: config.windowSize,
        mlp_ratio: config.mlpRatio, qkv_bias: config.qkvBias,
      },
    };
  }
  const kwargs: Record<string, number | boolean | number[]> = {
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
  const numbers = (key: string, fallback: number[]): number[] => {
    const v = kw[key] ?? fallback;
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'number')) throw new Error(`${where}: kwargs.${key} must be a list of numbers`);
    return v as number[];
  };
  const known = ['VisionTransformer', 'VisionTransformerDistilled', 'Cait', 'SwinTransformer'];
  if (!known.includes(timmClass)) throw new Error(`${where}: unsupported timm_class '${timmClass}'${didYouMean(timmClass, known)}`);
  if (timmClass === 'SwinTransformer') {
    // timm's SwinTransformer defaults are swin_tiny_patch4_window7_224's.
    return validateModelConfig({
      arch: 'swin',
      imgSize: num('img_size', 224), patchSize: num('patch_size', 4), inChans: num('in_chans', 3),
      numClasses: num('num_classes', 1000), embedDim: num('embed_dim', 96), depth: 0, numHeads: 0,
      mlpRatio: num('mlp_ratio', 4), qkvBias: kw.qkv_bias === undefined ? true : Boolean(kw.qkv_bias),
      distilled: false, depthTokenOnly: 0, initValues: 0,
      depths: numbers('depths', [2, 2, 6, 2]), stageHeads: numbers('num_heads', [3, 6, 12, 24]), windowSize: num('window_size', 7),
    }, where);
  }
  const isCait = timmClass === 'Cait';
  return validateModelConfig({
    arch: isCait ? 'cait' : 'vit',
    imgSize: num('img_size', 224), patchSize: num('patch_size', 16), inChans: num('in_chans', 3),
    numClasses: num('num_classes', 1000), embedDim: num('embed_dim', 768), depth: num('depth', 12),
    numHeads: num('num_heads', 12), mlpRatio: num('mlp_ratio', 4), qkvBias: kw.qkv_bias === undefined ? true : Boolean(kw.qkv_bias),
    distilled: timmClass === 'VisionTransformerDistilled',
    depthTokenOnly: isCait ? num('depth_token_only', 2) : 0,
    initValues: isCait ? num('init_values', 1e-5) : 0,
    depths: [], stageHeads: [], windowSize: 0,
  }, where);
}
