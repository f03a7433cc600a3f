// timm's VisionTransformer / VisionTransformerDistilled (DeiT) in eval mode, as ONNX nodes.
import type { TransformerLayers } from './transformerLayers.js';

/** x + attn(LN1 x); x + mlp(LN2 x), with plain multi-head self-attention. */
function vitBlock(l: TransformerLayers, x: string, prefix: string): string {
  const g = l.g;
  const { scores, v } = l.selfAttentionScores(l.layerNorm(x, `${prefix}.norm1`), `${prefix}.attn`);
  const attn = g.node('Softmax', [scores], { axis: -1 }, `${prefix}.attn/softmax`);
  const heads = g.node('MatMul', [attn, v], {}, `${prefix}.attn/context`);
  const a = l.linear(l.mergeHeads(heads, `${prefix}.attn/merged`), `${prefix}.attn.proj`);
  const x1 = g.node('Add', [x, a], {}, `${prefix}/residual1`);
  return g.node('Add', [x1, l.mlp(l.layerNorm(x1, `${prefix}.norm2`), `${prefix}.mlp`)], {}, prefix);
}

/** pixel_values → logits; a distilled model returns the mean of its two heads, as timm does in eval mode. */
export function vitGraph(l: TransformerLayers, pixels: string): string {
  const g = l.g;
  const prefixTokens = [l.batchToken('cls_token', pixels)];
  if (l.config.distilled) prefixTokens.push(l.batchToken('dist_token', pixels));
  const tokens = g.node('Concat', [...prefixTokens, l.patchEmbed(pixels)], { axis: 1 }, 'tokens');
  let x = g.node('Add', [tokens, l.param('pos_embed')], {}, 'pos_embed/added');
  for (let i = 0; i < l.config.depth; i++) x = vitBlock(l, x, `blocks.${i}`);
  // The final LayerNorm is per token, so normalising only the tokens the heads read is the same math.
  const cls = l.linear2d(l.layerNorm(l.token(x, 0, 'cls'), 'norm'), 'head');
  if (!l.config.distilled) return cls;
  const dist = l.linear2d(l.layerNorm(l.token(x, 1, 'dist'), 'norm'), 'head_dist');
  return g.node('Mul', [g.node('Add', [cls, dist], {}, 'heads_sum'), g.scalar(0.5)], {}, 'heads_mean');
}
