// The raw shape of every export of the native addon (native/addon.cc): the wire between TypeScript and C++.
// Only src/native/ may use it; the rest of src/ imports the wrappers in src/native/index.ts, so tests can
// substitute a fake. It imports nothing else of src/: each domain face (model/nativeModel.ts,
// loss/manifoldLoss.ts, train/nativeTrainer.ts) maps its documented types onto these, and proves at compile
// time that the fields it shares with the wire are the same.

/** Where native tensors live: the CPU, the current CUDA device, or CUDA device N (a data-parallel process's GPU). */
export type RawDevice = 'cpu' | 'cuda' | `cuda:${number}`;

export interface RawRuntimeInfo {
  libtorchVersion: string;
  buildSystem: string;
  torchSource: string;
  cxx11Abi: boolean;
  cudaCompiled: boolean;
  torchHasCuda: boolean;
  cudaDevices: string[];
  threads: number;
  /** Threads an at::parallel_for in the addon's own kernels actually ran on (1 means they are serial). */
  parallelForThreads: number;
  interopThreads: number;
  parallelInfo: string;
  /** Whether glibc's malloc keeps freed memory in the process (native/core/malloc_tuning.h): "applied: …" or "skipped: why". */
  mallocTuning: string;
  /** The engine of the models' matrix products (native/gemm/gemm_engine.h). */
  gemmEngine: RawGemmEngineInfo;
}

