// A worker started by `--nproc-per-node` (dist/launchLocal.ts) watches its launcher: the IPC channel between them
// closes when the launcher dies, however it dies (SIGKILL, OOM killer), and the worker then stops as on SIGTERM:
// it finishes its step, every rank agrees to stop, rank 0 saves checkpoint-last. Node has no parent-death signal;
// the channel is as prompt, and needs no polling.

/** Set in a worker's environment by the launcher: its pid, for messages. */
export const LAUNCHER_PID_VARIABLE = 'MDISTILL_LAUNCHER_PID';

/** In a launched worker, arranges the clean stop on the launcher's death; elsewhere does nothing. */
export function watchLauncher(env: NodeJS.ProcessEnv = process.env): void {
  const launcher = env[LAUNCHER_PID_VARIABLE];
  if (!launcher || typeof process.send !== 'function') return;
  // The channel must not keep a finished worker alive.
  process.channel?.unref();
  process.once('disconnect', () => {
    process.stderr.write(`mdistill: rank ${env.RANK ?? '?'}: the launcher (pid ${launcher}) is gone; stopping as on SIGTERM\n`);
    process.kill(process.pid, 'SIGTERM');
  });
}
