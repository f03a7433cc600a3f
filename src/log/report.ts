// `writeReport`: reads a run directory and writes its report.html atomically. The trainer calls it after each run.
import { open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { readRunDir } from './readRunLog.js';
import { renderReport } from './renderReport.js';

export const REPORT_FILE = 'report.html';

export interface WriteReportResult {
  path: string;
  bytes: number;
  /** Chart ids drawn with data, and those shown as "no data". */
  charts: { drawn: string[]; empty: string[] };
  warnings: string[];
}

async function writeFileAtomic(target: string, data: string): Promise<void> {
  const tmp = path.join(path.dirname(target), `.${path.basename(target)}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`);
  try {
    const handle = await open(tmp, 'w');
    try {
      await handle.writeFile(data, 'utf8');
    } finally {
      await handle.close();
    }
    await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { force: true });
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(`could not write ${target}: ${reason}. Check that the directory exists and is writable.`);
  }
}

/** Writes `<runDir>/report.html` (or `outPath`) from the run's log.jsonl and config.yaml. */
export async function writeReport(runDir: string, outPath?: string): Promise<WriteReportResult> {
  const run = await readRunDir(runDir);
  const { html, charts, warnings } = await renderReport(run);
  const target = outPath ?? path.join(runDir, REPORT_FILE);
  await writeFileAtomic(target, html);
  return {
    path: target,
    bytes: Buffer.byteLength(html),
    charts: { drawn: charts.filter((c) => c.spec).map((c) => c.id), empty: charts.filter((c) => !c.spec).map((c) => c.id) },
    warnings,
  };
}
