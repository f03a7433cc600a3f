// `--nproc-per-node N`: runs N copies of this same command as child processes with the torchrun variables set
// (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT), waits for all, forwards
// SIGINT/SIGTERM/SIGHUP, and stops the others as soon as one fails. Each worker holds an IPC channel to this
// process and stops cleanly when it closes (dist/launcherWatch.ts): killing the launcher, even with SIGKILL,
// leaves no orphan.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { availableParallelism } from 'node:os';
import { LAUNCHER_PID_VARIABLE } from './launcherWatch.js';

export interface LaunchOptions {
  nproc: number;
  /** The arguments after `node`, e.g. [bin/mdistill.js, train, ...]. */
  argv: string[];
  env?: NodeJS.ProcessEnv;
  masterAddr?: string;
  masterPort?: number;
  /** Seconds to wait for the others after one failed, before killing them: the job's --dist-timeout, within which
   *  a rank waiting on a dead peer fails on its own. */
  graceSeconds: number;
}

export interface LaunchResult {
  exitCode: number;
  /** Each rank's exit code (or the signal that ended it). */
  ranks: { rank: number; code: number | null; signal: NodeJS.Signals | null }[];
}

/** A TCP port that was free a moment ago on `host`. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Drops --nproc-per-node (both `--flag N` and `--flag=N`) so the workers do not launch again. */
export function workerArgv(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--nproc-per-node') {
      i++;
      continue;
    }
    if (argv[i].startsWith('--nproc-per-node=')) continue;
    out.push(argv[i]);
  }
  return out;
}

export async function launchLocal(o: LaunchOptions): Promise<LaunchResult> {
  const env = o.env ?? process.env;
  const masterAddr = o.masterAddr ?? env.MASTER_ADDR ?? '127.0.0.1';
  const masterPort = o.masterPort ?? (env.MASTER_PORT ? Number(env.MASTER_PORT) : await freePort(masterAddr));
  const threads = env.MDISTILL_THREADS ?? String(Math.max(1, Math.floor(availableParallelism() / o.nproc)));
  const children: ChildProcess[] = [];
  const ranks: LaunchResult['ranks'] = [];
  let failed = false;
  let killTimer: NodeJS.Timeout | undefined;
  const forward = (signal: NodeJS.Signals) => {
    for (const c of children) {
      if (c.exitCode !== null || c.signalCode !== null) continue;
      c.kill(signal);
      // A stopped (SIGSTOP, Ctrl-Z) rank would hold the signal until continued.
      if (signal !== 'SIGKILL') c.kill('SIGCONT');
    }
  };
  const forwarded: [NodeJS.Signals, () => void][] = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((s) => [s, () => forward(s)]);
  for (const [s, f] of forwarded) process.on(s, f);
  try {
    const exits = Array.from({ length: o.nproc }, (_, rank) => {
      const child = spawn(process.execPath, workerArgv(o.argv), {
        // The IPC channel is the workers' lifeline: it closes when this process dies, however it dies.
        stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
        // Own process group: a terminal's Ctrl-C reaches the workers once (forwarded from here), not twice
        // (a second SIGINT means "exit at once without saving").
        detached: true,
        env: {
          ...env, RANK: String(rank), WORLD_SIZE: String(o.nproc), LOCAL_RANK: String(rank), LOCAL_WORLD_SIZE: String(o.nproc),
          MASTER_ADDR: masterAddr, MASTER_PORT: String(masterPort), MDISTILL_THREADS: threads, [LAUNCHER_PID_VARIABLE]: String(process.pid),
        },
      });
      child.channel?.unref();
      children.push(child);
      return new Promise<void>((resolve) => {
        child.on('exit', (code, signal) => {
          ranks.push({ rank, code, signal });
          if ((code !== 0 || signal) && !failed) {
            failed = true;
            process.stderr.write(`mdistill: rank ${rank} exited with ${signal ?? `code ${code}`}; stopping the other ranks\n`);
            // The others fail on their own within --dist-timeout; this only bounds a rank stuck outside a collective.
            killTimer = setTimeout(() => {
              process.stderr.write(`mdistill: ranks still running ${o.graceSeconds} s (--dist-timeout) after rank ${rank} failed; killing them\n`);
              forward('SIGKILL');
            }, o.graceSeconds * 1000);
            forward('SIGTERM');
          }
          resolve();
        });
        child.on('error', (err) => {
          ranks.push({ rank, code: 1, signal: null });
          failed = true;
          process.stderr.write(`mdistill: could not start rank ${rank}: ${err.message}\n`);
          resolve();
        });
      });
    });
    await Promise.all(exits);
  } finally {
    if (killTimer) clearTimeout(killTimer);
    for (const [s, f] of forwarded) process.off(s, f);
  }
  ranks.sort((a, b) => a.rank - b.rank);
  const bad = ranks.find((r) => r.code !== 0 || r.signal);
  return { exitCode: bad ? (bad.code && bad.code !== 0 ? bad.code : 1) : 0, ranks };
}
