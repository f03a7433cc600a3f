// File-system failures in words: what is wrong with which path (and which flag gave it), and what to do. No raw
// errno text ("EISDIR: illegal operation on a directory, read") reaches the user through here.
import type { Stats } from 'node:fs';

export class FileProblemError extends Error {
  readonly code = 'MDISTILL_FILE_ERROR';
  constructor(message: string, readonly path: string, readonly errno?: string) {
    super(message);
    this.name = 'FileProblemError';
  }
}

/** What a path is, for messages: "a directory", "a FIFO (named pipe)", … */
export function fileKind(stats: Pick<Stats, 'isFile' | 'isDirectory' | 'isFIFO' | 'isSocket' | 'isBlockDevice' | 'isCharacterDevice' | 'isSymbolicLink'>): string {
  if (stats.isFile()) return 'a regular file';
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO (named pipe)';
  if (stats.isSocket()) return 'a socket';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}

const REASONS: Record<string, { what: string; fix: string }> = {
  ENOENT: { what: 'it does not exist', fix: 'check the path' },
  ENOTDIR: { what: 'a part of the path is a file, not a directory', fix: 'check the path' },
  EISDIR: { what: 'it is a directory, not a file', fix: 'pass a file' },
  EEXIST: { what: 'something of that name is already there', fix: 'remove it or choose another path' },
  EACCES: { what: 'permission denied', fix: 'check its permissions (ls -ld) or choose another path' },
  EPERM: { what: 'the operation is not permitted', fix: 'check its permissions (ls -ld) or choose another path' },
  EROFS: { what: 'the file system is read-only', fix: 'choose a path on a writable file system' },
  ENOSPC: { what: 'no space is left on the device', fix: 'free some space (df -h shows how much is left) or choose a path on another disk' },
  EDQUOT: { what: 'the disk quota is exhausted', fix: 'free some space or choose a path on another disk' },
  EFBIG: { what: 'the file would exceed the file-size limit', fix: 'raise the limit (ulimit -f) or free space' },
  ELOOP: { what: 'it is a symbolic link loop', fix: 'fix or remove the link' },
  EMFILE: { what: 'this process has too many open files', fix: 'raise the limit (ulimit -n 4096) and run again' },
  ENFILE: { what: 'the system has too many open files', fix: 'close other programs or raise fs.file-max' },
  ENAMETOOLONG: { what: 'the path is too long', fix: 'use a shorter path' },
  EIO: { what: 'the device reported an I/O error', fix: 'check the disk (dmesg) or copy the data elsewhere' },
  ENXIO: { what: 'no device or reader is behind it (a FIFO or socket without a partner, or a detached device)', fix: 'pass a regular file' },
  EBUSY: { what: 'it is busy (in use by the system or another process)', fix: 'try again later or choose another path' },
  ETXTBSY: { what: 'it is busy (in use by the system or another process)', fix: 'try again later or choose another path' },
  ENOTEMPTY: { what: 'the directory is not empty', fix: 'remove its content or choose another path' },
  EXDEV: { what: 'it is on another file system than its temporary copy', fix: 'choose a path on one file system' },
  ESTALE: { what: 'the network file handle went stale', fix: 'remount the file system and run again' },
};

/** The errno code of a Node.js file-system error, if it is one. */
export function errnoOf(err: unknown): string | undefined {
  if (err instanceof FileProblemError) return err.errno;
  const code = err instanceof Error ? (err as NodeJS.ErrnoException).code : undefined;
  return typeof code === 'string' && /^E[A-Z0-9]+$/.test(code) ? code : undefined;
}

/** "permission denied; check its permissions …", for an errno code (or any error). */
export function reasonOf(err: unknown): { what: string; fix: string } {
  const code = errnoOf(err);
  if (code && REASONS[code]) return REASONS[code];
  if (err instanceof FileProblemError) return { what: err.message, fix: '' };
  return { what: `the system reported ${code ?? (err instanceof Error ? err.message : String(err))}`, fix: 'check the path' };
}

export interface FileContext {
  /** The path at fault. */
  path: string;
  /** What was being done: 'read', 'write', 'create the directory', … */
  action: string;
  /** The flag (or key) the path came from, e.g. '--output-dir'. */
  flag?: string;
  /** What to do, instead of the generic advice (e.g. "Choose another --output-dir"). */
  fix?: string;
}

/** `--flag path: cannot <action>: <what>. <Fix>.` */
export function fileProblem(err: unknown, ctx: FileContext): FileProblemError {
  if (err instanceof FileProblemError) return err;
  const reason = reasonOf(err);
  const fix = ctx.fix ?? (ctx.flag ? `${capitalize(reason.fix)}, or pass another ${ctx.flag}` : capitalize(reason.fix));
  const where = ctx.flag ? `${ctx.flag} ${ctx.path}` : ctx.path;
  return new FileProblemError(`${where}: cannot ${ctx.action}: ${reason.what}. ${fix}.`, ctx.path, errnoOf(err));
}

function capitalize(s: string): string {
  return s.length ? s[0].toUpperCase() + s.slice(1) : s;
}
