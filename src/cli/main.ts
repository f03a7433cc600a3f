// The `mdistill` command line. Each command registers itself from its own file.
import { Command, CommanderError } from 'commander';
import { registerAblateCommand } from './ablate.js';
import { readFileSync } from 'node:fs';
import { registerExportCommand } from './export.js';
import { registerInfoCommand } from './info.js';
import { registerReportCommand } from './report.js';
import { registerTrainCommand } from './train.js';
import { registerEvalCommand } from './eval.js';
import { registerConvertCommand } from './convert.js';
import { lastListFlagWins } from './configFlags.js';
import { failureMessage } from './failureMessage.js';
import { officialSpellings } from './officialFlags.js';
import { packageRoot } from '../io/packageRoot.js';
import path from 'node:path';

function version(): string {
  const pkg = JSON.parse(readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

export function buildProgram(): Command {
  const program = new Command('mdistill')
    .description('Fine-grained manifold distillation of vision transformers (NeurIPS 2022), on libtorch.')
    .version(version())
    .showHelpAfterError()
    .exitOverride();
  registerTrainCommand(program);
  registerEvalCommand(program);
  registerInfoCommand(program);
  registerReportCommand(program);
  registerExportCommand(program);
  registerAblateCommand(program);
  registerConvertCommand(program);
  return program;
}

/**
 * A closed stdout (`mdistill info | head -1`) or a terminal that went away must not crash a run with an unhandled
 * EPIPE/EIO: the output is dropped and the command carries on (a training run still saves its checkpoints).
 */
function guardOutputStreams(): void {
  for (const stream of [process.stdout, process.stderr]) {
    if (stream.listenerCount('error') > 0) continue;
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE' || err.code === 'EIO' || err.code === 'ERR_STREAM_DESTROYED') return;
      throw err;
    });
  }
}

/** Runs the CLI and returns the process exit code. */
export async function runCli(argv: string[]): Promise<number> {
  guardOutputStreams();
  const program = buildProgram();
  const command = program.commands.find((c) => c.name() === argv[2]);
  const known = new Set((command?.options ?? []).map((o) => o.long).filter((f): f is string => f !== undefined));
  try {
    await program.parseAsync(lastListFlagWins(officialSpellings(argv, known)));
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    const message = failureMessage(err);
    const code = err instanceof Error && 'code' in err ? ` [${String((err as { code: unknown }).code)}]` : '';
    console.error(`mdistill: ${message}${code}`);
    return 1;
  }
}