export interface RawGemmEngineInfo {
  /** 'onednn' (oneDNN's matmul primitive) or 'aten' (OpenBLAS for float32); MDISTILL_GEMM chooses. */
  engine: 'onednn' | 'aten';
  /** Why this engine, e.g. "default: oneDNN on avx512_core_bf16" or "MDISTILL_GEMM=aten". */
  reason: string;
  onednnCompiled: boolean;
  /** The loaded libdnnl's version, '' without oneDNN. */
  onednnVersion: string;
  /** oneDNN's effective ISA (e.g. 'avx512_core_bf16'), '' without oneDNN. */
  onednnIsa: string;
  /** That ISA includes AVX-512. */
  avx512: boolean;
  /** That ISA has native bfloat16 dot products (AVX512_BF16 or AMX). */
  bf16: boolean;
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

/** One matrix product shape timed on one engine: out [batch, m, n] = a [batch, m, k] · bᵀ with b a contiguous
 *  [batch, n, k] (a Linear's weight or attention's k). 'openblas' is at::mm per matrix (float32 only), 'aten' is
 *  at::mm / at::bmm as ATen chooses (bfloat16: its own oneDNN). */
export interface GemmShapeBenchmarkArgs {
  batch: number;
  m: number;
  k: number;
  n: number;
  dtype: 'float32' | 'bfloat16';
  engine: 'onednn' | 'openblas' | 'aten';
  minSeconds: number;
}

export interface GemmShapeBenchmarkResult {
  iterations: number;
  seconds: number;
  gflops: number;
  /** The kernel: oneDNN's implementation name (e.g. 'brg:avx512_core') or the ATen call. */
  implementation: string;
}

/** The CPU's multiply-add ceiling (native/diagnostics/fma_peak.h): independent vector multiply-add chains on every
 *  thread, nothing from memory. float32: FMA on the widest vectors; bfloat16: AVX512_BF16 dot products. */
export interface FmaPeakArgs {
  dtype: 'float32' | 'bfloat16';
  minSeconds: number;
}

export interface FmaPeakResult {
  gflops: number;
  seconds: number;
  threads: number;
  /** 'avx512f fma', 'avx2 fma' or 'avx512_bf16 dot'. */
  kernel: string;
}

/** Everything the native model is built from: the architecture (src/model/modelConfig.ts's ModelConfig, field
 *  for field) plus the construction options. Every field is required. */
export interface RawModelConfig {
  arch: 'vit' | 'cait' | 'swin';
  imgSize: number;
  patchSize: number;
  inChans: number;
  numClasses: number;
  embedDim: number;
  depth: number;
  numHeads: number;
  mlpRatio: number;
  qkvBias: boolean;
  /** ViT only: a distillation token and head_dist. */
  distilled: boolean;
  /** CaiT only: class-attention blocks. */
  depthTokenOnly: number;
  /** CaiT only: LayerScale init. */
  initValues: number;
  /** Swin only: blocks per stage. */
  depths: number[];
  /** Swin only: attention heads per stage. */
  stageHeads: number[];
  /** Swin only: the window side. */
  windowSize: number;
  /** Where the parameters live; 'cuda' (the current device) and 'cuda:N' need a CUDA libtorch. */
  device: RawDevice;
  /** Stochastic depth (training only): linear 0..rate over ViT blocks and over all Swin blocks, constant over CaiT blocks. */
  dropPathRate: number;
  /** Seed of the random initialisation. */
  seed: number;
}

export interface RawForwardOptions {
  /** Indices of the self-attention blocks whose token outputs to return (others are not retained). */
  blocks?: number[];
  /** Training mode: drop-path on, distilled models return both heads. Default false. */
  train?: boolean;
  /** Run a bfloat16 copy of the model (made on first use, refreshed after weight changes): the whole forward in
   *  bfloat16, as --amp runs the teacher. Default false. */
  amp?: boolean;
}

export interface RawBlockOutput {
  index: number;
  /** [B, tokens, dim] */
  shape: number[];
  data: Float32Array;
}

export interface RawForwardResult {
  /** Eval: [B, classes] (distilled: the mean of both heads). Training a distilled model: the cls head. */
  logits: Float32Array;
  logitsShape: number[];
  /** Training a distilled model: the dist head. */
  logitsDist?: Float32Array;
  blocks: RawBlockOutput[];
}

export interface RawParameterShape {
  name: string;
  shape: number[];
}

export interface RawWeight extends RawParameterShape {
  data: Float32Array;
}

/** A native ViT/DeiT, CaiT or Swin (native/napi/model_wrap.cc) with timm's parameter names. */
export interface RawModel {
  /** input is [B, inChans, imgSize, imgSize] row-major; a wrong shape rejects with MDISTILL_SHAPE_MISMATCH. */
  forward(input: Float32Array, shape: number[], options?: RawForwardOptions): Promise<RawForwardResult>;
  /** timm's state-dict names and shapes, in timm's order. */
  parameterShapes(): RawParameterShape[];
  /** Copies of every parameter, in timm's order. */
  getWeights(): RawWeight[];
  /** Copies the given parameters in (a subset is allowed). Unknown names throw MDISTILL_BAD_WEIGHTS and wrong shapes
   *  MDISTILL_SHAPE_MISMATCH, both before anything is written. */
  setWeights(entries: RawWeight[]): void;
  numParameters(): number;
  /** Autograd through an eval-mode forward: the gradient of sum(logits * gradLogits) for every parameter, in timm's
   *  order (gradLogits is [B, numClasses]). For checking the backward path the training step relies on. */
  parameterGradients(input: Float32Array, shape: number[], gradLogits: Float32Array): Promise<RawWeight[]>;
}

export type FeatureArray = Float32Array | Float64Array;

/** [prefix, rows, cols]: `prefix` leading tokens (cls/dist) then a rows x cols patch grid, row-major. */
export type RawTokenLayout = [number, number, number];

/** Arguments of the native manifoldLoss: src/loss/manifoldLoss.ts's options with every default filled in (its
 *  `grad` becomes backward/returnGrad), and the layer pairs as flat arrays with their shapes and token layouts. */
export interface RawManifoldLossArgs {
  wSample: number;
  wPatch: number;
  wRand: number;
  /** Rows drawn for the random term (clamped to B*N). */
  k: number;
  /** 0: off. */
  maxPatchNum: number;
  seed: number;
  /** Given rows of the random term, one list per pair (then `seed` is unused). */
  perms?: (BigInt64Array | number[])[];
  impl: 'fused' | 'naive';
  /** Default: the arrays' own precision. */
  dtype?: 'float32' | 'float64' | 'bfloat16';
  device: RawDevice;
  /** Differentiate upstream[0]*sample + upstream[1]*patch + upstream[2]*rand instead of total. */
  upstream?: [number, number, number];
  student: FeatureArray[];
  studentShapes: number[][];
  teacher: FeatureArray[];
  teacherShapes: number[][];
  /** [] (each read from its token count, as the official code does) or one per pair. */
  studentLayouts: RawTokenLayout[];
  teacherLayouts: RawTokenLayout[];
  backward: boolean;
  returnGrad: boolean;
}

/** What the native manifoldLoss resolves to (src/loss/manifoldLoss.ts's ManifoldLossTerms, field for field). */
export interface RawManifoldLossResult {
  /** The terms with their w_* weights, averaged over the pairs (before the trainer's beta); total is their sum. */
  sample: number;
  patch: number;
  rand: number;
  total: number;
  perms: BigInt64Array[];
  /** Per pair, with backward. */
  gradNormSq?: number[];
  /** Per pair, with returnGrad. */
  gradStudent?: FeatureArray[];
}

/** How the manifold loss brings one layer pair together (native loss::PairPlan). */
export interface RawPairPlan {
  /** Tokens per image compared after dropping and merging. */
  tokens: number;
  /** Leading tokens dropped on each side. */
  dropStudent: number;
  dropTeacher: number;
  /** g: every g x g group of tokens merged into one (1: none). */
  mergeStudent: number;
  mergeTeacher: number;
}

export interface RawTrainerOptions {
  kd: 'none' | 'soft' | 'hard';
  alpha: number;
  beta: number;
  tau: number;
  wSample: number;
  wPatch: number;
  wRand: number;
  K: number;
  maxPatchNum: number;
  manifoldImpl: 'fused' | 'naive';
  sIds: number[];
  tIds: number[];
  /** <= 0: off */
  clipGrad: number;
  emaDecay: number;
  amp: boolean;
  seed: number;
  weightDecay: number;
}

/** What the native side reads of a batch (src/data/batch.ts's Batch carries these and more; other fields are
 *  ignored). The arrays are viewed without a copy. */
export interface RawBatch {
  images: Float32Array;
  /** [B, C, H, W] */
  shape: number[];
  /** Hard labels [B]. */
  labels?: Int32Array;
  /** Soft targets [B, classes] (mixup, cutmix, smoothing); used instead of the labels when present. */
  targets?: Float32Array;
}

/** total = (1−α)·base + α·kd + β·(sample + patch + rand). The first six fields are src/log/records.ts's LossTerms. */
export interface RawStepTerms {
  total: number;
  /** CE against the (possibly soft) targets, before the (1 − α) weight. */
  base: number;
  /** The KD term, before α. */
  kd: number;
  /** The manifold terms with their w_* weights, before β. */
  sample: number;
  patch: number;
  rand: number;
  gradNorm: number;
  /** Data parallel: seconds spent waiting on collectives in this step (0 on one process). */
  syncSeconds: number;
  /** Top-1 hits of the student's cls head (against the labels, or the soft targets' argmax). */
  correct: number;
  /** Wall seconds of the step's phases (zeros from lossTerms); the loss phase includes the fused manifold
   *  loss's student gradient, computed during its forward. */
  phases: { teacher: number; student: number; loss: number; backward: number; optimizer: number };
}

export interface RawTrainer {
  /** One optimizer step at learning rate `lr`; `step` is the global step (it keys the step's randomness). */
  step(batch: RawBatch, lr: number, step: number): Promise<RawStepTerms>;
  /** The loss terms of a training-mode forward, without a backward pass or an update. */
  lossTerms(batch: RawBatch, step: number): Promise<RawStepTerms>;
  optimizerState(): { steps: number; entries: RawWeight[] };
  loadOptimizerState(entries: RawWeight[], steps: number): void;
  noDecayNames(): string[];
  resetEma(): void;
  /** Broadcasts rank 0's student (and EMA) weights, then every step averages its gradients over the group. */
  attachProcessGroup(group: RawProcessGroup, options: { globalSampleManifold: boolean; bucketMb: number }): Promise<void>;
}

export interface RawProcessGroupOptions {
  rank: number;
  worldSize: number;
  masterAddr: string;
  masterPort: number;
  /** Bounds the rendezvous and every collective. */
  timeoutMs: number;
  /** A CUDA device (this process's: cuda:LOCAL_RANK) uses NCCL (a CUDA libtorch with NCCL), otherwise Gloo. */
  device: RawDevice;
}

/** A c10d process group: TCPStore rendezvous (rank 0 hosts it) and Gloo (CPU) or NCCL (CUDA). */
export interface RawProcessGroup {
  /** Rendezvous with the other ranks; rejects with MDISTILL_DIST_FAILURE after the timeout. */
  connect(): Promise<void>;
  /** Element-wise sum over the ranks. */
  allReduce(values: Float64Array): Promise<Float64Array>;
  barrier(): Promise<void>;
  /** Drops this handle (the connections close once no trainer holds the group). */
  destroy(): void;
  readonly rank: number;
  readonly worldSize: number;
  /** 'gloo', 'nccl', or 'unconnected'. */
  readonly backend: string;
}

export interface RawEvalCounts {
  correct1: number;
  correct5: number;
  count: number;
  lossSum: number;
}

export interface MdistillAddon {
  runtimeInfo(): RawRuntimeInfo;
  /** Sets libtorch's intra-op thread count; returns the count now in effect. */
  setNumThreads(threads: number): number;
  /** loss = ½‖A·B‖² and its autograd gradients; A is aShape=[m,k], B is bShape=[k,n], row-major. */
  matmulProbe(a: Float64Array, aShape: number[], b: Float64Array, bShape: number[]): Promise<MatmulProbeResult>;
  /** Runs size×size float32 GEMMs for at least minSeconds. */
  gemmBenchmark(size: number, minSeconds: number): Promise<GemmBenchmarkResult>;
  Model: new (config: RawModelConfig) => RawModel;
  /** Times one of the models' matrix product shapes on one engine. */
  gemmShapeBenchmark(args: GemmShapeBenchmarkArgs): Promise<GemmShapeBenchmarkResult>;
  /** Times the CPU's multiply-add ceiling for a dtype; rejects a dtype the CPU has no instructions for. */
  fmaPeak(args: FmaPeakArgs): Promise<FmaPeakResult>;
  /** The GEMM layer's batched matmul under the oneDNN or the ATen engine, or at::matmul ('reference'): out = a @ b
   *  for a [G,M,K], b [G,K,N] (b read as a transposed view), and the gradients of sum(out * gradOut). For tests
   *  that hold the engines to the reference. */
  batchedMatmulCheck(a: Float32Array, aShape: number[], b: Float32Array, bShape: number[], gradOut: Float32Array, impl: BatchedMatmulImpl): Promise<{ out: Float32Array; gradA: Float32Array; gradB: Float32Array }>;
  /** timm's resample_abs_pos_embed: keeps numPrefixTokens, resizes the patch grid (bicubic, antialias) to newGrid. */
  resamplePosEmbed(data: Float32Array, shape: number[], newGrid: [number, number], numPrefixTokens: number): { data: Float32Array; shape: number[] };
  /** The manifold distillation loss over layer pairs, with optional student gradients. */
  manifoldLoss(args: RawManifoldLossArgs): Promise<RawManifoldLossResult>;
  /** How manifoldLoss would bring each pair of the given layouts together; throws its MDISTILL_SHAPE_MISMATCH otherwise. */
  planLayerPairs(args: { studentLayouts: RawTokenLayout[]; teacherLayouts: RawTokenLayout[]; maxPatchNum: number }): RawPairPlan[];
  /** Owns the optimizer and EMA; runs distillation steps on a student, an optional teacher and an optional EMA model. */
  Trainer: new (student: RawModel, teacher: RawModel | null, ema: RawModel | null, options: RawTrainerOptions) => RawTrainer;
  /** Eval-mode forward: top-1/top-5 hits and the summed cross-entropy of one batch. */
  evaluateBatch(model: RawModel, batch: RawBatch & { labels: Int32Array }): Promise<RawEvalCounts>;
  ProcessGroup: new (options: RawProcessGroupOptions) => RawProcessGroup;
  /** The CUDA caching allocator's figures for a CUDA device; resetPeak starts a new peak. Throws for the CPU. */
  deviceMemory(device: RawDevice, resetPeak: boolean): RawDeviceMemory;
}

export interface RawDeviceMemory {
  allocatedBytes: number;
  /** Since the process started or the last reset. */
  peakBytes: number;
  reservedBytes: number;
}

export type BatchedMatmulImpl = 'onednn' | 'aten' | 'reference';

/** Error codes that native calls attach to the Errors they throw or reject with. */
export type NativeErrorCode =
  | 'MDISTILL_SHAPE_MISMATCH'
  | 'MDISTILL_BAD_ARGUMENT'
  | 'MDISTILL_BAD_WEIGHTS'
  | 'MDISTILL_NONFINITE_LOSS'
  | 'MDISTILL_OUT_OF_MEMORY'
  | 'MDISTILL_TORCH_ERROR'
  | 'MDISTILL_INTERNAL'
  | 'MDISTILL_DIST_FAILURE';
