// timm's Cait in eval mode, as ONNX nodes: LayerScale blocks with talking-heads attention over the
// patch tokens, then class-attention blocks that update only the cls token.
import type { TransformerLayers } from './transformerLayers.js';

/** timm's proj_l / proj_w: a Linear over the heads axis of scores [B, H, N, N], as W·S + b on [B, H, N·N]. */
function headsMix(l: TransformerLayers, scores: string, prefix: string): string {
  const g = l.g;
  const h = l.config.numHeads;
  const b = l.tensor(`${prefix}.bias`);
  const flat = g.node('Reshape', [scores, g.int64([0, h, -1])], {}, `${prefix}/flat`);
  const mixed = g.node('MatMul', [l.param(`${prefix}.weight`), flat], {}, `${prefix}/mixed`);
  const biased = g.node('Add', [mixed, g.weight(`${prefix}.bias_column`, b.data, [h, 1])], {}, `${prefix}/biased`);
  return g.node('Reshape', [biased, g.node('Shape', [scores], {}, `${prefix}/shape`)], {}, prefix);
}

function layerScaleResidual(l: TransformerLayers, x: string, branch: string, gamma: string, hint: string): string {
  return l.g.node('Add', [x, l.g.node('Mul', [branch, l.param(gamma)], {}, `${hint}/scaled`)], {}, hint);
}

function talkingHeadsBlock(l: TransformerLayers, x: string, prefix: string): string {
  const g = l.g;
  const { scores, v } = l.selfAttentionScores(l.layerNorm(x, `${prefix}.norm1`), `${prefix}.attn`);
  const mixed = headsMix(l, scores, `${prefix}.attn.proj_l`);
  const attn = headsMix(l, g.node('Softmax', [mixed], { axis: -1 }, `${prefix}.attn/softmax`), `${prefix}.attn.proj_w`);
  const heads = g.node('MatMul', [attn, v], {}, `${prefix}.attn/context`);
  const a = l.linear(l.mergeHeads(heads, `${prefix}.attn/merged`), `${prefix}.attn.proj`);
  const x1 = layerScaleResidual(l, x, a, `${prefix}.gamma_1`, `${prefix}/residual1`);
  return layerScaleResidual(l, x1, l.mlp(l.layerNorm(x1, `${prefix}.norm2`), `${prefix}.mlp`), `${prefix}.gamma_2`, prefix);
}

/** u = [cls, x]; the cls token attends to u (q from cls only); returns the new cls [B, 1, D]. */
function classAttentionBlock(l: TransformerLayers, x: string, cls: string, prefix: string): string {
  const g = l.g;
  const { numHeads, embedDim } = l.config;
  const u = l.layerNorm(g.node('Concat', [cls, x], { axis: 1 }, `${prefix}/u`), `${prefix}.norm1`);
  const u0 = g.node('Slice', [u, g.int64([0]), g.int64([1]), g.int64([1])], {}, `${prefix}/u0`);
  const q = g.node('Mul', [l.splitHeads(l.linear(u0, `${prefix}.attn.q`), `${prefix}.attn/q`), g.scalar((embedDim / numHeads) ** -0.5)], {}, `${prefix}.attn/q_scaled`);
  const kT = l.splitHeads(l.linear(u, `${prefix}.attn.k`), `${prefix}.attn/k_t`, true);
  const v = l.splitHeads(l.linear(u, `${prefix}.attn.v`), `${prefix}.attn/v`);
  const attn = g.node('Softmax', [g.node('MatMul', [q, kT], {}, `${prefix}.attn/scores`)], { axis: -1 }, `${prefix}.attn/softmax`);
  const a = l.linear(l.mergeHeads(g.node('MatMul', [attn, v], {}, `${prefix}.attn/context`), `${prefix}.attn/merged`), `${prefix}.attn.proj`);
  const cls1 = layerScaleResidual(l, cls, a, `${prefix}.gamma_1`, `${prefix}/residual1`);
  return layerScaleResidual(l, cls1, l.mlp(l.layerNorm(cls1, `${prefix}.norm2`), `${prefix}.mlp`), `${prefix}.gamma_2`, prefix);
}

/** pixel_values → logits. */
export function caitGraph(l: TransformerLayers, pixels: string): string {
  const g = l.g;
  let x = g.node('Add', [l.patchEmbed(pixels), l.param('pos_embed')], {}, 'pos_embed/added');
  for (let i = 0; i < l.config.depth; i++) x = talkingHeadsBlock(l, x, `blocks.${i}`);
  let cls = l.batchToken('cls_token', pixels);
  for (let i = 0; i < l.config.depthTokenOnly; i++) cls = classAttentionBlock(l, x, cls, `blocks_token_only.${i}`);
  // norm(concat(cls, x))[:, 0] is norm(cls): LayerNorm is per token.
  return l.linear2d(l.layerNorm(l.token(cls, 0, 'cls'), 'norm'), 'head');
}
