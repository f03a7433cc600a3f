// `mdistill eval`: top-1, top-5 and loss of a checkpoint (timm safetensors, or a .pth) on a validation split.
import { Command } from 'commander';
import { architectureOf, loadCheckpointWeights } from '../model/checkpointWeights.js';
import { NativeModel } from '../model/nativeModel.js';
import { loadStateDict } from '../model/loadWeights.js';
import { defaultConfig } from '../config/resolveConfig.js';
import { setThreads } from '../native/index.js';
import { openEvalSource } from '../train/dataSources.js';
import { evaluateModel } from '../train/evaluate.js';
import { addConfigFlags, configFromFlags } from './configFlags.js';

export function registerEvalCommand(program: Command): void {
  const command = program
    .command('eval')
    .description('evaluate weights (a checkpoint directory, a timm safetensors file or a PyTorch .pth) on a validation split')
    .requiredOption('--weights <path>', 'checkpoint directory (runs/<name>/checkpoint-best), run directory (its checkpoint-best), .safetensors file or .pth checkpoint')
    .option('--ema', 'with a checkpoint directory or a .pth holding model_ema: evaluate the EMA weights')
    .option('--model <preset>', 'architecture when the weights carry no timm_class/kwargs metadata (a .pth: inferred from its shapes)')
    .option('--json', 'print one JSON object');
  addConfigFlags(command, ['data-set', 'data-path', 'input-size', 'batch-size', 'eval-subset', 'workers', 'threads']);
  command.action(async (opts: { weights: string; ema?: boolean; model?: string; json?: boolean }, cmd: Command) => {
    const flags = configFromFlags(cmd, ['data-set', 'data-path', 'input-size', 'batch-size', 'eval-subset', 'workers', 'threads']);
    const weights = await loadCheckpointWeights(opts.weights, { ema: opts.ema });
    const { config: arch, name } = architectureOf(weights, opts.model);
    const config = { ...defaultConfig(), 'input-size': arch.imgSize, ...flags };
    if (config.threads !== null) setThreads(config.threads);
    const data = await openEvalSource(config);
    try {
      if (data.channels !== arch.inChans || data.classes.length !== arch.numClasses) {
        throw new Error(`${weights.file}: the model takes ${arch.inChans} channel(s) and predicts ${arch.numClasses} classes, ` +
          `but ${config['data-set']} has ${data.channels} channel(s) and ${data.classes.length} classes. Pass the matching --data-set/--data-path.`);
      }
      const model = new NativeModel({ ...arch, imgSize: config['input-size'] });
      loadStateDict(model, weights.tensors, { source: weights.file });
      const r = await evaluateModel(model, data.val);
      const report = { weights: weights.file, model: name ?? null, dataSet: config['data-set'], ...r };
      if (opts.json) console.log(JSON.stringify(report));
      else console.log(`${weights.file}: top-1 ${r.acc1.toFixed(2)}%  top-5 ${r.acc5.toFixed(2)}%  loss ${r.loss.toFixed(4)}  (${r.samples} images of ${config['data-set']})`);
    } finally {
      await data.close();
    }
  });
}
