// The raw shape of every export of the native addon (native/addon.cc). Only src/native/ may use it;
// the rest of src/ imports the wrappers in src/native/index.ts, so tests can substitute a fake.

export interface RawRuntimeInfo {
  libtorchVersion: string;
  buildSystem: string;
  torchSource: string;
  cxx11Abi: boolean;
  cudaCompiled: boolean;
  torchHasCuda: boolean;
  cudaDevices: string[];
  threads: number;
  interopThreads: number;
  parallelInfo: string;
}

export interface MatmulProbeResult {
  product: Float64Array;
  gradA: Float64Array;
  gradB: Float64Array;
  loss: number;
}

export interface GemmBenchmarkResult {
  size: number;
  iterations: number;
  seconds: number;
  gflops: number;
}

export type FeatureArray = Float32Array | Float64Array;

/** Arguments of the native manifoldLoss (see src/loss/manifoldLoss.ts for the documented face). */
export interface RawManifoldLossArgs {
  student: FeatureArray[];
  studentShapes: number[][];
  teacher: FeatureArray[];
  teacherShapes: number[][];
  wSample?: number;
  wPatch?: number;
  wRand?: number;
  beta?: number;
  k?: number;
  maxPatchNum?: number;
  seed?: number;
  perms?: (BigInt64Array | number[])[];
  impl?: 'fused' | 'naive';
  dtype?: 'float32' | 'float64' | 'bfloat16';
  device?: 'cpu' | 'cuda';
  backward?: boolean;
  returnGrad?: boolean;
  /** Backpropagate upstream[0]*sample + upstream[1]*patch + upstream[2]*rand instead of their sum. */
  upstream?: [number, number, number];
}

export interface RawManifoldLossResult {
  sample: number;
  patch: number;
  rand: number;
  total: number;
  perms: BigInt64Array[];
  gradNormSq?: number[];
  gradStudent?: FeatureArray[];
}

export interface MdistillAddon {
  runtimeInfo(): RawRuntimeInfo;
  /** Sets libtorch's intra-op thread count; returns the count now in effect. */
  setNumThreads(threads: number): number;
  /** loss = ½‖A·B‖² and its autograd gradients; A is aShape=[m,k], B is bShape=[k,n], row-major. */
  matmulProbe(a: Float64Array, aShape: number[], b: Float64Array, bShape: number[]): Promise<MatmulProbeResult>;
  /** Runs size×size float32 GEMMs for at least minSeconds. */
  gemmBenchmark(size: number, minSeconds: number): Promise<GemmBenchmarkResult>;
  /** The manifold distillation loss over layer pairs, with optional student gradients. */
  manifoldLoss(args: RawManifoldLossArgs): Promise<RawManifoldLossResult>;
}

/** Error codes that native calls attach to the Errors they throw or reject with. */
export type NativeErrorCode =
  | 'MDISTILL_SHAPE_MISMATCH'
  | 'MDISTILL_BAD_ARGUMENT'
  | 'MDISTILL_BAD_WEIGHTS'
  | 'MDISTILL_NONFINITE_LOSS'
  | 'MDISTILL_OUT_OF_MEMORY'
  | 'MDISTILL_TORCH_ERROR'
  | 'MDISTILL_INTERNAL';
