// `mdistill export`: resolve the architecture and weights, check them, build ONNX and/or timm-ready
// safetensors in memory, then write each output atomically.
import { access, rm, stat } from 'node:fs/promises';
import { NotRegularFileError, readRegularFile } from '../io/regularFile.js';
import { constants } from 'node:fs';
import path from 'node:path';
import { atomicWriteFile } from '../io/atomicWrite.js';
import { fileKind, reasonOf } from '../io/fileProblem.js';
import { SafetensorsError, serializeSafetensors, type TensorEntry } from '../io/safetensors.js';
import type { WeightsFormat } from '../io/weightsFile.js';
import { architectureOf, loadCheckpointWeights, WeightsError } from '../model/checkpointWeights.js';
import { toTimm, type ModelConfig } from '../model/modelConfig.js';
import { assertStateDictFits, timmStateShapes } from '../model/timmStateShapes.js';
import { buildOnnxModel, INPUT_NAME, OPSET, OUTPUT_NAME } from './onnxModel.js';

export const IMAGENET_MEAN = [0.485, 0.456, 0.406];
export const IMAGENET_STD = [0.229, 0.224, 0.225];
export const CLASSES_FILE = 'classes.json';

export interface ExportOptions {
  /** A checkpoint directory (model.safetensors, ema.safetensors), a .safetensors file or a .pth checkpoint. */
  weights: string;
  /** Export the EMA weights of a checkpoint directory (both outputs). */
  ema?: boolean;
  /** A preset name from MODEL_PRESETS; needed when the weights carry no timm_class/kwargs (a .pth: inferred from shapes). */
  model?: string;
  /** With `model`, for a .pth of a custom size: ModelConfig fields over the preset (e.g. numHeads). */
  modelOverrides?: Record<string, unknown>;
  onnx?: string;
  safetensors?: string;
  /** float16 ONNX initializers (the graph still computes in float32). */
  fp16?: boolean;
  /** A JSON array of names, or a text file with one name a line. */
  classNames?: string;
  mean?: number[];
  std?: number[];
}

export interface ExportResult {
  config: ModelConfig;
  modelName?: string;
  weightsFile: string;
  weightsFormat: WeightsFormat;
  /** A .pth's top-level key that held the weights (null: a bare state dict). */
  wrapper?: string | null;
  written: { path: string; bytes: number }[];
  /** Tensors left out of the safetensors output because only training uses them. */
  droppedTrainingState: string[];
  warnings: string[];
}

function badArgument(message: string): WeightsError {
  return new WeightsError('MDISTILL_BAD_ARGUMENT', message);
}

function parseNames(text: string, source: string): string[] {
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (err) {
      throw badArgument(`${source}: not valid JSON (${(err as Error).message})`);
    }
    if (!Array.isArray(parsed) || !parsed.every((n) => typeof n === 'string')) throw badArgument(`${source}: expected a JSON array of strings`);
    return parsed as string[];
  }
  return trimmed.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
}

async function classNamesFor(options: ExportOptions, metadata: Record<string, string>, dir: string, config: ModelConfig): Promise<{ names?: string[]; source?: string }> {
  let names: string[] | undefined;
  let source: string | undefined;
  if (options.classNames !== undefined) {
    source = `--class-names ${options.classNames}`;
    let text: string;
    try {
      text = (await readRegularFile(options.classNames)).toString('utf8');
    } catch (err) {
      const why = err instanceof NotRegularFileError ? `it is ${err.kind}, not a regular file` : reasonOf(err).what;
      throw badArgument(`${source}: cannot read it: ${why}. Pass a JSON array of names or a text file with one name a line.`);
    }
    names = parseNames(text, source);
  } else if (metadata.class_names !== undefined) {
    source = 'the checkpoint metadata class_names';
    names = parseNames(metadata.class_names, source);
  } else {
    const file = path.join(dir, CLASSES_FILE);
    const text = await readRegularFile(file).then((b) => b.toString('utf8'), () => undefined);
    if (text !== undefined) {
      source = file;
      names = parseNames(text, file);
    }
  }
  if (names && names.length !== config.numClasses) {
    throw badArgument(`${source}: ${names.length} class names, but the model has ${config.numClasses} classes`);
  }
  return { names, source };
}

function normalisation(options: ExportOptions, metadata: Record<string, string>, config: ModelConfig, warnings: string[]): { mean?: number[]; std?: number[] } {
  const fromMeta = (key: 'mean' | 'std'): number[] | undefined => {
    if (metadata[key] === undefined) return undefined;
    try {
      const v: unknown = JSON.parse(metadata[key]);
      if (Array.isArray(v) && v.every((x) => typeof x === 'number')) return v as number[];
    } catch { /* reported below */ }
    throw new WeightsError('MDISTILL_BAD_WEIGHTS', `checkpoint metadata ${key} must be a JSON array of numbers, got '${metadata[key]}'`);
  };
  const result: { mean?: number[]; std?: number[] } = {};
  for (const key of ['mean', 'std'] as const) {
    const flag = options[key];
    const value = flag ?? fromMeta(key) ?? (config.inChans === 3 ? (key === 'mean' ? IMAGENET_MEAN : IMAGENET_STD) : undefined);
    if (value === undefined) {
      warnings.push(`no ${key} for a ${config.inChans}-channel model in the checkpoint metadata; pass --${key} to record it in the ONNX metadata`);
      continue;
    }
    if (value.length !== config.inChans) {
      throw badArgument(`--${key} has ${value.length} values, but the model takes ${config.inChans} channels`);
    }
    if (key === 'std' && value.some((v) => !(v > 0))) throw badArgument(`--std values must be positive, got ${value.join(',')}`);
    result[key] = value;
  }
  return result;
}

