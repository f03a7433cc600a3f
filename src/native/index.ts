// The public face of the native addon. Everything outside src/native/ goes through these wrappers.
import { availableParallelism } from 'node:os';
import path from 'node:path';
import type {
  BatchedMatmulImpl, GemmBenchmarkResult, FmaPeakArgs, FmaPeakResult, GemmShapeBenchmarkArgs, GemmShapeBenchmarkResult, MatmulProbeResult, MdistillAddon, RawBatch, NativeErrorCode,
  RawManifoldLossArgs, RawManifoldLossResult, RawModel, RawModelConfig, RawPairPlan, RawTokenLayout,
  RawRuntimeInfo, RawTrainer, RawTrainerOptions, RawEvalCounts, RawProcessGroup, RawProcessGroupOptions, RawDevice, RawDeviceMemory,
} from './addonTypes.js';
import { defaultAddonCandidates, loadAddonFrom } from './loader.js';
import { detectLoadedBlas, type BlasInfo } from './blas.js';
import { capAtCores } from './threadCap.js';

export type {
  BatchedMatmulImpl, FeatureArray, GemmBenchmarkResult, FmaPeakArgs, FmaPeakResult, GemmShapeBenchmarkArgs, GemmShapeBenchmarkResult, MatmulProbeResult, RawGemmEngineInfo, NativeErrorCode,
  RawManifoldLossArgs, RawManifoldLossResult, RawPairPlan, RawTokenLayout,
} from './addonTypes.js';
export type { RawBatch, RawTrainer, RawTrainerOptions, RawStepTerms, RawEvalCounts } from './addonTypes.js';
export type { RawProcessGroup, RawProcessGroupOptions, RawDevice, RawDeviceMemory } from './addonTypes.js';
export type { RawModel, RawModelConfig, RawForwardOptions, RawForwardResult, RawBlockOutput, RawParameterShape, RawWeight } from './addonTypes.js';
export { AddonLoadError, classifyLoadFailure, loadAddonFrom, defaultAddonCandidates, type LoadAttempt } from './loader.js';
export type { BlasInfo } from './blas.js';
export { capAtCores } from './threadCap.js';
export type { Proof, SameFields } from './sameFields.js';

let cached: MdistillAddon | undefined;

/** The default intra-op thread count: $MDISTILL_THREADS (capped at the cores, with a warning), else every available core. */
export function defaultThreads(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.MDISTILL_THREADS;
  if (raw === undefined || raw === '') return availableParallelism();
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    throw new Error(`MDISTILL_THREADS must be a positive integer, got '${raw}'. Unset it to use all ${availableParallelism()} cores.`);
  }
  return capAtCores(n, 'MDISTILL_THREADS');
}

/** Loads the addon once (searching the default locations) and applies the default thread count. */
export function addon(): MdistillAddon {
  if (!cached) {
    const chosen = process.env.MDISTILL_ADDON ? path.resolve(process.env.MDISTILL_ADDON) : undefined;
    const loaded = loadAddonFrom(defaultAddonCandidates(), (failed) => {
      if (failed.path === chosen) {
        process.stderr.write(`warning: MDISTILL_ADDON=${process.env.MDISTILL_ADDON} could not be loaded (${failed.kind}: ${failed.reason}); ` +
          'falling back to the built addon. Unset MDISTILL_ADDON, or point it at a loadable mdistill.node.\n');
      }
    });
    loaded.setNumThreads(defaultThreads());
    cached = loaded;
  }
  return cached;
}

/** Sets libtorch's intra-op threads, capped at the cores (with a warning naming `what`, the flag). */
export function setThreads(threads: number, what = '--threads'): number {
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`${what} must be a positive integer, got ${threads}`);
  return addon().setNumThreads(capAtCores(threads, what));
}

export interface RuntimeInfo extends RawRuntimeInfo {
  blas: BlasInfo;
}

export function runtimeInfo(): RuntimeInfo {
  const raw = addon().runtimeInfo();
  return { ...raw, blas: detectLoadedBlas() };
}

export function matmulProbe(a: Float64Array, aShape: number[], b: Float64Array, bShape: number[]): Promise<MatmulProbeResult> {
  return addon().matmulProbe(a, aShape, b, bShape);
}

/** GPU memory in live tensors (now and peak) and reserved by the caching allocator; CUDA devices only. */
export function deviceMemory(device: RawDevice, resetPeak = false): RawDeviceMemory {
  return addon().deviceMemory(device, resetPeak);
}

export function gemmBenchmark(size: number, minSeconds: number): Promise<GemmBenchmarkResult> {
  return addon().gemmBenchmark(size, minSeconds);
}

export function gemmShapeBenchmark(args: GemmShapeBenchmarkArgs): Promise<GemmShapeBenchmarkResult> {
  return addon().gemmShapeBenchmark(args);
}

export function fmaPeak(args: FmaPeakArgs): Promise<FmaPeakResult> {
  return addon().fmaPeak(args);
}

/** A native ViT/DeiT, CaiT or Swin; src/model/nativeModel.ts is its public face. */
export function createRawModel(config: RawModelConfig): RawModel {
  return new (addon().Model)(config);
}

export function resamplePosEmbed(data: Float32Array, shape: number[], newGrid: [number, number], numPrefixTokens: number): { data: Float32Array; shape: number[] } {
  return addon().resamplePosEmbed(data, shape, newGrid, numPrefixTokens);
}

/** Runs the GEMM layer's batched matmul on one engine, or its reference, forward and backward (see addonTypes.ts). */
export function batchedMatmulCheck(a: Float32Array, aShape: number[], b: Float32Array, bShape: number[], gradOut: Float32Array, impl: BatchedMatmulImpl): Promise<{ out: Float32Array; gradA: Float32Array; gradB: Float32Array }> {
  return addon().batchedMatmulCheck(a, aShape, b, bShape, gradOut, impl);
}

export function manifoldLossNative(args: RawManifoldLossArgs): Promise<RawManifoldLossResult> {
  return addon().manifoldLoss(args);
}

export function planLayerPairsNative(studentLayouts: RawTokenLayout[], teacherLayouts: RawTokenLayout[], maxPatchNum: number): RawPairPlan[] {
  return addon().planLayerPairs({ studentLayouts, teacherLayouts, maxPatchNum });
}

/** An Error thrown or rejected by native code, with its stable code. */
export interface NativeError extends Error {
  code: NativeErrorCode;
}

export function isNativeError(err: unknown): err is NativeError {
  const code = err instanceof Error ? (err as Error & { code?: unknown }).code : undefined;
  return typeof code === 'string' && code.startsWith('MDISTILL_');
}

export function createRawTrainer(student: RawModel, teacher: RawModel | null, ema: RawModel | null, options: RawTrainerOptions): RawTrainer {
  return new (addon().Trainer)(student, teacher, ema, options);
}

export function evaluateBatch(model: RawModel, batch: RawBatch & { labels: Int32Array }): Promise<RawEvalCounts> {
  return addon().evaluateBatch(model, batch);
}

/** A c10d process group, not yet connected (call connect()). */
export function createRawProcessGroup(options: RawProcessGroupOptions): RawProcessGroup {
  return new (addon().ProcessGroup)(options);
}
