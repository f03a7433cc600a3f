// The exact timm state-dict (names and shapes) of a ModelConfig, and a check of a weights file against it.
import type { TensorEntry } from '../io/safetensors.js';
import { swinStages, tokenCount, type ModelConfig } from './modelConfig.js';
import { listed } from './listed.js';

/** Every parameter timm's VisionTransformer(Distilled) / Cait / SwinTransformer holds for this config, in timm's order. */
export function timmStateShapes(config: ModelConfig): Map<string, number[]> {
  if (config.arch === 'swin') return swinStateShapes(config);
  const c = config.embedDim;
  const hidden = Math.floor(c * config.mlpRatio);
  const heads = config.numHeads;
  const shapes = new Map<string, number[]>();
  const add = (name: string, shape: number[]) => shapes.set(name, shape);
  const norm = (prefix: string) => { add(`${prefix}.weight`, [c]); add(`${prefix}.bias`, [c]); };
  const linear = (prefix: string, out: number, inp: number, bias = true) => {
    add(`${prefix}.weight`, [out, inp]);
    if (bias) add(`${prefix}.bias`, [out]);
  };
  const mlp = (prefix: string) => { linear(`${prefix}.mlp.fc1`, hidden, c); linear(`${prefix}.mlp.fc2`, c, hidden); };

  add('cls_token', [1, 1, c]);
  add('pos_embed', [1, tokenCount(config), c]); // CaiT: patches only; ViT: cls (+ dist) and patches
  if (config.distilled) add('dist_token', [1, 1, c]);
  add('patch_embed.proj.weight', [c, config.inChans, config.patchSize, config.patchSize]);
  add('patch_embed.proj.bias', [c]);
  for (let i = 0; i < config.depth; i++) {
    const p = `blocks.${i}`;
    if (config.arch === 'cait') { add(`${p}.gamma_1`, [c]); add(`${p}.gamma_2`, [c]); }
    norm(`${p}.norm1`);
    linear(`${p}.attn.qkv`, 3 * c, c, config.qkvBias);
    linear(`${p}.attn.proj`, c, c);
    if (config.arch === 'cait') { linear(`${p}.attn.proj_l`, heads, heads); linear(`${p}.attn.proj_w`, heads, heads); }
    norm(`${p}.norm2`);
    mlp(p);
  }
  if (config.arch === 'cait') {
    for (let i = 0; i < config.depthTokenOnly; i++) {
      const p = `blocks_token_only.${i}`;
      add(`${p}.gamma_1`, [c]); add(`${p}.gamma_2`, [c]);
      norm(`${p}.norm1`);
      for (const n of ['q', 'k', 'v']) linear(`${p}.attn.${n}`, c, c, config.qkvBias);
      linear(`${p}.attn.proj`, c, c);
      norm(`${p}.norm2`);
      mlp(p);
    }
  }
  norm('norm');
  linear('head', config.numClasses, c);
  if (config.distilled) linear('head_dist', config.numClasses, c);
  return shapes;
}

/** timm's SwinTransformer (>= 0.9): layers.{i}.downsample opens stage i >= 1; the relative position index and the
 *  shift mask are non-persistent buffers, so only the bias table is in the state dict. */
function swinStateShapes(config: ModelConfig): Map<string, number[]> {
  const shapes = new Map<string, number[]>();
  const add = (name: string, shape: number[]) => shapes.set(name, shape);
  const norm = (prefix: string, dim: number) => { add(`${prefix}.weight`, [dim]); add(`${prefix}.bias`, [dim]); };
  const linear = (prefix: string, out: number, inp: number, bias = true) => {
    add(`${prefix}.weight`, [out, inp]);
    if (bias) add(`${prefix}.bias`, [out]);
  };
  const e = config.embedDim;
  add('patch_embed.proj.weight', [e, config.inChans, config.patchSize, config.patchSize]);
  add('patch_embed.proj.bias', [e]);
  norm('patch_embed.norm', e);
  const stages = swinStages(config);
  stages.forEach((s, i) => {
    const d = s.dim;
    if (i > 0) {
      norm(`layers.${i}.downsample.norm`, 2 * d);
      linear(`layers.${i}.downsample.reduction`, d, 2 * d, false);
    }
    for (let j = 0; j < config.depths[i]; j++) {
      const p = `layers.${i}.blocks.${j}`;
      norm(`${p}.norm1`, d);
      add(`${p}.attn.relative_position_bias_table`, [(2 * s.window - 1) ** 2, s.heads]);
      linear(`${p}.attn.qkv`, 3 * d, d, config.qkvBias);
      linear(`${p}.attn.proj`, d, d);
      norm(`${p}.norm2`, d);
      const hidden = Math.floor(d * config.mlpRatio);
      linear(`${p}.mlp.fc1`, hidden, d);
      linear(`${p}.mlp.fc2`, d, hidden);
    }
  });
  const last = stages[stages.length - 1].dim;
  norm('norm', last);
  linear('head.fc', config.numClasses, last);
  return shapes;
}

/** Prefixes of tensors that only training needs; they are dropped on export instead of being "unexpected". */
export const TRAINING_ONLY_PREFIXES: readonly string[] = ['teacher.', 'optimizer.', 'loss.'];

export interface StateDictCheck {
  missing: string[];
  unexpected: string[];
  wrongShape: { name: string; expected: number[]; actual: number[] }[];
  trainingOnly: string[];
}

export function checkStateDict(config: ModelConfig, tensors: Map<string, TensorEntry>): StateDictCheck {
  const expected = timmStateShapes(config);
  const check: StateDictCheck = { missing: [], unexpected: [], wrongShape: [], trainingOnly: [] };
  for (const [name, shape] of expected) {
    const t = tensors.get(name);
    if (!t) check.missing.push(name);
    else if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) check.wrongShape.push({ name, expected: shape, actual: t.shape });
  }
  for (const name of tensors.keys()) {
    if (expected.has(name)) continue;
    if (TRAINING_ONLY_PREFIXES.some((p) => name.startsWith(p))) check.trainingOnly.push(name);
    else check.unexpected.push(name);
  }
  return check;
}

/** Throws one error that lists every mismatch, or returns the check (with the training-only names). */
export function assertStateDictFits(config: ModelConfig, tensors: Map<string, TensorEntry>, source: string, archName: string): StateDictCheck {
  const check = checkStateDict(config, tensors);
  const problems: string[] = [];
  if (check.missing.length) problems.push(`missing keys: ${listed(check.missing)}`);
  if (check.unexpected.length) problems.push(`unexpected keys: ${listed(check.unexpected)}`);
  if (check.wrongShape.length) {
    problems.push(`wrong shapes: ${check.wrongShape.slice(0, 8).map((w) => `${w.name} is [${w.actual.join(', ')}], expected [${w.expected.join(', ')}]`).join('; ')}` +
      (check.wrongShape.length > 8 ? ` … (${check.wrongShape.length} in all)` : ''));
  }
  if (problems.length) {
    const err = new Error(`${source}: the weights do not fit ${archName}: ${problems.join('; ')}. Pass the matching --model, or the checkpoint that belongs to it.`);
    (err as Error & { code: string }).code = 'MDISTILL_BAD_WEIGHTS';
    throw err;
  }
  return check;
}
