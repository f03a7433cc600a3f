// timm's SwinTransformer in eval mode, as ONNX nodes (opset 17). Tokens flow as [B, H·W, C]; each block views
// them as [B, H, W, C] for the cyclic shift (Slice + Concat: opset 17 has no Roll) and the window partition and
// reverse (Reshape/Transpose). The relative position bias is gathered from its table at export time into a
// constant, and so is the shifted-window mask.
import { swinStages, type SwinStage } from '../model/modelConfig.js';
import { gatherRelativeBias, shiftedWindowMask } from './swinWindows.js';
import type { TransformerLayers } from './transformerLayers.js';

/** timm's Swin uses nn.LayerNorm's default eps. */
const SWIN_NORM_EPS = 1e-5;

/** torch.roll(x, shift, axis) on a static axis of length `size`: the last `shift` entries move to the front. */
function roll(l: TransformerLayers, x: string, shift: number, axis: number, size: number, hint: string): string {
  const g = l.g;
  const s = ((shift % size) + size) % size;
  if (s === 0) return x;
  const slice = (from: number, to: number, part: string) => g.node('Slice', [x, g.int64([from]), g.int64([to]), g.int64([axis])], {}, `${hint}/${part}`);
  return g.node('Concat', [slice(size - s, size, 'tail'), slice(0, size - s, 'head')], { axis }, hint);
}

/** [B, L, C] → windows [B·nW, w², C], after the cyclic shift by -shift. */
function partition(l: TransformerLayers, x: string, s: SwinStage, shift: number, prefix: string): string {
  const g = l.g;
  const { grid, window: w, dim } = s;
  let map = g.node('Reshape', [x, g.int64([-1, grid, grid, dim])], {}, `${prefix}/map`);
  map = roll(l, roll(l, map, -shift, 1, grid, `${prefix}/roll_rows`), -shift, 2, grid, `${prefix}/roll_cols`);
  const split = g.node('Reshape', [map, g.int64([-1, grid / w, w, grid / w, w, dim])], {}, `${prefix}/split`);
  const t = g.node('Transpose', [split], { perm: [0, 1, 3, 2, 4, 5] }, `${prefix}/windows_t`);
  return g.node('Reshape', [t, g.int64([-1, w * w, dim])], {}, `${prefix}/windows`);
}

/** The inverse of partition: windows [B·nW, w², C] → [B, L, C], shifted back by +shift. */
function reverse(l: TransformerLayers, windows: string, s: SwinStage, shift: number, prefix: string): string {
  const g = l.g;
  const { grid, window: w, dim } = s;
  const split = g.node('Reshape', [windows, g.int64([-1, grid / w, grid / w, w, w, dim])], {}, `${prefix}/unsplit`);
  const t = g.node('Transpose', [split], { perm: [0, 1, 3, 2, 4, 5] }, `${prefix}/map_t`);
  let map = g.node('Reshape', [t, g.int64([-1, grid, grid, dim])], {}, `${prefix}/unmap`);
  map = roll(l, roll(l, map, shift, 1, grid, `${prefix}/unroll_rows`), shift, 2, grid, `${prefix}/unroll_cols`);
  return g.node('Reshape', [map, g.int64([-1, grid * grid, dim])], {}, `${prefix}/tokens`);
}

