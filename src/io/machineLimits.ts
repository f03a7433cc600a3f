// The memory this machine allows (the cgroup's limit when lower), against which absurd sizes are refused before
// anything is allocated. (Thread counts are capped at the cores in native/threadCap.ts.)
import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';

let cachedMemory: number | undefined;

/** The memory this process may use: the machine's, or its cgroup's limit when that is lower. */
export function machineMemoryBytes(): number {
  cachedMemory ??= readMachineMemory();
  return cachedMemory;
}

function readMachineMemory(): number {
  let limit = totalmem();
  for (const file of ['/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory/memory.limit_in_bytes']) {
    try {
      const n = Number(readFileSync(file, 'utf8').trim());
      if (Number.isFinite(n) && n > 0) limit = Math.min(limit, n);
    } catch {
      // no cgroup limit there
    }
  }
  return limit;
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toPrecision(3)} ${units[u]}`;
}
