// The official ManifoldKD / DeiT command line, accepted verbatim after `main.py`: its underscore spellings
// (`--output_dir`, `--num_workers`, `--start_epoch`, `--world_size`, `--dist_url`, `--local_rank`) and its launcher
// flags (`--distributed`, `--local_rank` from torch.distributed.launch). What they mean here:
// - `--output_dir` and `--num_workers` are `--output-dir` and `--workers`;
// - `--distributed` is a no-op: the launcher's variables (torchrun, torch.distributed.launch, SLURM) decide, or
//   --nproc-per-node; a note says which;
// - `--world_size` and `--local_rank` come from those variables, as in the official code (a note when they differ);
// - `--dist_url env://` is what mdistill does; `tcp://host:port` sets MASTER_ADDR/MASTER_PORT;
// - `--start_epoch 0` is the default; another value is refused (a run continues with --resume, which restores it).
import { Option, type Command } from 'commander';
import type { DistEnv } from '../dist/distEnv.js';

/** Official spellings whose name differs here beyond `_` → `-`. */
const RENAMED: Readonly<Record<string, string>> = { '--num-workers': '--workers' };

export interface OfficialFlags {
  distributed?: boolean;
  startEpoch?: string;
  worldSize?: string;
  distUrl?: string;
  localRank?: string;
}

export class OfficialFlagError extends Error {
  readonly code = 'MDISTILL_BAD_ARGUMENT';
}

export function addOfficialFlags(command: Command): Command {
  const note = '(official command line)';
  command.addOption(new Option('--distributed', `${note} no-op: the launcher's variables (torchrun, SLURM) or --nproc-per-node decide`));
  command.addOption(new Option('--start-epoch <n>', `${note} only 0; continue a run with --resume <checkpoint dir>`));
  command.addOption(new Option('--world-size <n>', `${note} taken from the launcher's WORLD_SIZE, as the official code does`));
  command.addOption(new Option('--dist-url <url>', `${note} env:// (the default), or tcp://host:port for MASTER_ADDR/MASTER_PORT`));
  command.addOption(new Option('--local-rank <n>', `${note} set by torch.distributed.launch; LOCAL_RANK is what counts`));
  return command;
}

/**
 * Rewrites the official underscore spellings (`--output_dir x`, `--num_workers=4`) into this CLI's flags, for every
 * option a command knows; operands after a bare `--` are left alone.
 */
export function officialSpellings(argv: string[], knownFlags: ReadonlySet<string>): string[] {
  const end = argv.includes('--') ? argv.indexOf('--') : argv.length;
  return argv.map((token, i) => {
    if (i >= end || !token.startsWith('--') || !token.includes('_')) return token;
    const [flag, ...value] = token.split('=');
    const dashed = flag.replace(/_/g, '-');
    const renamed = RENAMED[dashed] ?? dashed;
    if (!knownFlags.has(renamed)) return token;
    return [renamed, ...value].join('=');
  });
}

function count(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new OfficialFlagError(`${flag} must be a non-negative integer, got '${value}'`);
  return n;
}

/** `--dist_url tcp://host:port` → MASTER_ADDR/MASTER_PORT (before the launcher variables are read). */
export function applyDistUrl(flags: OfficialFlags, env: NodeJS.ProcessEnv = process.env): void {
  const url = flags.distUrl;
  if (url === undefined || url === 'env://') return;
  const m = /^tcp:\/\/([^:/]+|\[[^\]]+\]):(\d+)\/?$/.exec(url);
  if (!m) throw new OfficialFlagError(`--dist_url '${url}': only env:// (MASTER_ADDR/MASTER_PORT from the environment) and tcp://host:port are supported`);
  const [, host, port] = m;
  for (const [name, value] of [['MASTER_ADDR', host], ['MASTER_PORT', port]] as const) {
    if (env[name] !== undefined && env[name] !== value) {
      throw new OfficialFlagError(`--dist_url ${url} disagrees with ${name}=${env[name]} in the environment; give one or the other`);
    }
    env[name] = value;
  }
}

/** Checks the official launcher flags against the job this process is in; returns the notes to print. */
export function officialFlagNotes(flags: OfficialFlags, env: DistEnv | null, nprocPerNode: number): string[] {
  const notes: string[] = [];
  if (flags.startEpoch !== undefined && count('--start_epoch', flags.startEpoch) !== 0) {
    throw new OfficialFlagError(`--start_epoch ${flags.startEpoch}: a fresh run starts at epoch 0 here; to continue a run, pass --resume <its checkpoint-last directory>, which restores the epoch`);
  }
  if (flags.distributed) {
    notes.push(env
      ? `--distributed: process ${env.rank} of ${env.worldSize} (${env.source} variables)`
      : nprocPerNode > 1
        ? `--distributed: ${nprocPerNode} local processes (--nproc-per-node)`
        : '--distributed: no launcher variables (torchrun, torch.distributed.launch, SLURM), so this is one process; pass --nproc-per-node N for N');
  }
  if (flags.worldSize !== undefined) {
    const asked = count('--world_size', flags.worldSize);
    const actual = env?.worldSize ?? nprocPerNode;
    if (asked !== actual) {
      notes.push(`--world_size ${asked} is not used: the job has ${actual} process(es)${env ? ` (${env.source}'s WORLD_SIZE)` : ''}; ` +
        `as in the official code, the launcher decides${env ? '' : ' (pass --nproc-per-node N here)'}`);
    }
  }
  if (flags.localRank !== undefined) {
    const asked = count('--local_rank', flags.localRank);
    if (env && asked !== env.localRank) notes.push(`--local_rank ${asked} differs from the launcher's LOCAL_RANK ${env.localRank}, which is used`);
  }
  return notes;
}
