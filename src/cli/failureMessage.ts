// The last line of defence before an error reaches the user: file-system errors that no caller worded get the
// path and what to do, libtorch's text loses its C++ source locations and frames, and an allocation failure says
// how much was asked for and what to reduce.
import { errnoOf, fileProblem } from '../io/fileProblem.js';
import { formatBytes, machineMemoryBytes } from '../io/machineLimits.js';

const SYSCALL_ACTION: Record<string, string> = {
  open: 'open it', read: 'read it', write: 'write it', mkdir: 'create the directory', rename: 'rename it', unlink: 'remove it',
  rmdir: 'remove the directory', scandir: 'list the directory', stat: 'look at it', lstat: 'look at it', access: 'access it',
  copyfile: 'copy it', fsync: 'write it to disk', close: 'close it',
};

/** libtorch's (and Gloo's) message without `[enforce fail at alloc_cpu.cpp:75] .`, `[./gloo/…/pair.cc:598]`,
 *  `Exception raised from …` and frame lines. */
export function withoutNativeDetail(message: string): string {
  return message
    .split('\n')
    .filter((line) => !/^\s*(frame #\d+|Exception raised from|\(most recent call first\))/.test(line))
    .join('\n')
    .replace(/\[enforce fail at [^\]]*\]\s*\.?\s*/g, '')
    .replace(/\[[^\]\s]*\.(cc|cpp|cu|cuh|h|hpp):\d+\]\s*/g, '')
    .replace(/\s*\(?Exception raised from .*$/s, '')
    .replace(/ Error code \d+ \([^)]*\)/, '')
    .trim();
}

/** "out of memory: …" with the size that could not be allocated, for libtorch's and V8's allocation failures. */
function outOfMemory(message: string): string | undefined {
  const asked = /tried to allocate (\d+) bytes/.exec(message);
  if (asked) {
    return `out of memory: a tensor of ${formatBytes(Number(asked[1]))} could not be allocated (this machine has ${formatBytes(machineMemoryBytes())}). ` +
      'Reduce --batch-size or the model size (--model-overrides, --input-size).';
  }
  if (/Array buffer allocation failed|Invalid array buffer length|can't allocate memory|out of memory/i.test(message)) {
    return `out of memory (${withoutNativeDetail(message)}). Reduce --batch-size, --workers or the model size (--model-overrides, --input-size).`;
  }
  return undefined;
}

/** The text the CLI prints for an error, without its code (the caller appends `[CODE]`). */
export function failureMessage(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const errno = errnoOf(err);
  const e = err as NodeJS.ErrnoException;
  if (errno && e.syscall) {
    return fileProblem(err, { path: e.path ?? (e as { dest?: string }).dest ?? '(unknown path)', action: SYSCALL_ACTION[e.syscall] ?? `${e.syscall} it` }).message;
  }
  const code = (err as { code?: unknown }).code;
  if (code === 'MDISTILL_OUT_OF_MEMORY' || err instanceof RangeError) return outOfMemory(err.message) ?? withoutNativeDetail(err.message);
  if (typeof code === 'string' && code.startsWith('MDISTILL_')) return withoutNativeDetail(err.message);
  return err.message;
}
