// `mdistill train`: the distillation trainer. With no arguments it runs the quickstart preset; with the official
// ManifoldKD command line (no --config, --model <a 224 px preset>) it starts from the paper's recipe.
// Data parallel: `--nproc-per-node N` spawns N local workers; under torchrun or SLURM each process joins the job
// its launcher's variables describe.
import { Command } from 'commander';
import { availableParallelism } from 'node:os';
import { BASE_CONFIG_HELP, baseConfigFor, QUICKSTART_PRESET } from '../config/baseConfig.js';
import { ConfigError, resolveConfig } from '../config/resolveConfig.js';
import { describePresets } from '../model/modelConfig.js';
import { setThreads } from '../native/index.js';
import { runTrain } from '../recipes/runTrain.js';
import { addConfigFlags, configFromFlags } from './configFlags.js';
import { dryRun } from './dryRun.js';
import { addOfficialFlags, applyDistUrl, officialFlagNotes, type OfficialFlags } from './officialFlags.js';
import { distEnvFrom } from '../dist/distEnv.js';
import { connectDist, SINGLE_PROCESS, type DistContext } from '../dist/distContext.js';
import { launchLocal } from '../dist/launchLocal.js';
import { watchLauncher } from '../dist/launcherWatch.js';

export const DEFAULT_TRAIN_PRESET = QUICKSTART_PRESET;
/** More local processes than this per core only thrash (and 1000 would exhaust the memory first). */
const MAX_PROCESSES_PER_CORE = 4;

export function registerTrainCommand(program: Command): void {
  const command = program
    .command('train')
    .description(`distil a student from a teacher with fine-grained manifold KD (no arguments: the '${DEFAULT_TRAIN_PRESET}' preset on Fashion-MNIST). ` +
      `The official ManifoldKD command line (after main.py) is accepted as is; ${BASE_CONFIG_HELP}`)
    .option('--config <file|preset>', `YAML config or a preset in configs/; flags override it (${BASE_CONFIG_HELP})`)
    .option('--dry-run', 'print the resolved configuration as YAML (the run\'s config.yaml), check that the paths it names exist, and exit without reading data or weights');
  addConfigFlags(command);
  addOfficialFlags(command);
  command.addHelpText('after', `\nModel presets for --model and --teacher-model (timm names; resize them with --model-overrides and\n--teacher-overrides, e.g. '{"embedDim":64,"depths":[2,2],"stageHeads":[2,4],"windowSize":7}' for a small Swin):\n${describePresets().map((l) => `  ${l}`).join('\n')}\n`);
  command.action(async (opts: { config?: string; dryRun?: boolean } & OfficialFlags, cmd: Command) => {
    watchLauncher();
    const flags = configFromFlags(cmd);
    const base = baseConfigFor(opts.config, flags.model);
    const config = await resolveConfig({ configFile: base.preset, flags });
    applyDistUrl(opts);
    const env = distEnvFrom();
    const notes = officialFlagNotes(opts, env, config['nproc-per-node']);
    if (!env || env.rank === 0) for (const note of [base.reason, ...notes]) if (note) process.stderr.write(`note: ${note}\n`);
    if (opts.dryRun) {
      await dryRun(config);
      return;
    }
    if (config['nproc-per-node'] > 1 && !env) {
      const limit = MAX_PROCESSES_PER_CORE * availableParallelism();
      if (config['nproc-per-node'] > limit) {
        throw new ConfigError(`--nproc-per-node ${config['nproc-per-node']}: at most ${limit} (${MAX_PROCESSES_PER_CORE} per core on this ` +
          `${availableParallelism()}-core machine); each process is a whole trainer with its own libtorch and memory`);
      }
      const launched = await launchLocal({ nproc: config['nproc-per-node'], argv: process.argv.slice(1), graceSeconds: config['dist-timeout'] });
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
