// Fixture loading and helpers shared by the export tests.
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { readSafetensors, toFloat32, type TensorEntry } from '../../src/io/safetensors.js';
import { fromTimm, type ModelConfig } from '../../src/model/modelConfig.js';
import { timmStateShapes } from '../../src/model/timmStateShapes.js';
import { packageRoot } from '../../src/io/packageRoot.js';

export const FIXTURES = path.resolve(packageRoot, '..', 'shared', 'fixtures');
export const FIXTURE_MODELS = ['vit_tiny_gray28', 'deit_distilled_32', 'cait_32', 'swin_32'] as const;

export interface Fixture {
  modelFile: string;
  config: ModelConfig;
  state: Map<string, TensorEntry>;
  metadata: Record<string, string>;
  input: Float32Array;
  inputShape: number[];
  logits: Float32Array;
}

export async function loadFixture(name: string): Promise<Fixture> {
  const modelFile = path.join(FIXTURES, `${name}.model.safetensors`);
  const model = await readSafetensors(modelFile);
  const io = await readSafetensors(path.join(FIXTURES, `${name}.io.safetensors`));
  const input = io.tensors.get('input')!;
  return {
    modelFile,
    config: fromTimm(model.metadata.timm_class, model.metadata.kwargs, modelFile),
    state: model.tensors,
    metadata: model.metadata,
    input: toFloat32(input),
    inputShape: input.shape,
    logits: toFloat32(io.tensors.get('logits')!),
  };
}

/** Runs an ONNX model on `input` [N, C, H, W] and returns the logits and their dims. */
export async function runOnnx(onnx: Uint8Array, input: Float32Array, dims: number[]): Promise<{ data: Float32Array; dims: readonly number[] }> {
  const session = await ort.InferenceSession.create(onnx);
  try {
    const out = await session.run({ pixel_values: new ort.Tensor('float32', input, dims) });
    const logits = out.logits;
    return { data: logits.data as Float32Array, dims: logits.dims };
  } finally {
    await session.release();
  }
}

/** A batch of `n` images made of the fixture's rows, cycling (batch 3 = rows 0, 1, 0). */
export function batchOf(f: Fixture, n: number): { input: Float32Array; dims: number[]; expected: Float32Array } {
  const [rows, ...image] = f.inputShape;
  const per = image.reduce((a, b) => a * b, 1);
  const classes = f.logits.length / rows;
  const input = new Float32Array(n * per);
  const expected = new Float32Array(n * classes);
  for (let i = 0; i < n; i++) {
    input.set(f.input.subarray((i % rows) * per, (i % rows + 1) * per), i * per);
    expected.set(f.logits.subarray((i % rows) * classes, (i % rows + 1) * classes), i * classes);
  }
  return { input, dims: [n, ...image], expected };
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Seeded random weights in timm's names and shapes (mulberry32), scaled so every path matters. */
export function randomState(config: ModelConfig, seed = 1): Map<string, TensorEntry> {
  let s = seed >>> 0;
  const rand = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const state = new Map<string, TensorEntry>();
  for (const [name, shape] of timmStateShapes(config)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const fanIn = shape.length > 1 ? n / shape[0] : 1;
    const isNormWeight = /norm\d?\.weight$/.test(name);
    const data = Float32Array.from({ length: n }, () => (isNormWeight ? 1 : 0) + (rand() * 2 - 1) * (name.includes('gamma') ? 0.5 : 1 / Math.sqrt(fanIn)));
    state.set(name, { dtype: 'F32', shape, data });
  }
  return state;
}
