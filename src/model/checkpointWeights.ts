// Reads `--weights` (through model/weightsSource.ts: a .safetensors or .pth file, a checkpoint or a run directory;
// `--ema`) and the architecture the weights belong to (their `timm_class` + `kwargs` metadata, `--model <preset>`,
// or for a .pth the shapes of its tensors).
import type { TensorEntry } from '../io/safetensors.js';
import type { WeightsFormat } from '../io/weightsFile.js';
import { inferArchitectureWith } from './inferArchitecture.js';
import { fromTimm, resolveModel, toTimm, type ModelConfig } from './modelConfig.js';
import { WeightsError } from './weightsError.js';
import { readWeights, resolveWeightsSource } from './weightsSource.js';

export { EMA_WEIGHTS_FILE, MODEL_WEIGHTS_FILE } from './weightsSource.js';

export { WeightsError };

export interface CheckpointWeights {
  /** The weights file that was read. */
  file: string;
  /** The checkpoint directory, or the directory holding the file. */
  dir: string;
  /** 'model' or 'ema' for a checkpoint directory (or a .pth with --ema), 'file' for a plain weights file. */
  kind: 'model' | 'ema' | 'file';
  format: WeightsFormat;
  tensors: Map<string, TensorEntry>;
  metadata: Record<string, string>;
  /** A .pth's top-level key that held the state dict ('model', 'model_ema', …; null for a bare state dict). */
  wrapper?: string | null;
}

/**
 * Reads `--weights` (any form resolveWeightsSource accepts; `--ema` picks the checkpoint's EMA, or a .pth's
 * model_ema). `flag` names the argument in errors and notes (default --weights).
 */
export async function loadCheckpointWeights(weights: string, options: { ema?: boolean; flag?: string } = {}): Promise<CheckpointWeights> {
  const flag = options.flag ?? '--weights';
  const where = await resolveWeightsSource(weights, { flag, ema: options.ema });
  if (where.note) process.stderr.write(`note: ${where.note}\n`);
  const read = await readWeights(where, { flag });
  return { file: where.file, dir: where.dir, kind: where.kind, format: read.format, tensors: read.tensors, metadata: read.metadata, wrapper: read.wrapper };
}

/** timm's `global_pool` changes the head's input without changing any weight, so the state-dict check cannot see it.
 *  DeiT and CaiT read the class token ('token'); Swin averages the tokens ('avg'). */
function rejectPooling(timmClass: string | undefined, kwargsJson: string, file: string): void {
  let pool: unknown;
  try {
    pool = (JSON.parse(kwargsJson) as Record<string, unknown>).global_pool;
  } catch {
    return; // fromTimm reports malformed kwargs
  }
  if (timmClass === 'SwinTransformer') {
    if (pool !== undefined && pool !== 'avg') {
      throw new WeightsError('MDISTILL_BAD_WEIGHTS', `${file}: kwargs.global_pool is ${JSON.stringify(pool)}; only 'avg' (the token average, as Swin uses) is supported`);
    }
    return;
  }
  if (pool !== undefined && pool !== 'token') {
    throw new WeightsError('MDISTILL_BAD_WEIGHTS', `${file}: kwargs.global_pool is ${JSON.stringify(pool)}; only 'token' (the class token, as DeiT and CaiT use) is supported`);
  }
}

/**
 * The architecture of the weights: from their metadata, from `--model <preset>`, or both when they agree; a .pth
 * (no metadata) from its tensor shapes, with --model supplying what shapes cannot tell.
 * Returns the preset name too when one is known (from --model or the metadata's `model` key).
 */
export function architectureOf(weights: Pick<CheckpointWeights, 'file' | 'metadata'> & Partial<Pick<CheckpointWeights, 'format' | 'tensors'>>, modelName?: string,
  overrides: Partial<ModelConfig> = {}): { config: ModelConfig; name?: string } {
  const { timm_class: timmClass, kwargs } = weights.metadata;
  if (weights.format === 'pth' && weights.tensors && timmClass === undefined) return inferArchitectureWith(weights.tensors, weights.file, modelName, overrides);
  const fromMetadata = timmClass !== undefined && kwargs !== undefined ? fromTimm(timmClass, kwargs, `${weights.file} metadata`) : undefined;
  if (kwargs !== undefined) rejectPooling(timmClass, kwargs, weights.file);
  const fromPreset = modelName === undefined ? undefined : resolveModel(modelName);
  if (fromMetadata && fromPreset) {
    const a = toTimm(fromPreset);
    const b = toTimm(fromMetadata);
    const diffs: string[] = [];
    if (a.timmClass !== b.timmClass) diffs.push(`timm_class ${a.timmClass} vs ${b.timmClass}`);
    for (const key of new Set([...Object.keys(a.kwargs), ...Object.keys(b.kwargs)])) {
      // JSON, so that lists (Swin's depths and heads) compare by value.
      const [va, vb] = [JSON.stringify(a.kwargs[key]), JSON.stringify(b.kwargs[key])];
      if (va !== vb) diffs.push(`${key} ${va} vs ${vb}`);
    }
    if (diffs.length) {
      throw new WeightsError('MDISTILL_BAD_ARGUMENT', `--model ${modelName} disagrees with the architecture in ${weights.file} (--model vs checkpoint: ${diffs.join(', ')}). ` +
        'Drop --model to use the checkpoint\'s own architecture.');
    }
  }
  const config = fromPreset ?? fromMetadata;
  if (!config) {
    throw new WeightsError('MDISTILL_BAD_ARGUMENT', `${weights.file} carries no architecture (no timm_class/kwargs metadata); pass --model <preset>.`);
  }
  return { config, name: modelName ?? weights.metadata.model };
}