/** Window attention over x [Bw, N, C] with the gathered bias (and, shifted, the mask [nW, 1, N, N]). */
function windowAttention(l: TransformerLayers, x: string, s: SwinStage, mask: string | undefined, prefix: string): string {
  const g = l.g;
  const { heads, dim, window: w } = s;
  const n = w * w;
  const hd = dim / heads;
  const qkv = g.node('Reshape', [l.linear(x, `${prefix}.qkv`), g.int64([-1, n, 3, heads, hd])], {}, `${prefix}/qkv_heads`);
  const qkvT = g.node('Transpose', [qkv], { perm: [2, 0, 3, 1, 4] }, `${prefix}/qkv_t`); // [3, Bw, H, N, hd]
  const pick = (i: number, name: string) => g.node('Gather', [qkvT, g.int64([i], true)], { axis: 0 }, `${prefix}/${name}`);
  const q = g.node('Mul', [pick(0, 'q'), g.scalar(hd ** -0.5)], {}, `${prefix}/q_scaled`);
  const kT = g.node('Transpose', [pick(1, 'k')], { perm: [0, 1, 3, 2] }, `${prefix}/k_t`);
  const bias = g.weight(`${prefix}.relative_position_bias`, gatherRelativeBias(l.tensor(`${prefix}.relative_position_bias_table`).data, heads, w), [heads, n, n]);
  let scores = g.node('Add', [g.node('MatMul', [q, kT], {}, `${prefix}/scores`), bias], {}, `${prefix}/biased`);
  if (mask) {
    const windows = (s.grid / w) ** 2;
    const grouped = g.node('Reshape', [scores, g.int64([-1, windows, heads, n, n])], {}, `${prefix}/by_window`);
    scores = g.node('Reshape', [g.node('Add', [grouped, mask], {}, `${prefix}/masked`), g.int64([-1, heads, n, n])], {}, `${prefix}/masked_scores`);
  }
  const attn = g.node('Softmax', [scores], { axis: -1 }, `${prefix}/softmax`);
  const context = g.node('Transpose', [g.node('MatMul', [attn, pick(2, 'v')], {}, `${prefix}/context`)], { perm: [0, 2, 1, 3] }, `${prefix}/context_t`);
  return l.linear(g.node('Reshape', [context, g.int64([-1, n, dim])], {}, `${prefix}/merged`), `${prefix}.proj`);
}

function swinBlock(l: TransformerLayers, x: string, s: SwinStage, shift: number, mask: string | undefined, prefix: string): string {
  const g = l.g;
  const normed = l.layerNorm(x, `${prefix}.norm1`, SWIN_NORM_EPS);
  // One unshifted window covering the grid: the tokens are already the window.
  const single = s.window === s.grid && shift === 0;
  const windows = single ? normed : partition(l, normed, s, shift, prefix);
  const attended = windowAttention(l, windows, s, mask, `${prefix}.attn`);
  const back = single ? attended : reverse(l, attended, s, shift, prefix);
  const x1 = g.node('Add', [x, back], {}, `${prefix}/residual1`);
  return g.node('Add', [x1, l.mlp(l.layerNorm(x1, `${prefix}.norm2`, SWIN_NORM_EPS), `${prefix}.mlp`)], {}, prefix);
}

/** timm's PatchMerging: [B, (2h)², C] → [B, h², 2C]. */
function patchMerging(l: TransformerLayers, x: string, previous: SwinStage, prefix: string): string {
  const g = l.g;
  const h = previous.grid / 2, c = previous.dim;
  const split = g.node('Reshape', [x, g.int64([-1, h, 2, h, 2, c])], {}, `${prefix}/split`);
  const t = g.node('Transpose', [split], { perm: [0, 1, 3, 4, 2, 5] }, `${prefix}/groups_t`);
  const groups = g.node('Reshape', [t, g.int64([-1, h * h, 4 * c])], {}, `${prefix}/groups`);
  return l.linear(l.layerNorm(groups, `${prefix}.norm`, SWIN_NORM_EPS), `${prefix}.reduction`);
}

/** pixel_values → logits. */
export function swinGraph(l: TransformerLayers, pixels: string): string {
  const g = l.g;
  const stages = swinStages(l.config);
  let x = l.layerNorm(l.patchEmbed(pixels), 'patch_embed.norm', SWIN_NORM_EPS);
  stages.forEach((s, i) => {
    if (i > 0) x = patchMerging(l, x, stages[i - 1], `layers.${i}.downsample`);
    const n = s.window * s.window;
    const mask = s.shift > 0
      ? g.weight(`layers.${i}.attn_mask`, shiftedWindowMask(s.grid, s.window, s.shift), [(s.grid / s.window) ** 2, 1, n, n])
      : undefined;
    for (let j = 0; j < l.config.depths[i]; j++) {
      const shift = j % 2 === 1 ? s.shift : 0;
      x = swinBlock(l, x, s, shift, shift > 0 ? mask : undefined, `layers.${i}.blocks.${j}`);
    }
  });
  const pooled = g.node('ReduceMean', [l.layerNorm(x, 'norm', SWIN_NORM_EPS)], { axes: [1], keepdims: 0 }, 'head/pool');
  return l.linear2d(pooled, 'head.fc');
}
