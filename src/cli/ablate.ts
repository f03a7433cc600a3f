// `mdistill ablate`: the ablation table of manifold distillation (scratch, KD, KD + each manifold term, the full
// loss) over several seeds with one shared teacher. Every training flag passes through to every row.
import { Command, InvalidArgumentError } from 'commander';
import { resolveConfig } from '../config/resolveConfig.js';
import { setThreads } from '../native/index.js';
import { runAblation } from '../recipes/ablationRunner.js';
import { addConfigFlags, configFromFlags } from './configFlags.js';

export const DEFAULT_ABLATION_PRESET = 'quickstart';
export const DEFAULT_ABLATION_DIR = 'runs/ablation';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`--seeds must be a positive integer, got '${value}'`);
  return n;
}

/** The command as typed (the options given on the command line), for the table's record. */
function commandLine(cmd: Command): string {
  const parts = ['mdistill', 'ablate'];
  for (const option of cmd.options) {
    const name = option.attributeName();
    if (cmd.getOptionValueSource(name) !== 'cli') continue;
    const value: unknown = cmd.getOptionValue(name);
    if (typeof value === 'boolean') {
      if (value !== option.negate) parts.push(option.long ?? '');
    } else if (Array.isArray(value)) {
      parts.push(option.long ?? '', ...value.map(String));
    } else {
      const text = String(value);
      parts.push(option.long ?? '', /^[\w.,:/=+-]+$/.test(text) ? text : `'${text}'`);
    }
  }
  return parts.join(' ');
}

export function registerAblateCommand(program: Command): void {
  const command = program
    .command('ablate')
    .description('ablation of manifold KD: scratch, soft KD, KD + patch / sample / random, full manifold; mean ± std top-1 over seeds. ' +
      `Writes ablation.md and ablation.json in --output-dir (here default: ${DEFAULT_ABLATION_DIR}); rerunning the same command reuses finished runs`)
    .option('--preset <file|preset>', 'YAML config or a preset in configs/; flags override it', DEFAULT_ABLATION_PRESET)
    .option('--seeds <n>', 'seeds per row: --seed, --seed + 1, ...', positiveInt, 3);
  addConfigFlags(command);
  command.action(async (opts: { preset: string; seeds: number }, cmd: Command) => {
    const flags = configFromFlags(cmd);
    if (flags.resume) throw new Error('ablate does not take --resume: run the same command again, it reuses the finished runs and the teacher');
    if (flags.finetune) throw new Error('ablate does not take --finetune: its rows compare students trained from scratch (fine-tune with mdistill train --finetune)');
    const config = await resolveConfig({ configFile: opts.preset, configFlag: '--preset', flags: { ...flags, 'output-dir': flags['output-dir'] ?? DEFAULT_ABLATION_DIR } });
    if (config.threads !== null) setThreads(config.threads);
    const outcome = await runAblation({
      config, preset: opts.preset, seeds: opts.seeds, command: commandLine(cmd),
    });
    process.exitCode = outcome.exitCode;
  });
}
