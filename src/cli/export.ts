// `mdistill export`: ONNX for deployment and timm-ready safetensors from a checkpoint.
import type { Command } from 'commander';
import { exportModel, type ExportOptions } from '../export/exportModel.js';
import { MODEL_PRESETS, toTimm } from '../model/modelConfig.js';
import { parseNumberList } from './parse.js';

function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

export function registerExportCommand(program: Command): void {
  program
    .command('export')
    .description('export a checkpoint as ONNX (opset 17, dynamic batch) and/or timm-ready safetensors')
    .requiredOption('--weights <path>', 'checkpoint directory (model.safetensors, ema.safetensors), a run directory (its checkpoint-best), a .safetensors file or a PyTorch .pth')
    .option('--onnx <file>', 'write an ONNX model: input pixel_values [N, C, H, W] float32, output logits')
    .option('--safetensors <file>', 'write the weights with timm names and metadata, without training-only state')
    .option('--ema', "export the EMA weights of the checkpoint directory or the .pth's model_ema (both outputs)")
    .option('--model <preset>', `architecture when the weights carry none (${Object.keys(MODEL_PRESETS).join(', ')})`)
    .option('--fp16', 'store the ONNX weights as float16 (half the size; the graph computes in float32)')
    .option('--class-names <file>', 'class names: a JSON array or one name a line (default: metadata, or classes.json beside the weights)')
    .option('--mean <list>', 'input normalisation mean per channel for the ONNX metadata (default: metadata, or ImageNet\'s)', parseNumberList('--mean'))
    .option('--std <list>', 'input normalisation std per channel for the ONNX metadata (default: metadata, or ImageNet\'s)', parseNumberList('--std'))
    .option('--json', 'print one JSON object')
    .action(async (opts: ExportOptions & { json?: boolean }) => {
      const { json, ...options } = opts;
      const result = await exportModel(options);
      if (json) {
        console.log(JSON.stringify(result));
        return;
      }
      const c = result.config;
      const depth = c.arch === 'swin' ? `depths ${c.depths.join('-')}` : `depth ${c.depth}`;
      const arch = `${result.modelName ?? toTimm(c).timmClass} (dim ${c.embedDim}, ${depth}, ${c.numClasses} classes, ${c.imgSize}px)`;
      console.log(`exported ${arch} from ${result.weightsFile}`);
      for (const w of result.written) console.log(`  wrote ${w.path} (${megabytes(w.bytes)})`);
      if (result.droppedTrainingState.length) console.log(`  left out ${result.droppedTrainingState.length} training-only tensors`);
      for (const w of result.warnings) console.warn(`warning: ${w}`);
    });
}
