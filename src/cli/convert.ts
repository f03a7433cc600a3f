// `mdistill convert in.pth out.safetensors`: a PyTorch checkpoint (the official ManifoldKD / DeiT / timm .pth) as
// timm-ready safetensors with our metadata (timm_class, kwargs), so every other command and timm itself read it.
// The architecture comes from the tensor shapes, or from --model (needed only for a ViT of a width no preset has).
import type { Command } from 'commander';
import { exportModel } from '../export/exportModel.js';
import { MODEL_PRESETS, toTimm } from '../model/modelConfig.js';
import { coerceValue } from '../config/resolveConfig.js';

export function registerConvertCommand(program: Command): void {
  program
    .command('convert')
    .description('convert a PyTorch checkpoint (.pth: a state dict, or one under model / state_dict, as the official code saves it) into timm-ready safetensors with timm_class/kwargs metadata')
    .argument('<in>', 'the .pth (or .safetensors) to read; it is never executed: only tensors and plain data are read')
    .argument('<out>', 'the .safetensors file to write')
    .option('--model <preset>', `architecture (default: inferred from the tensor shapes; ${Object.keys(MODEL_PRESETS).join(', ')})`)
    .option('--model-overrides <json>', 'with --model: ModelConfig fields for a custom size, e.g. {"embedDim":64,"depth":4,"numHeads":2}')
    .option('--ema', "convert the EMA weights ('model_ema' / 'state_dict_ema') instead of the model's")
    .option('--json', 'print one JSON object')
    .action(async (input: string, output: string, opts: { model?: string; modelOverrides?: string; ema?: boolean; json?: boolean }) => {
      const modelOverrides = opts.modelOverrides === undefined ? undefined : coerceValue('model-overrides', opts.modelOverrides, '--model-overrides') as Record<string, unknown>;
      if (modelOverrides && opts.model === undefined) throw new Error('--model-overrides needs --model <preset> to override');
      const result = await exportModel({ weights: input, safetensors: output, model: opts.model, modelOverrides, ema: opts.ema });
      if (opts.json) {
        console.log(JSON.stringify(result));
        return;
      }
      const c = result.config;
      const from = result.wrapper === undefined ? '' : result.wrapper === null ? ' (a bare state dict)' : ` (its '${result.wrapper}')`;
      const how = opts.model ? `--model ${opts.model}${modelOverrides ? ' with overrides' : ''}` : 'inferred from the tensor shapes';
      console.log(`converted ${result.weightsFile}${from}: ${result.modelName ?? toTimm(c).timmClass} (${how}; dim ${c.embedDim}, depth ${c.depth}, ` +
        `${c.numHeads} heads, ${c.numClasses} classes, ${c.imgSize}px)`);
      for (const w of result.written) console.log(`  wrote ${w.path} (${(w.bytes / 1e6).toFixed(1)} MB)`);
      for (const w of result.warnings) console.warn(`warning: ${w}`);
    });
}