/** Fails before any work when an output cannot be written: a directory, a missing or read-only parent. */
async function checkOutputs(outputs: string[]): Promise<void> {
  if (outputs.length === 0) throw badArgument('nothing to export: pass --onnx <file> and/or --safetensors <file>');
  if (outputs.length === 2 && path.resolve(outputs[0]) === path.resolve(outputs[1])) {
    throw badArgument(`--onnx and --safetensors both name ${outputs[0]}; give them different paths`);
  }
  for (const out of outputs) {
    const existing = await stat(out).catch(() => undefined);
    if (existing?.isDirectory()) throw badArgument(`cannot write ${out}: it is a directory; pass a file path`);
    if (existing && !existing.isFile()) throw badArgument(`cannot write ${out}: it is ${fileKind(existing)}; pass a path for a regular file`);
    const dir = path.dirname(path.resolve(out));
    try {
      await access(dir, constants.W_OK);
    } catch {
      throw badArgument(`cannot write ${out}: the directory ${dir} does not exist or is not writable`);
    }
  }
}

export async function exportModel(options: ExportOptions): Promise<ExportResult> {
  const outputs = [options.onnx, options.safetensors].filter((o): o is string => o !== undefined);
  await checkOutputs(outputs);
  const weights = await loadCheckpointWeights(options.weights, { ema: options.ema });
  const { config, name } = architectureOf(weights, options.model, options.modelOverrides);
  const { timmClass, kwargs } = toTimm(config);
  const archName = name ?? timmClass;
  const check = assertStateDictFits(config, weights.tensors, weights.file, archName);
  for (const key of timmStateShapes(config).keys()) {
    if (weights.tensors.get(key)?.dtype === 'I64') {
      throw new SafetensorsError(weights.file, 'is I64 (integers); a weight must be a floating-point tensor (F32, F16, BF16 or F64)', key);
    }
  }
  const warnings: string[] = [];
  const classes = await classNamesFor(options, weights.metadata, weights.dir, config);
  const norm = normalisation(options, weights.metadata, config, warnings);

  const files: { path: string; bytes: Uint8Array }[] = [];
  if (options.onnx !== undefined) {
    const metadata: Record<string, string> = {
      timm_class: timmClass,
      kwargs: JSON.stringify(kwargs),
      ...(name !== undefined ? { model: name } : {}),
      input_name: INPUT_NAME,
      input_size: JSON.stringify([config.inChans, config.imgSize, config.imgSize]),
      output_name: OUTPUT_NAME,
      ...(norm.mean ? { mean: JSON.stringify(norm.mean) } : {}),
      ...(norm.std ? { std: JSON.stringify(norm.std) } : {}),
      ...(classes.names ? { class_names: JSON.stringify(classes.names) } : {}),
      weights: weights.kind === 'ema' ? 'ema' : 'model',
      opset: String(OPSET),
      fp16_weights: String(options.fp16 ?? false),
    };
    files.push({ path: options.onnx, bytes: buildOnnxModel(config, weights.tensors, { fp16: options.fp16, metadata }) });
  }
  if (options.safetensors !== undefined) {
    // timm's names and order, the exact stored dtype and bits; training-only tensors stay behind.
    const tensors = new Map<string, TensorEntry>();
    for (const key of timmStateShapes(config).keys()) tensors.set(key, weights.tensors.get(key)!);
    // A .pth has no metadata: it gets ours (format, timm_class, kwargs, and the preset when it is one exactly).
    const fromPth = weights.format === 'pth' ? { format: 'pt', ...(name !== undefined ? { model: name } : {}) } : {};
    const metadata: Record<string, string> = { ...fromPth, ...weights.metadata, timm_class: timmClass, kwargs: weights.metadata.kwargs ?? JSON.stringify(kwargs) };
    if (options.classNames !== undefined && classes.names) metadata.class_names = JSON.stringify(classes.names);
    if (options.mean) metadata.mean = JSON.stringify(norm.mean);
    if (options.std) metadata.std = JSON.stringify(norm.std);
    files.push({ path: options.safetensors, bytes: serializeSafetensors(tensors, metadata) });
  }

  const written: ExportResult['written'] = [];
  try {
    for (const f of files) {
      await atomicWriteFile(f.path, f.bytes);
      written.push({ path: f.path, bytes: f.bytes.byteLength });
    }
  } catch (err) {
    // One invocation is one export: do not leave the first output behind when the second fails.
    for (const w of written) await rm(w.path, { force: true });
    throw err;
  }
  return {
    config, modelName: name, weightsFile: weights.file, weightsFormat: weights.format, wrapper: weights.wrapper, written,
    droppedTrainingState: check.trainingOnly, warnings,
  };
}
