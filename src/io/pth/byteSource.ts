// Random access to the bytes of a checkpoint: a file read by range (a large checkpoint is never read whole), or
// bytes already in memory (tests, the fuzzer). Every read is bounds-checked against the size.
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { fileKind, reasonOf } from '../fileProblem.js';
import { TorchCheckpointError } from './torchCheckpointError.js';

export interface ByteSource {
  /** Names the bytes in errors (a file path). */
  readonly name: string;
  readonly size: number;
  /** `length` bytes from `offset`, in a buffer of their own (aligned for any typed array). */
  read(offset: number, length: number): Uint8Array;
}

function checkRange(name: string, size: number, offset: number, length: number, what: string): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > size) {
    throw new TorchCheckpointError(name, `${what} (bytes ${offset}..${offset + length}) runs past the end of the file (${size} bytes): the file is truncated or corrupt`);
  }
}

export function memorySource(bytes: Uint8Array, name: string): ByteSource {
  return {
    name,
    size: bytes.length,
    read(offset, length) {
      checkRange(name, bytes.length, offset, length, 'a read');
      const out = new Uint8Array(length);
      out.set(bytes.subarray(offset, offset + length));
      return out;
    },
  };
}

/** Opens `file` for reads by range; `close` must be called. */
export function openFileSource(file: string): ByteSource & { close(): void } {
  let fd: number;
  try {
    // Non-blocking, so that a FIFO is refused below rather than waited on.
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new TorchCheckpointError(file, code === 'ENOENT' ? 'no such file' : `cannot read it: ${reasonOf(err).what}`);
  }
  const stats = fstatSync(fd);
  if (!stats.isFile()) {
    closeSync(fd);
    throw new TorchCheckpointError(file, `it is ${fileKind(stats)}, not a regular file`);
  }
  const size = stats.size;
  return {
    name: file,
    size,
    read(offset, length) {
      checkRange(file, size, offset, length, 'a read');
      const out = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const n = readSync(fd, out, done, length - done, offset + done);
        if (n === 0) throw new TorchCheckpointError(file, `the file shrank while it was read (at byte ${offset + done})`);
        done += n;
      }
      return out;
    },
    close() {
      closeSync(fd);
    },
  };
}
