// The manifold distillation loss (fine-grained manifold distillation, NeurIPS 2022) over student/teacher layer
// pairs, computed natively (native/loss/). The training step calls the C++ entry directly; this face serves tests,
// benchmarks and tools that hold features in typed arrays. This module is the one place ManifoldLossOptions and
// ManifoldLossTerms meet the wire (RawManifoldLossArgs, RawManifoldLossResult).
import { SCHEMA } from '../config/schema.js';
import type { TokenLayout } from '../model/modelConfig.js';
import {
  manifoldLossNative, planLayerPairsNative, type FeatureArray, type Proof, type RawDevice, type RawManifoldLossArgs, type RawManifoldLossResult,
  type RawPairPlan, type RawTokenLayout, type SameFields,
} from '../native/index.js';

/** Token features of one layer: row-major [B, N, d]. */
export interface LayerFeatures {
  data: FeatureArray;
  shape: [number, number, number];
  /** How the N tokens lie (a model's blockLayouts): prefix tokens, then the patch grid. Without it the loss reads a
   *  square grid after N - floor(sqrt(N))^2 extra tokens from N, as the official code does. Give it for every pair's
   *  student (or teacher) side, or for none. */
  layout?: TokenLayout;
}

export interface LayerPair {
  student: LayerFeatures;
  teacher: LayerFeatures;
}

export interface ManifoldLossOptions {
  /** Weights of the inter-sample, intra-sample and random-row terms (defaults: the schema's --w-sample, --w-patch, --w-rand). */
  wSample?: number;
  wPatch?: number;
  wRand?: number;
  /** Rows drawn for the random term; K >= B*N is clamped to B*N. */
  k?: number;
  /** Merge both token grids to a common square grid of at most this many tokens (0 = off). */
  maxPatchNum?: number;
  /** Seed of the generator that draws the random rows (same seed, same rows). Ignored when `perms` is given. */
  seed?: number;
  /** The random rows of each pair (min(K, B*N) distinct indices into the B*N token rows). */
  perms?: (BigInt64Array | number[])[];
  /** 'fused' (default): tiled kernels; 'naive': plain ATen ops under autograd, the reference. */
  impl?: 'fused' | 'naive';
  /** Compute dtype (inputs are converted); defaults to the arrays' own precision. */
  dtype?: 'float32' | 'float64' | 'bfloat16';
  device?: RawDevice;
  /** 'none' (default): values only; 'compute': also run backward and report gradient norms; 'return': also return the gradients. */
  grad?: 'none' | 'compute' | 'return';
  /** Differentiate upstream[0]*sample + upstream[1]*patch + upstream[2]*rand instead of total. */
  upstream?: [number, number, number];
}

export interface ManifoldLossTerms {
  /** The terms, each carrying its w_* weight, averaged over the pairs; total is their sum. The same meaning as
   *  LossTerms.sample/patch/rand of a training step (src/log/records.ts): weighted by w_*, before β. */
  sample: number;
  patch: number;
  rand: number;
  total: number;
  /** The random rows each pair used. */
  perms: BigInt64Array[];
  /** Squared L2 norm of d total / d student features, per pair (grad 'compute' or 'return'). */
  gradNormSq?: number[];
  /** d total / d student features, per pair, shaped like the student features (grad 'return'). */
  gradStudent?: FeatureArray[];
}

type PairArrays = 'student' | 'studentShapes' | 'teacher' | 'teacherShapes' | 'studentLayouts' | 'teacherLayouts' | 'backward' | 'returnGrad';
// The wire takes every option (grad as backward/returnGrad) and gives back exactly the documented terms.
type _OptionsOnTheWire = Proof<SameFields<Required<Omit<ManifoldLossOptions, 'grad'>>, Required<Omit<RawManifoldLossArgs, PairArrays>>>>;
type _TermsOnTheWire = Proof<SameFields<ManifoldLossTerms, RawManifoldLossResult>>;

/** The defaults are the training flags' own (src/config/schema.ts). */
const DEFAULTS: Omit<RawManifoldLossArgs, PairArrays | 'perms' | 'dtype' | 'upstream'> = {
  wSample: SCHEMA['w-sample'].default, wPatch: SCHEMA['w-patch'].default, wRand: SCHEMA['w-rand'].default, k: SCHEMA.K.default,
  maxPatchNum: SCHEMA['max-patch-num'].default, impl: SCHEMA['manifold-impl'].default, seed: SCHEMA.seed.default, device: SCHEMA.device.default,
};

const wireLayout = (l: TokenLayout): RawTokenLayout => [l.prefix, l.rows, l.cols];

function layoutsOf(sides: LayerFeatures[], side: 'student' | 'teacher'): RawTokenLayout[] {
  const given = sides.filter((f) => f.layout !== undefined).length;
  if (given !== 0 && given !== sides.length) {
    throw new Error(`manifoldLoss: ${given} of ${sides.length} ${side} features have a layout; give one for every pair or for none`);
  }
  return given === 0 ? [] : sides.map((f) => wireLayout(f.layout!));
}

/** Always settles through the promise: argument errors reject too (with their MDISTILL_* code). */
export async function manifoldLoss(pairs: LayerPair[], options: ManifoldLossOptions = {}): Promise<ManifoldLossTerms> {
  const { grad = 'none', ...rest } = options;
  const studentLayouts = layoutsOf(pairs.map((p) => p.student), 'student');
  const teacherLayouts = layoutsOf(pairs.map((p) => p.teacher), 'teacher');
  return manifoldLossNative({
    ...DEFAULTS,
    ...rest,
    student: pairs.map((p) => p.student.data),
    studentShapes: pairs.map((p) => p.student.shape),
    teacher: pairs.map((p) => p.teacher.data),
    teacherShapes: pairs.map((p) => p.teacher.shape),
    studentLayouts,
    teacherLayouts,
    backward: grad !== 'none',
    returnGrad: grad === 'return',
  });
}

/** How the loss brings one layer pair together: tokens compared per image, leading tokens dropped, g x g merges. */
export type PairPlan = RawPairPlan;

/** Plans the layer pairs of two models' block layouts under maxPatchNum, as the loss will; throws the loss's own
 *  MDISTILL_SHAPE_MISMATCH (naming the pair and both grids) when a pair cannot be brought together. */
export function planLayerPairs(pairs: { student: TokenLayout; teacher: TokenLayout }[], maxPatchNum: number): PairPlan[] {
  return planLayerPairsNative(pairs.map((p) => wireLayout(p.student)), pairs.map((p) => wireLayout(p.teacher)), maxPatchNum);
}
