// A native ViT/DeiT, CaiT or Swin built from a ModelConfig: the TypeScript face of native/napi/model_wrap.cc, and the
// one place a ModelConfig and its construction options become the wire's RawModelConfig.
import { SCHEMA } from '../config/schema.js';
import {
  createRawModel, type Proof, type RawDevice, type RawForwardOptions, type RawForwardResult, type RawModel, type RawModelConfig, type RawParameterShape,
  type RawWeight, type SameFields,
} from '../native/index.js';
import { validateModelConfig, type ModelConfig } from './modelConfig.js';

export type ForwardOptions = RawForwardOptions;
export type ForwardResult = RawForwardResult;
export type ParameterShape = RawParameterShape;
export type NamedWeight = RawWeight;

export interface NativeModelOptions {
  /** Stochastic depth in training: rising linearly to this rate over ViT blocks (and over all Swin blocks), the same
   *  rate in every CaiT block. */
  dropPathRate?: number;
  /** Seed of the random (timm-style) initialisation. */
  seed?: number;
  /** 'cuda' and 'cuda:N' need a CUDA build of libtorch (see `mdistill info`); a data-parallel process uses
   *  cuda:LOCAL_RANK (dist/rankDevice.ts). */
  device?: RawDevice;
}

// The wire spells out every ModelConfig field, and the construction options beside them.
type _ArchitectureOnTheWire = Proof<SameFields<ModelConfig, Omit<RawModelConfig, keyof NativeModelOptions>>>;
type _OptionsOnTheWire = Proof<SameFields<Required<NativeModelOptions>, Pick<RawModelConfig, keyof NativeModelOptions>>>;

export class NativeModel {
  /** The addon object; native code (the training step) takes it as an argument. */
  readonly raw: RawModel;

  constructor(readonly config: ModelConfig, options: NativeModelOptions = {}) {
    validateModelConfig(config);
    // No stochastic depth unless asked for: teachers, EMA copies and evaluated models run without it.
    const { dropPathRate = 0, seed = SCHEMA.seed.default, device = SCHEMA.device.default } = options;
    if (!(dropPathRate >= 0 && dropPathRate < 1)) throw new Error(`dropPathRate must be in [0, 1), got ${dropPathRate}`);
    if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`seed must be a non-negative integer, got ${seed}`);
    this.raw = createRawModel({ ...config, dropPathRate, seed, device });
  }

  /** Tokens ahead of the patches in pos_embed and in ViT block outputs: cls (+ dist); CaiT and Swin have none. */
  get numPrefixTokens(): number {
    if (this.config.arch !== 'vit') return 0;
    return this.config.distilled ? 2 : 1;
  }

  /** The patch grid of the patch embedding, [rows, cols] (Swin's later stages halve it; see blockLayouts). */
  get grid(): [number, number] {
    const g = this.config.imgSize / this.config.patchSize;
    return [g, g];
  }

  /** input: [B, inChans, imgSize, imgSize] row-major. Returns the logits and the requested blocks' token outputs.
   *  Bad arguments reject (MDISTILL_SHAPE_MISMATCH, MDISTILL_BAD_ARGUMENT) rather than throw. */
  async forward(input: Float32Array, shape: number[], options: ForwardOptions = {}): Promise<ForwardResult> {
    return this.raw.forward(input, shape, options);
  }

  /** timm's state-dict names and shapes, in timm's order. */
  parameterShapes(): ParameterShape[] {
    return this.raw.parameterShapes();
  }

  /** Copies of the weights under timm's names, in timm's order. */
  getWeights(): NamedWeight[] {
    return this.raw.getWeights();
  }

  /** Writes the given weights (names and shapes must match exactly; see loadWeights.ts for checkpoints). */
  setWeights(entries: NamedWeight[]): void {
    this.raw.setWeights(entries);
  }

  /** The gradient of sum(logits * gradLogits) (eval-mode forward) for every parameter, by autograd. */
  async parameterGradients(input: Float32Array, shape: number[], gradLogits: Float32Array): Promise<NamedWeight[]> {
    return this.raw.parameterGradients(input, shape, gradLogits);
  }

  numParameters(): number {
    return this.raw.numParameters();
  }
}
