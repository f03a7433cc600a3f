// `mdistill train`: the distillation trainer. With no arguments it runs the quickstart preset.
// Data parallel: `--nproc-per-node N` spawns N local workers; under torchrun or SLURM each process joins the job
// its launcher's variables describe.
import { Command } from 'commander';
import { availableParallelism } from 'node:os';
import { resolveConfig } from '../config/resolveConfig.js';
import { describePresets } from '../model/modelConfig.js';
import { setThreads } from '../native/index.js';
import { runTrain } from '../recipes/runTrain.js';
import { addConfigFlags, configFromFlags } from './configFlags.js';
import { distEnvFrom } from '../dist/distEnv.js';
import { connectDist, SINGLE_PROCESS, type DistContext } from '../dist/distContext.js';
import { launchLocal } from '../dist/launchLocal.js';

export const DEFAULT_TRAIN_PRESET = 'quickstart';

export function registerTrainCommand(program: Command): void {
  const command = program
    .command('train')
    .description(`distil a student from a teacher with fine-grained manifold KD (no arguments: the '${DEFAULT_TRAIN_PRESET}' preset on Fashion-MNIST)`)
    .option('--config <file|preset>', `YAML config or a preset in configs/ (default: ${DEFAULT_TRAIN_PRESET}); flags override it`);
  addConfigFlags(command);
  command.addHelpText('after', `\nModel presets for --model and --teacher-model (timm names; resize them with --model-overrides and\n--teacher-overrides, e.g. '{"embedDim":64,"depths":[2,2],"stageHeads":[2,4],"windowSize":7}' for a small Swin):\n${describePresets().map((l) => `  ${l}`).join('\n')}\n`);
  command.action(async (opts: { config?: string }, cmd: Command) => {
    const config = await resolveConfig({ configFile: opts.config ?? DEFAULT_TRAIN_PRESET, flags: configFromFlags(cmd) });
    const env = distEnvFrom();
    if (config['nproc-per-node'] > 1 && !env) {
      const launched = await launchLocal({ nproc: config['nproc-per-node'], argv: process.argv.slice(1) });
      process.exitCode = launched.exitCode;
      return;
    }
    if (config.threads !== null) setThreads(config.threads);
    else if (env && !process.env.MDISTILL_THREADS) setThreads(Math.max(1, Math.floor(availableParallelism() / env.localWorldSize)));
    let dist: DistContext = SINGLE_PROCESS;
    if (env) dist = await connectDist(env, { timeoutSeconds: config['dist-timeout'], device: config.device });
    try {
      const outcome = await runTrain(config, dist);
      process.exitCode = outcome.exitCode;
    } catch (err) {
      if (dist.worldSize > 1 && err instanceof Error && !err.message.startsWith('rank ')) err.message = `rank ${dist.rank}: ${err.message}`;
      throw err;
    } finally {
      dist.close();
    }
  });
}
