// Opens only regular files. A FIFO opened for reading blocks until a writer appears (forever, in a data set), and a
// device or socket is no data file: the open is non-blocking, and fstat decides before any byte is read.
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { FileProblemError, fileKind, fileProblem } from './fileProblem.js';

const READ_NONBLOCKING = constants.O_RDONLY | constants.O_NONBLOCK;

export class NotRegularFileError extends FileProblemError {
  constructor(file: string, readonly kind: string) {
    super(`${file} is ${kind}, not a regular file`, file);
  }
}

/** An open handle of a regular file, and its size; throws NotRegularFileError or a worded FileProblemError. */
export async function openRegularFile(file: string, context: { flag?: string } = {}): Promise<{ handle: FileHandle; size: number }> {
  let handle: FileHandle;
  try {
    handle = await open(file, READ_NONBLOCKING);
  } catch (err) {
    throw fileProblem(err, { path: file, action: 'open it for reading', flag: context.flag });
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new NotRegularFileError(context.flag ? `${context.flag} ${file}` : file, fileKind(stats));
    return { handle, size: stats.size };
  } catch (err) {
    await handle.close();
    throw err instanceof FileProblemError ? err : fileProblem(err, { path: file, action: 'read it', flag: context.flag });
  }
}

/** Reads `length` bytes at `position` fully (a read may return fewer bytes than asked). */
export async function readAt(handle: FileHandle, into: Uint8Array, position: number, file: string): Promise<void> {
  let done = 0;
  while (done < into.length) {
    const chunk = Math.min(into.length - done, 1 << 30);
    let bytesRead: number;
    try {
      ({ bytesRead } = await handle.read(into, done, chunk, position + done));
    } catch (err) {
      throw fileProblem(err, { path: file, action: 'read it' });
    }
    if (bytesRead === 0) throw new FileProblemError(`${file}: the file ended at byte ${position + done}, before the ${into.length} bytes at ${position}: it is truncated or was changed while being read`, file);
    done += bytesRead;
  }
}

/** The whole content of a regular file. */
export async function readRegularFile(file: string, context: { flag?: string } = {}): Promise<Buffer> {
  const { handle, size } = await openRegularFile(file, context);
  try {
    const out = Buffer.allocUnsafe(size);
    await readAt(handle, out, 0, file);
    return out;
  } finally {
    await handle.close();
  }
}
