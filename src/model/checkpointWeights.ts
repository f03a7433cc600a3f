// Resolves `--weights` (a checkpoint directory or a .safetensors file, `--ema`) and the architecture the
// weights belong to (their `timm_class` + `kwargs` metadata, or `--model <preset>`).
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { readSafetensors, type TensorEntry } from '../io/safetensors.js';
import { fromTimm, resolveModel, toTimm, type ModelConfig } from './modelConfig.js';
import { WeightsError } from './weightsError.js';

export const MODEL_WEIGHTS_FILE = 'model.safetensors';
export const EMA_WEIGHTS_FILE = 'ema.safetensors';

export { WeightsError };

export interface CheckpointWeights {
  /** The safetensors file that was read. */
  file: string;
  /** The checkpoint directory, or the directory holding the file. */
  dir: string;
  /** 'model' or 'ema' for a checkpoint directory, 'file' for a plain safetensors file. */
  kind: 'model' | 'ema' | 'file';
  tensors: Map<string, TensorEntry>;
  metadata: Record<string, string>;
}

/** The safetensors file `--weights` (and `--ema`) point at; the error says what to pass instead. */
export async function resolveWeightsFile(weights: string, options: { ema?: boolean } = {}): Promise<{ file: string; dir: string; kind: CheckpointWeights['kind'] }> {
  let info;
  try {
    info = await stat(weights);
  } catch {
    throw new WeightsError('MDISTILL_BAD_ARGUMENT', `--weights ${weights}: no such file or directory. Pass a checkpoint directory (holding ${MODEL_WEIGHTS_FILE}) or a .safetensors file.`);
  }
  if (info.isDirectory()) {
    const name = options.ema ? EMA_WEIGHTS_FILE : MODEL_WEIGHTS_FILE;
    const file = path.join(weights, name);
    const present = await readdir(weights);
    if (!present.includes(name)) {
      const others = present.filter((f) => f.endsWith('.safetensors'));
      throw new WeightsError('MDISTILL_BAD_ARGUMENT', `--weights ${weights}: the checkpoint directory has no ${name}` +
        (others.length ? ` (it holds ${others.join(', ')})` : ' and no other .safetensors file') +
        (options.ema ? '. Drop --ema to use the raw model weights, or pick a checkpoint saved with an EMA.' : '. Pass a checkpoint directory such as runs/<name>/checkpoint-best, or a .safetensors file.'));
    }
    return { file, dir: weights, kind: options.ema ? 'ema' : 'model' };
  }
  if (options.ema) {
    throw new WeightsError('MDISTILL_BAD_ARGUMENT', `--ema needs a checkpoint directory (with ${EMA_WEIGHTS_FILE}), but --weights ${weights} is a single file. Drop --ema, or pass the directory.`);
  }
  return { file: weights, dir: path.dirname(weights), kind: 'file' };
}

export async function loadCheckpointWeights(weights: string, options: { ema?: boolean } = {}): Promise<CheckpointWeights> {
  const where = await resolveWeightsFile(weights, options);
  const { tensors, metadata } = await readSafetensors(where.file);
  return { ...where, tensors, metadata };
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
 * The architecture of the weights: from their metadata, from `--model <preset>`, or both when they agree.
 * Returns the preset name too when one is known (from --model or the metadata's `model` key).
 */
export function architectureOf(weights: Pick<CheckpointWeights, 'file' | 'metadata'>, modelName?: string): { config: ModelConfig; name?: string } {
  const { timm_class: timmClass, kwargs } = weights.metadata;
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
