// Reads `--weights` (through model/weightsSource.ts: a file, a checkpoint or a run directory; `--ema`) and the architecture the
// weights belong to (their `timm_class` + `kwargs` metadata, or `--model <preset>`).
import type { TensorEntry } from '../io/safetensors.js';
import { fromTimm, resolveModel, toTimm, type ModelConfig } from './modelConfig.js';
import { WeightsError } from './weightsError.js';
import { readWeights, resolveWeightsSource } from './weightsSource.js';

export { EMA_WEIGHTS_FILE, MODEL_WEIGHTS_FILE } from './weightsSource.js';

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

/** Reads `--weights` (any form resolveWeightsSource accepts; `--ema` picks the checkpoint's EMA). */
export async function loadCheckpointWeights(weights: string, options: { ema?: boolean; flag?: string } = {}): Promise<CheckpointWeights> {
  const flag = options.flag ?? '--weights';
  const where = await resolveWeightsSource(weights, { flag, ema: options.ema });
  if (where.note) process.stderr.write(`note: ${where.note}\n`);
  const { tensors, metadata } = await readWeights(where, { flag });
  return { file: where.file, dir: where.dir, kind: where.kind, tensors, metadata };
}

/** timm's `global_pool` changes the head's input without changing any weight, so the state-dict check cannot see it. */
function rejectPooling(kwargsJson: string, file: string): void {
  let pool: unknown;
  try {
    pool = (JSON.parse(kwargsJson) as Record<string, unknown>).global_pool;
  } catch {
    return; // fromTimm reports malformed kwargs
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
  if (kwargs !== undefined) rejectPooling(kwargs, weights.file);
  const fromPreset = modelName === undefined ? undefined : resolveModel(modelName);
  if (fromMetadata && fromPreset) {
    const a = toTimm(fromPreset);
    const b = toTimm(fromMetadata);
    const diffs: string[] = [];
    if (a.timmClass !== b.timmClass) diffs.push(`timm_class ${a.timmClass} vs ${b.timmClass}`);
    for (const key of new Set([...Object.keys(a.kwargs), ...Object.keys(b.kwargs)])) {
      if (a.kwargs[key] !== b.kwargs[key]) diffs.push(`${key} ${String(a.kwargs[key])} vs ${String(b.kwargs[key])}`);
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
