// Weights in and out of a NativeModel as safetensors with timm's names: a strict diff report, `module.`/`model.`
// prefixes stripped, pos_embed resampled to the model's grid, any float dtype converted to float32.
import { toFloat32, writeSafetensors, type TensorEntry } from '../io/safetensors.js';
import { readWeights } from './weightsSource.js';
import { stripPrefixes } from './statePrefixes.js';
import { resamplePosEmbed } from '../native/index.js';
import { fromTimm, toTimm, type ModelConfig } from './modelConfig.js';
import { WeightsError, type LoadReport } from './weightsError.js';
import { listed } from './listed.js';
import { NativeModel, type NamedWeight, type NativeModelOptions } from './nativeModel.js';

export interface LoadOptions {
  /** Fail on missing or unexpected keys (default true). Wrong shapes always fail. */
  strict?: boolean;
  /** Names the weights in messages (a file path). */
  source?: string;
  /** What the weights are for, in messages ('teacher'). */
  role?: string;
}

function nonFiniteCount(data: Float32Array): number {
  let n = 0;
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) n++;
  return n;
}

export { WeightsError, type LoadReport, type ShapeMismatch } from './weightsError.js';
export { stripPrefixes };

/** Names listed per kind of problem: a file of 300k keys must not make a megabyte-long message. */
const LISTED = 8;
const dims = (shape: number[]): string => `[${shape.join(', ')}]`;
const sameShape = (a: number[], b: number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i]);

function describe(report: LoadReport, strict: boolean, source: string): string {
  const lines: string[] = [];
  if (report.mismatched.length > 0) {
    lines.push(`  wrong shape (${report.mismatched.length}):`);
    for (const m of report.mismatched.slice(0, LISTED)) lines.push(`    ${m.name}: checkpoint ${dims(m.checkpoint)}, model ${dims(m.model)}`);
    if (report.mismatched.length > LISTED) lines.push(`    … and ${report.mismatched.length - LISTED} more`);
  }
  if (strict && report.missing.length > 0) lines.push(`  missing from the checkpoint (${report.missing.length}): ${listed(report.missing)}`);
  if (strict && report.unexpected.length > 0) lines.push(`  unexpected in the checkpoint (${report.unexpected.length}): ${listed(report.unexpected)}`);
  const hint = strict && report.mismatched.length === 0 ? '\n  (load with strict: false to ignore missing and unexpected keys)' : '';
  return `${source}: the weights do not fit the model:\n${lines.join('\n')}${hint}`;
}

/** Loads a state dict into the model; returns what was loaded, or throws a WeightsError listing every problem. */
export function loadStateDict(model: NativeModel, tensors: Map<string, TensorEntry>, options: LoadOptions = {}): LoadReport {
  const { strict = true, source = 'weights' } = options;
  const shapes = new Map(model.parameterShapes().map((p) => [p.name, p.shape]));
  const report: LoadReport = { loaded: [], missing: [], unexpected: [], mismatched: [], resized: [] };
  const entries: NamedWeight[] = [];
  const seen = new Set<string>();
  for (const [rawName, entry] of tensors) {
    const name = stripPrefixes(rawName);
    if (seen.has(name)) throw new WeightsError('MDISTILL_BAD_WEIGHTS', `${source}: '${rawName}' names '${name}' a second time once prefixes are stripped`);
    seen.add(name);
    const expected = shapes.get(name);
    if (!expected) {
      report.unexpected.push(name);
      continue;
    }
    let shape = entry.shape;
    let data = toFloat32(entry, rawName, source);
    const bad = nonFiniteCount(data);
    if (bad > 0) {
      throw new WeightsError('MDISTILL_BAD_WEIGHTS', `${source}: tensor '${rawName}' holds ${bad} non-finite value(s) (NaN or ±Inf) among ${data.length}: ` +
        `these weights are broken (saved from a diverged run?). Use an earlier checkpoint${options.role ? ` as the ${options.role}` : ''}.`);
    }
    if (name === 'pos_embed' && !sameShape(shape, expected) && shape.length === 3 && shape[0] === 1 && shape[2] === expected[2]) {
      // Weights trained at another image size: resample the patch grid as timm does on load.
      let resized;
      try {
        resized = resamplePosEmbed(data, shape, model.grid, model.numPrefixTokens);
      } catch {
        // Not a grid with this model's prefix tokens (another architecture): a plain shape mismatch.
        report.mismatched.push({ name, checkpoint: entry.shape, model: expected });
        continue;
      }
      report.resized.push({ name, from: shape, to: resized.shape });
      shape = resized.shape;
      data = resized.data;
    }
    if (!sameShape(shape, expected)) {
      report.mismatched.push({ name, checkpoint: entry.shape, model: expected });
      continue;
    }
    entries.push({ name, shape, data });
  }
  report.missing = [...shapes.keys()].filter((n) => !seen.has(n));
  if (report.mismatched.length > 0 || (strict && (report.missing.length > 0 || report.unexpected.length > 0))) {
    throw new WeightsError('MDISTILL_BAD_WEIGHTS', describe(report, strict, source), report);
  }
  model.setWeights(entries);
  report.loaded = entries.map((e) => e.name);
  return report;
}

/** Reads a weights file (safetensors or a .pth checkpoint) into the model (see loadStateDict). */
export async function loadWeightsFile(model: NativeModel, file: string, options: Omit<LoadOptions, 'source'> = {}): Promise<LoadReport> {
  const { tensors } = await readWeights({ file });
  return loadStateDict(model, tensors, { ...options, source: file });
}

/** The model's weights as a safetensors state dict (F32, timm's names and order). */
export function stateDictOf(model: NativeModel): Map<string, TensorEntry> {
  return new Map(model.getWeights().map((w) => [w.name, { dtype: 'F32', shape: w.shape, data: w.data }]));
}

/** safetensors metadata that timm and our loader read: the timm class and its constructor kwargs. */
export function timmMetadata(config: ModelConfig): Record<string, string> {
  const { timmClass, kwargs } = toTimm(config);
  return { format: 'pt', timm_class: timmClass, kwargs: JSON.stringify(kwargs) };
}

/** Writes the model's weights (atomically) with timm metadata. */
export async function saveWeights(model: NativeModel, file: string, extraMetadata: Record<string, string> = {}): Promise<void> {
  await writeSafetensors(file, stateDictOf(model), { ...timmMetadata(model.config), ...extraMetadata });
}

/** Builds the model a safetensors file describes (metadata timm_class + kwargs) and loads its weights strictly. */
export async function modelFromWeightsFile(file: string, options: NativeModelOptions = {}): Promise<NativeModel> {
  const { tensors, metadata } = await readWeights({ file });
  if (metadata.timm_class === undefined || metadata.kwargs === undefined) {
    throw new WeightsError('MDISTILL_BAD_WEIGHTS', `${file}: the metadata names no timm_class and kwargs, so the architecture is unknown; build the model from a preset and load the weights into it`);
  }
  const model = new NativeModel(fromTimm(metadata.timm_class, metadata.kwargs, file), options);
  loadStateDict(model, tensors, { source: file });
  return model;
}
