// The layers ViT, CaiT and Swin share, as ONNX subgraphs in timm's math: Linear, LayerNorm (eps 1e-6 unless given),
// exact GELU, the MLP, patch embedding and the token broadcast over the dynamic batch.
import { toFloat32, type TensorEntry } from '../io/safetensors.js';
import type { ModelConfig } from '../model/modelConfig.js';
import type { OnnxGraphBuilder } from './onnxGraphBuilder.js';

export const LAYER_NORM_EPS = 1e-6;

/** A timm state dict that already passed assertStateDictFits. */
export type StateDict = Map<string, TensorEntry>;

export class TransformerLayers {
  private batchSize?: string;

  constructor(readonly g: OnnxGraphBuilder, readonly state: StateDict, readonly config: ModelConfig) {}

  tensor(name: string): { data: Float32Array; shape: number[] } {
    const t = this.state.get(name);
    if (!t) throw new Error(`internal error: weight ${name} was not checked`);
    return { data: toFloat32(t, name), shape: t.shape };
  }

  /** The weight as stored in the state dict. */
  param(name: string): string {
    const t = this.tensor(name);
    return this.g.weight(name, t.data, t.shape);
  }

  /** x [..., in] → [..., out] with timm's Linear (y = x Wᵀ + b); Wᵀ is stored so MatMul needs no Transpose. */
  linear(x: string, prefix: string): string {
    const w = this.tensor(`${prefix}.weight`);
    const [out, inp] = w.shape;
    const wt = new Float32Array(w.data.length);
    for (let o = 0; o < out; o++) for (let i = 0; i < inp; i++) wt[i * out + o] = w.data[o * inp + i];
    const y = this.g.node('MatMul', [x, this.g.weight(`${prefix}.weight_t`, wt, [inp, out])], {}, `${prefix}/matmul`);
    return this.state.has(`${prefix}.bias`) ? this.g.node('Add', [y, this.param(`${prefix}.bias`)], {}, prefix) : y;
  }

  /** x [B, in] → [B, out] with Gemm, which reads timm's [out, in] weight as is. */
  linear2d(x: string, prefix: string): string {
    return this.g.node('Gemm', [x, this.param(`${prefix}.weight`), this.param(`${prefix}.bias`)], { transB: 1 }, prefix);
  }

  /** ViT and CaiT use eps 1e-6; Swin passes PyTorch's default 1e-5. */
  layerNorm(x: string, prefix: string, eps = LAYER_NORM_EPS): string {
    return this.g.node('LayerNormalization', [x, this.param(`${prefix}.weight`), this.param(`${prefix}.bias`)],
      { axis: -1, epsilon: { float: eps } }, prefix);
  }

  /** Exact GELU: x · ½ · (1 + erf(x / √2)). */
  gelu(x: string, hint: string): string {
    const g = this.g;
    const erf = g.node('Erf', [g.node('Mul', [x, g.scalar(Math.SQRT1_2)], {}, `${hint}/scaled`)], {}, `${hint}/erf`);
    const onePlus = g.node('Add', [erf, g.scalar(1)], {}, `${hint}/one_plus`);
    return g.node('Mul', [g.node('Mul', [x, onePlus], {}, `${hint}/x_times`), g.scalar(0.5)], {}, hint);
  }

  mlp(x: string, prefix: string): string {
    return this.linear(this.gelu(this.linear(x, `${prefix}.fc1`), `${prefix}/gelu`), `${prefix}.fc2`);
  }

  /** pixel_values [B, C, H, W] → patch tokens [B, P, D] (Conv k = s = patch, flatten, transpose). */
  patchEmbed(pixels: string): string {
    const p = this.config.patchSize;
    const conv = this.g.node('Conv', [pixels, this.param('patch_embed.proj.weight'), this.param('patch_embed.proj.bias')],
      { kernel_shape: [p, p], strides: [p, p] }, 'patch_embed.proj');
    const flat = this.g.node('Reshape', [conv, this.g.int64([0, this.config.embedDim, -1])], {}, 'patch_embed/flatten');
    return this.g.node('Transpose', [flat], { perm: [0, 2, 1] }, 'patch_embed');
  }

  /** A [1, 1, D] token (cls_token, dist_token) expanded to [B, 1, D], B read from the input's shape. */
  batchToken(name: string, pixels: string): string {
    this.batchSize ??= this.g.node('Shape', [pixels], { start: 0, end: 1 }, 'batch_size');
    const shape = this.g.node('Concat', [this.batchSize, this.g.int64([1, this.config.embedDim])], { axis: 0 }, `${name}/shape`);
    return this.g.node('Expand', [this.param(name), shape], {}, `${name}/expanded`);
  }

  /** x [B, N, D] → token `index` as [B, D]. */
  token(x: string, index: number, hint: string): string {
    return this.g.node('Gather', [x, this.g.int64([index], true)], { axis: 1 }, hint);
  }

  /** [B, N, D] → [B, H, N, hd] (or with `transposeLast`, [B, H, hd, N] for keys). */
  splitHeads(x: string, hint: string, transposeLast = false): string {
    const { numHeads, embedDim } = this.config;
    const r = this.g.node('Reshape', [x, this.g.int64([0, -1, numHeads, embedDim / numHeads])], {}, `${hint}/heads`);
    return this.g.node('Transpose', [r], { perm: transposeLast ? [0, 2, 3, 1] : [0, 2, 1, 3] }, hint);
  }

  /** [B, H, N, hd] → [B, N, D]. */
  mergeHeads(x: string, hint: string): string {
    const t = this.g.node('Transpose', [x], { perm: [0, 2, 1, 3] }, `${hint}/transpose`);
    return this.g.node('Reshape', [t, this.g.int64([0, -1, this.config.embedDim])], {}, hint);
  }

  /** q·kᵀ·hd^-0.5 from qkv [B, N, 3D] laid out as timm's [B, N, 3, H, hd]; returns the scores and v. */
  selfAttentionScores(x: string, prefix: string): { scores: string; v: string } {
    const { numHeads, embedDim } = this.config;
    const hd = embedDim / numHeads;
    const g = this.g;
    const qkv = g.node('Reshape', [this.linear(x, `${prefix}.qkv`), g.int64([0, -1, 3, numHeads, hd])], {}, `${prefix}/qkv_heads`);
    const qkvT = g.node('Transpose', [qkv], { perm: [2, 0, 3, 1, 4] }, `${prefix}/qkv_t`); // [3, B, H, N, hd]
    const pick = (i: number, n: string) => g.node('Gather', [qkvT, g.int64([i], true)], { axis: 0 }, `${prefix}/${n}`);
    const q = g.node('Mul', [pick(0, 'q'), g.scalar(hd ** -0.5)], {}, `${prefix}/q_scaled`);
    const kT = g.node('Transpose', [pick(1, 'k')], { perm: [0, 1, 3, 2] }, `${prefix}/k_t`);
    return { scores: g.node('MatMul', [q, kT], {}, `${prefix}/scores`), v: pick(2, 'v') };
  }
}
