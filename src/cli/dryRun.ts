// `mdistill train --dry-run`: the resolved configuration as YAML (the text a run writes to its config.yaml), and a
// check of every path it names: the data path exists, and each weights argument is one the run would accept (the
// same resolver the run uses: model/weightsSource.ts). Reads no data and no weights.
import { existsSync } from 'node:fs';
import { configToYaml } from '../config/resolveConfig.js';
import type { TrainConfig } from '../config/schema.js';
import { resolveCheckpointDir, resolveWeightsSource } from '../model/weightsSource.js';

export class DryRunError extends Error {
  readonly code = 'MDISTILL_BAD_ARGUMENT';
}

export interface PathProblems {
  /** `--flag path` of each path that does not exist. */
  missing: string[];
  /** The run's own refusal of each weights argument that exists but would not be accepted (a .pth to --resume, …). */
  refused: string[];
}

/** The paths a run reads, by flag, that do not exist or would be refused. */
export async function pathProblems(config: TrainConfig): Promise<PathProblems> {
  const problems: PathProblems = { missing: [], refused: [] };
  const dataPath = config['data-set'] === 'SYNTHETIC' ? null : config['data-path'];
  if (dataPath !== null && !existsSync(dataPath)) problems.missing.push(`--data-path ${dataPath}`);
  const teacherPath = config['distillation-type'] === 'none' || config['teacher-path'] === 'train' ? null : config['teacher-path'];
  const weights: [string, string | null, (p: string) => Promise<unknown>][] = [
    ['--teacher-path', teacherPath, (p) => resolveWeightsSource(p, { flag: '--teacher-path' })],
    ['--resume', config.resume, (p) => resolveCheckpointDir(p, { flag: '--resume' })],
    ['--finetune', config.finetune, (p) => resolveWeightsSource(p, { flag: '--finetune' })],
  ];
  for (const [flag, p, resolve] of weights) {
    if (p === null) continue;
    try {
      await resolve(p);
    } catch (err) {
      // (A checkpoint caught between its swap's renames resolves although its path is missing.)
      if (!existsSync(p)) problems.missing.push(`${flag} ${p}`);
      else problems.refused.push(err instanceof Error ? err.message : String(err));
    }
  }
  return problems;
}

/** Prints the YAML on stdout; throws, listing them, when named paths are missing or would be refused. */
export async function dryRun(config: TrainConfig): Promise<void> {
  process.stdout.write(configToYaml(config));
  const { missing, refused } = await pathProblems(config);
  const lines = [
    ...(missing.length ? [`${missing.length === 1 ? 'this path does' : 'these paths do'} not exist: ${missing.join('; ')}`] : []),
    ...refused,
  ];
  if (lines.length) throw new DryRunError(`--dry-run: ${lines.join('\n  ')}`);
}
