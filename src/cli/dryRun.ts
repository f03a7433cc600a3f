// `mdistill train --dry-run`: the resolved configuration as YAML (the text a run writes to its config.yaml), and a
// check that every path it names exists. Reads no data and no weights.
import { existsSync } from 'node:fs';
import { configToYaml } from '../config/resolveConfig.js';
import type { TrainConfig } from '../config/schema.js';

export class DryRunError extends Error {
  readonly code = 'MDISTILL_BAD_ARGUMENT';
}

/** The paths a run reads, by flag, that do not exist. */
export function missingPaths(config: TrainConfig): string[] {
  const named: [string, string | null][] = [
    ['--data-path', config['data-set'] === 'SYNTHETIC' ? null : config['data-path']],
    ['--teacher-path', config['distillation-type'] === 'none' || config['teacher-path'] === 'train' ? null : config['teacher-path']],
    ['--resume', config.resume],
    ['--finetune', config.finetune],
  ];
  return named.filter(([, p]) => p !== null && !existsSync(p)).map(([flag, p]) => `${flag} ${p}`);
}

/** Prints the YAML on stdout; throws, listing them, when named paths are missing. */
export function dryRun(config: TrainConfig): void {
  process.stdout.write(configToYaml(config));
  const missing = missingPaths(config);
  if (missing.length) throw new DryRunError(`--dry-run: ${missing.length === 1 ? 'this path does' : 'these paths do'} not exist: ${missing.join('; ')}`);
}
