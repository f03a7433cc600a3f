// Helpers for the data-parallel tests: a tiny teacher on disk, the CLI arguments of a tiny distillation run on
// synthetic data, and CLI processes started by hand with the torchrun variables.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveModel } from '../../src/model/modelConfig.js';
import { NativeModel } from '../../src/model/nativeModel.js';
import { stateDictOf, timmMetadata } from '../../src/model/loadWeights.js';
import { writeSafetensors } from '../../src/io/safetensors.js';
import { freePort } from '../../src/dist/launchLocal.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = path.join(ROOT, 'bin', 'mdistill.js');

const TEACHER = { patchSize: 4, embedDim: 48, depth: 2, numHeads: 2 };
const STUDENT = { patchSize: 4, embedDim: 32, depth: 2, numHeads: 2 };

export function tmpRun(tag: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), `mdistill-dist-${tag}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A seeded tiny teacher (untrained: the test needs fixed features, not good ones). */
export async function writeTeacher(file: string): Promise<void> {
  const config = resolveModel('deit_small_patch16_224', { ...TEACHER, imgSize: 16, inChans: 3, numClasses: 10 });
  const teacher = new NativeModel(config, { seed: 7 });
  await writeSafetensors(file, stateDictOf(teacher), timmMetadata(config));
}

/** A deterministic tiny run: no dropout/drop-path, no augmentation, no mixup; global batch = batch × ranks. */
export function runArgs(o: { outDir: string; teacher: string; batch: number; trainSubset: number; epochs?: number; extra?: string[] }): string[] {
  return [
    'train', '--output-dir', o.outDir, '--data-set', 'SYNTHETIC', '--input-size', '16',
    '--train-subset', String(o.trainSubset), '--eval-subset', '16', '--batch-size', String(o.batch), '--epochs', String(o.epochs ?? 1),
    '--model', 'deit_tiny_patch16_224', '--model-overrides', JSON.stringify(STUDENT),
    '--teacher-model', 'deit_small_patch16_224', '--teacher-overrides', JSON.stringify(TEACHER), '--teacher-path', o.teacher,
    '--teacher-check', '0', '--no-compare-scratch', '--s-id', '0', '1', '--t-id', '0', '1', '--K', '16', '--distillation-alpha', '0.5',
    '--drop-path', '0', '--no-model-ema', '--mixup', '0', '--cutmix', '0', '--smoothing', '0', '--aa', 'null', '--reprob', '0',
    '--color-jitter', '0', '--no-repeated-aug', '--warmup-epochs', '0', '--lr', '5e-3', '--log-every', '1', '--workers', '0',
    '--threads', '1', ...(o.extra ?? []),
  ];
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

const started = new Set<ChildProcess>();

/** Kills the CLI processes a test started that are still running (a failed test must not leave them behind). */
export function killStarted(): void {
  for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  started.clear();
}

export function startCli(args: string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; exit: Promise<Exit> } {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  started.add(child);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout!.on('data', () => undefined);
  const exit = new Promise<Exit>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stderr })));
  return { child, exit };
}

/** `world` CLI processes with RANK/WORLD_SIZE/LOCAL_RANK/MASTER_ADDR/MASTER_PORT set by hand, as torchrun would. */
export async function startRanks(world: number, args: string[], extraEnv: NodeJS.ProcessEnv = {}) {
  const port = await freePort();
  return Array.from({ length: world }, (_, rank) => startCli(args, {
    ...extraEnv, RANK: String(rank), WORLD_SIZE: String(world), LOCAL_RANK: String(rank), LOCAL_WORLD_SIZE: String(world),
    MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port),
  }));
}
