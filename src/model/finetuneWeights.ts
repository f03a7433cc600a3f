// Starts a model from a checkpoint for transfer (the official --finetune): a run's checkpoint directory, a
// safetensors file or a .pth. As in the official code, the classifier heads are dropped when the class count
// differs, and pos_embed is resampled when the input size differs; every other tensor must fit the model.
import { loadCheckpointWeights } from './checkpointWeights.js';
import { loadStateDict } from './loadWeights.js';
import type { NativeModel } from './nativeModel.js';
import { WeightsError, type LoadReport } from './weightsError.js';

const HEADS = ['head.weight', 'head.bias', 'head_dist.weight', 'head_dist.bias'];

export interface FinetuneReport extends LoadReport {
  file: string;
  /** Heads left at their fresh initialisation because the checkpoint's class count differs. */
  dropped: { name: string; checkpoint: number[]; model: number[] }[];
}

/** Loads `weights` (any form model/weightsSource.ts resolves, named --finetune in errors) into `model` for transfer. */
export async function loadFinetuneWeights(model: NativeModel, weights: string): Promise<FinetuneReport> {
  const checkpoint = await loadCheckpointWeights(weights, { flag: '--finetune' });
  const shapes = new Map(model.parameterShapes().map((p) => [p.name, p.shape]));
  if (checkpoint.tensors.has('dist_token') !== shapes.has('dist_token')) {
    throw new WeightsError('MDISTILL_BAD_WEIGHTS', `--finetune ${weights}: the checkpoint is ${checkpoint.tensors.has('dist_token') ? '' : 'not '}a distilled DeiT ` +
      `(dist_token, head_dist) but the student is ${shapes.has('dist_token') ? '' : 'not'}; pick the --model ${checkpoint.tensors.has('dist_token') ? 'with' : 'without'} _distilled_ to match it`);
  }
  const tensors = new Map(checkpoint.tensors);
  const dropped: FinetuneReport['dropped'] = [];
  for (const name of HEADS) {
    const t = tensors.get(name);
    const expected = shapes.get(name);
    if (t && expected && (t.shape.length !== expected.length || t.shape.some((d, i) => d !== expected[i]))) {
      dropped.push({ name, checkpoint: t.shape, model: expected });
      tensors.delete(name);
    }
  }
  const report = loadStateDict(model, tensors, { strict: false, source: `--finetune ${checkpoint.file}` });
  const missing = report.missing.filter((n) => !dropped.some((d) => d.name === n));
  if (missing.length > 0 || report.unexpected.length > 0) {
    const lines = [
      missing.length ? `missing from the checkpoint: ${missing.join(', ')}` : '',
      report.unexpected.length ? `not in the model: ${report.unexpected.join(', ')}` : '',
    ].filter(Boolean);
    throw new WeightsError('MDISTILL_BAD_WEIGHTS', `--finetune ${weights}: the weights do not fit the student (${lines.join('; ')}); check --model and --model-overrides`, report);
  }
  return { ...report, file: checkpoint.file, dropped };
}

/** One line for the log: what came from the checkpoint and what did not. */
export function describeFinetune(r: FinetuneReport): string {
  const parts = [`loaded ${r.loaded.length - r.resized.length} tensors as they are from ${r.file}`];
  if (r.dropped.length) parts.push(`kept ${r.dropped.map((d) => d.name).join(', ')} fresh (${r.dropped[0].checkpoint[0]} classes in the checkpoint, ${r.dropped[0].model[0]} here)`);
  for (const s of r.resized) parts.push(`resampled ${s.name} [${s.from.join(', ')}] -> [${s.to.join(', ')}]`);
  return parts.join('; ');
}
