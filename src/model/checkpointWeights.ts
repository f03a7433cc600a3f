// Resolves `--weights` (a checkpoint directory, a .safetensors file or a .pth checkpoint, `--ema`) and the
// architecture the weights belong to (their `timm_class` + `kwargs` metadata, `--model <preset>`, or for a .pth the
// shapes of its tensors).
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { TensorEntry } from '../io/safetensors.js';
import { readWeightsFile, weightsFormatOf, type WeightsFormat } from '../io/weightsFile.js';
import { inferArchitectureWith } from './inferArchitecture.js';
import { stripPrefixes } from './loadWeights.js';
import { fromTimm, resolveModel, toTimm, type ModelConfig } from './modelConfig.js';
import { WeightsError } from './weightsError.js';

export const MODEL_WEIGHTS_FILE = 'model.safetensors';
export const EMA_WEIGHTS_FILE = 'ema.safetensors';

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
    // A .pth training checkpoint may hold its EMA beside the model ('model_ema').
    if (await weightsFormatOf(weights) === 'pth') return { file: weights, dir: path.dirname(weights), kind: 'ema' };
    throw new WeightsError('MDISTILL_BAD_ARGUMENT', `--ema needs a checkpoint directory (with ${EMA_WEIGHTS_FILE}) or a .pth holding model_ema, but --weights ${weights} is a single file. Drop --ema, or pass the directory.`);
  }
  return { file: weights, dir: path.dirname(weights), kind: 'file' };
}

export async function loadCheckpointWeights(weights: string, options: { ema?: boolean } = {}): Promise<CheckpointWeights> {
  const where = await resolveWeightsFile(weights, options);
  // --ema on a single file: the EMA inside a .pth (a directory's EMA is its own file).
  const read = await readWeightsFile(where.file, { ema: where.kind === 'ema' && where.file === weights });
  // The official code strips DataParallel's 'module.' from .pth state dicts; so does this, once, for every consumer.
  const tensors = read.format === 'pth' ? withoutPrefixes(read.tensors, read.file) : read.tensors;
  return { ...where, format: read.format, tensors, metadata: read.metadata, wrapper: read.wrapper };
}

function withoutPrefixes(tensors: Map<string, TensorEntry>, file: string): Map<string, TensorEntry> {
  const out = new Map<string, TensorEntry>();
  for (const [raw, t] of tensors) {
    const name = stripPrefixes(raw);
    if (out.has(name)) throw new WeightsError('MDISTILL_BAD_WEIGHTS', `${file}: '${raw}' names '${name}' a second time once prefixes are stripped`);
    out.set(name, t);
  }
  return out;
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
 * The architecture of the weights: from their metadata, from `--model <preset>`, or both when they agree; a .pth
 * (no metadata) from its tensor shapes, with --model supplying what shapes cannot tell.
 * Returns the preset name too when one is known (from --model or the metadata's `model` key).
 */
export function architectureOf(weights: Pick<CheckpointWeights, 'file' | 'metadata'> & Partial<Pick<CheckpointWeights, 'format' | 'tensors'>>, modelName?: string,
  overrides: Partial<ModelConfig> = {}): { config: ModelConfig; name?: string } {
  const { timm_class: timmClass, kwargs } = weights.metadata;
  if (weights.format === 'pth' && weights.tensors && timmClass === undefined) return inferArchitectureWith(weights.tensors, weights.file, modelName, overrides);
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
