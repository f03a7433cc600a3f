// Thread and worker counts capped at the cores this process may use, with a warning: more threads than cores only
// take turns, and a typo such as MDISTILL_THREADS=99999 would start thousands (OpenMP creates them all).
import { availableParallelism } from 'node:os';

const warned = new Set<string>();

function warnOnce(message: string): void {
  if (warned.has(message)) return;
  warned.add(message);
  process.stderr.write(`warning: ${message}\n`);
}

/** `count`, or the number of cores when it is more; `what` names the setting in the warning. */
export function capAtCores(count: number, what: string, warn: (message: string) => void = warnOnce): number {
  const cores = availableParallelism();
  if (count <= cores) return count;
  warn(`${what} ${count} is more than the ${cores} cores this process may use; using ${cores}`);
  return cores;
}
