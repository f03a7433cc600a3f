// `mdistill train`: the distillation trainer. With no arguments it runs the quickstart preset.
import { Command } from 'commander';
import { resolveConfig } from '../config/resolveConfig.js';
import { setThreads } from '../native/index.js';
import { runTrain } from '../train/runTrain.js';
import { addConfigFlags, configFromFlags } from './configFlags.js';

export const DEFAULT_TRAIN_PRESET = 'quickstart';

export function registerTrainCommand(program: Command): void {
  const command = program
    .command('train')
    .description(`distil a student from a teacher with fine-grained manifold KD (no arguments: the '${DEFAULT_TRAIN_PRESET}' preset on Fashion-MNIST)`)
    .option('--config <file|preset>', `YAML config or a preset in configs/ (default: ${DEFAULT_TRAIN_PRESET}); flags override it`);
  addConfigFlags(command);
  command.action(async (opts: { config?: string }, cmd: Command) => {
    const config = await resolveConfig({ configFile: opts.config ?? DEFAULT_TRAIN_PRESET, flags: configFromFlags(cmd) });
    if (config.threads !== null) setThreads(config.threads);
    const outcome = await runTrain(config);
    process.exitCode = outcome.exitCode;
  });
}
