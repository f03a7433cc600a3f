// How big a model is (parameters, the largest activation of one image) against the memory this machine has, so an
// absurd size is refused naming the field, before anything is allocated, instead of failing deep in libtorch.
import { formatBytes, machineMemoryBytes } from '../io/machineLimits.js';

/** The fields of a model's architecture that set its size: every field of a ModelConfig (model/modelConfig.ts, which
 *  extends this and checks every model through here) but the CaiT LayerScale init. */
export interface ModelDimensions {
  /** 'vit' is timm's VisionTransformer (and VisionTransformerDistilled with distilled: true); 'cait' is Cait;
   *  'swin' is SwinTransformer. */
  arch: 'vit' | 'cait' | 'swin';
  imgSize: number;
  patchSize: number;
  inChans: number;
  numClasses: number;
  /** Swin: the width of stage 0 (it doubles at every stage). */
  embedDim: number;
  /** ViT/CaiT: self-attention blocks (Swin: 0, see depths). */
  depth: number;
  /** ViT/CaiT: attention heads (Swin: 0, see stageHeads). */
  numHeads: number;
  mlpRatio: number;
  qkvBias: boolean;
  /** ViT only: a distillation token and head_dist (DeiT distilled). */
  distilled: boolean;
  /** CaiT only: the number of class-attention blocks (blocks_token_only). */
  depthTokenOnly: number;
  /** Swin only: blocks per stage ([] otherwise). */
  depths: number[];
  /** Swin only: attention heads per stage ([] otherwise). */
  stageHeads: number[];
  /** Swin only: the side of the attention windows (0 otherwise). */
  windowSize: number;
}

/** Parameters of a Swin of this config: stage i is embedDim·2^i wide and opens (i ≥ 1) with a patch merging. */
function swinParameterCount(c: ModelDimensions): number {
  const linear = (out: number, inp: number, bias = true) => out * inp + (bias ? out : 0);
  const p = c.patchSize;
  let total = linear(c.embedDim, c.inChans * p * p) + 2 * c.embedDim;
  c.depths.forEach((blocks, i) => {
    const d = c.embedDim * 2 ** i;
    const hidden = Math.floor(d * c.mlpRatio);
    if (i > 0) total += 2 * (2 * d) + linear(d, 2 * d, false);
    const block = 2 * d + (2 * c.windowSize - 1) ** 2 * c.stageHeads[i] + linear(3 * d, d, c.qkvBias) + linear(d, d) + 2 * d +
      linear(hidden, d) + linear(d, hidden);
    total += blocks * block;
  });
  const last = c.embedDim * 2 ** (c.depths.length - 1);
  return total + 2 * last + linear(c.numClasses, last);
}

/** Parameters of a ViT/CaiT of this config (the count timmStateShapes lists, in closed form). */
export function parameterCount(c: ModelDimensions): number {
  if (c.arch === 'swin') return swinParameterCount(c);
  const d = c.embedDim;
  const hidden = Math.floor(d * c.mlpRatio);
  const tokens = (c.imgSize / c.patchSize) ** 2 + (c.arch === 'cait' ? 0 : c.distilled ? 2 : 1);
  const linear = (out: number, inp: number, bias = true) => out * inp + (bias ? out : 0);
  const mlp = linear(hidden, d) + linear(d, hidden);
  let block = 2 * 2 * d + linear(3 * d, d, c.qkvBias) + linear(d, d) + mlp;
  if (c.arch === 'cait') block += 2 * d + 2 * linear(c.numHeads, c.numHeads);
  const tokenOnly = c.arch === 'cait' ? c.depthTokenOnly * (2 * d + 2 * 2 * d + 3 * linear(d, d, c.qkvBias) + linear(d, d) + mlp) : 0;
  const heads = linear(c.numClasses, d) * (c.distilled ? 2 : 1);
  return d * (1 + (c.distilled ? 1 : 0)) + tokens * d + linear(d, c.inChans * c.patchSize * c.patchSize) + c.depth * block + tokenOnly + 2 * d + heads;
}

/** Bytes of the largest single tensor one image makes in a forward: an attention map (heads × N × N) or the MLP's hidden activations. */
export function largestActivationBytes(c: ModelDimensions): number {
  if (c.arch === 'swin') {
    // Stage 0 holds the most tokens: its windows' attention maps (heads × tokens × window²) or its MLP's hidden states.
    const tokens = (c.imgSize / c.patchSize) ** 2;
    return 4 * Math.max(c.stageHeads[0] * tokens * c.windowSize ** 2, tokens * Math.floor(c.embedDim * c.mlpRatio));
  }
  const tokens = (c.imgSize / c.patchSize) ** 2 + 2;
  return 4 * Math.max(c.numHeads * tokens * tokens, tokens * Math.floor(c.embedDim * c.mlpRatio));
}

/** Typical values (DeiT-Tiny at 224 px): the field whose return to its typical value shrinks the model most is the one named. */
const TYPICAL: Partial<ModelDimensions> = { embedDim: 192, depth: 12, mlpRatio: 4, numHeads: 3, numClasses: 1000, imgSize: 224, patchSize: 16, inChans: 3, depthTokenOnly: 2 };

function culprit(config: ModelDimensions, size: (c: ModelDimensions) => number): keyof ModelDimensions {
  let best: keyof ModelDimensions = 'embedDim';
  let smallest = Infinity;
  for (const [key, typical] of Object.entries(TYPICAL) as [keyof ModelDimensions, number][]) {
    const candidate = { ...config, [key]: typical } as ModelDimensions;
    const s = size(candidate);
    if (s < smallest) {
      smallest = s;
      best = key;
    }
  }
  return best;
}

export class ModelTooLargeError extends Error {
  readonly code = 'MDISTILL_MODEL_TOO_LARGE';
}

/**
 * Refuses a model whose float32 weights, or whose largest activation of a single image, exceed this machine's
 * memory: it could never be built or run. `where` names the model in the message ('--model-overrides', a file).
 */
/** The field, quoted, as the user may have set it (the image size comes from --input-size). */
function named(key: keyof ModelDimensions): string {
  return key === 'imgSize' ? `'imgSize' (--input-size)` : `'${key}'`;
}

export function assertModelFits(config: ModelDimensions, where: string, memory = machineMemoryBytes()): void {
  const weightBytes = 4 * parameterCount(config);
  if (weightBytes > memory) {
    const key = culprit(config, (c) => 4 * parameterCount(c));
    throw new ModelTooLargeError(`${where}: ${named(key)} is too large: ${config[key]} makes the model ${parameterCount(config).toExponential(2)} parameters ` +
      `(${formatBytes(weightBytes)} of float32 weights, parameters × 4 bytes), more than the ${formatBytes(memory)} of memory this machine has`);
  }
  const activationBytes = largestActivationBytes(config);
  if (activationBytes > memory) {
    const key = culprit(config, largestActivationBytes);
    throw new ModelTooLargeError(`${where}: ${named(key)} is too large: ${config[key]} makes one image's largest activation ${formatBytes(activationBytes)} ` +
      `(max(heads × tokens², tokens × embedDim × mlpRatio) × 4 bytes), more than the ${formatBytes(memory)} of memory this machine has`);
  }
}
