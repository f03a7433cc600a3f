// Appends records to a run's log.jsonl: one JSON object and a newline per record, one write each.
import { closeSync, openSync, writeSync } from 'node:fs';
import type { LogRecord } from './records.js';
import { fileProblem } from '../io/fileProblem.js';

export class LogWriteError extends Error {
  readonly code = 'MDISTILL_BAD_LOG_RECORD';
}

/** JSON turns NaN and ±Infinity into null, which the reader would reject; catch it where the record is made. */
function assertFinite(value: unknown, where: string): void {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new LogWriteError(`log record field '${where}' is ${value}; only finite numbers can be logged`);
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => assertFinite(v, `${where}[${i}]`));
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) assertFinite(v, where ? `${where}.${k}` : k);
  }
}

export function serializeRecord(record: LogRecord): string {
  assertFinite(record, '');
  return `${JSON.stringify(record)}\n`;
}

/**
 * Opens `path` for appending (creating it) and writes each record as one line. No fsync: a crash may lose the
 * last lines, and a torn last line is tolerated by the reader.
 */
export class JsonlWriter {
  private fd: number | null;

  constructor(readonly path: string) {
    try {
      this.fd = openSync(path, 'a');
    } catch (err) {
      throw fileProblem(err, { path, action: 'open the run log for appending' });
    }
  }

  append(record: LogRecord): void {
    if (this.fd === null) throw new LogWriteError(`cannot append to ${this.path}: the writer is closed`);
    const line = Buffer.from(serializeRecord(record), 'utf8');
    let written = 0;
    try {
      while (written < line.length) written += writeSync(this.fd, line, written, line.length - written);
    } catch (err) {
      throw fileProblem(err, { path: this.path, action: 'append to the run log' });
    }
  }

  close(): void {
    if (this.fd === null) return;
    closeSync(this.fd);
    this.fd = null;
  }
}
