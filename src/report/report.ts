// `writeReport`: reads a run directory and writes its report.html atomically. The trainer calls it after each run.
import path from 'node:path';
import { atomicWriteFile } from '../io/atomicWrite.js';
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

/** Writes `<runDir>/report.html` (or `outPath`) from the run's log.jsonl and config.yaml. */
export async function writeReport(runDir: string, outPath?: string): Promise<WriteReportResult> {
  const run = await readRunDir(runDir);
  const { html, charts, warnings } = await renderReport(run);
  const target = outPath ?? path.join(runDir, REPORT_FILE);
  await atomicWriteFile(target, html);
  return {
    path: target,
    bytes: Buffer.byteLength(html),
    charts: { drawn: charts.filter((c) => c.spec).map((c) => c.id), empty: charts.filter((c) => !c.spec).map((c) => c.id) },
    warnings,
  };
}
