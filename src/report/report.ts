// `writeReport`: reads a run directory and writes its report.html atomically; the trainer calls it after each run.
// The runs a directory holds (the quickstart's teacher/ and scratch/, an ablation's rows) are compared on the same
// page; a directory of runs without a log of its own (an ablation) gets the comparison alone.
// `writeComparison` compares any run directories (`mdistill report a b c`).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { atomicWriteFile } from '../io/atomicWrite.js';
import { labelsForDirs, readSubRuns, type ComparedRun } from './compareRuns.js';
import { readRunDir, RUN_LOG_FILE } from './readRunLog.js';
import { renderComparison, renderReport, type RenderedReport } from './renderReport.js';

export const REPORT_FILE = 'report.html';
export const COMPARISON_FILE = 'comparison.html';

export interface WriteReportResult {
  path: string;
  bytes: number;
  /** Chart ids drawn with data, and those shown as "no data". */
  charts: { drawn: string[]; empty: string[] };
  warnings: string[];
  /** How many runs the page compares (0: a single run's report). */
  compared: number;
}

async function write(target: string, rendered: RenderedReport, compared: number): Promise<WriteReportResult> {
  await atomicWriteFile(target, rendered.html);
  const { charts, warnings, html } = rendered;
  return {
    path: target,
    bytes: Buffer.byteLength(html),
    charts: { drawn: charts.filter((c) => c.spec).map((c) => c.id), empty: charts.filter((c) => !c.spec).map((c) => c.id) },
    warnings,
    compared,
  };
}

/** Writes `<runDir>/report.html` (or `outPath`) from the run's log.jsonl and config.yaml, and the runs it holds. */
export async function writeReport(runDir: string, outPath?: string): Promise<WriteReportResult> {
  const target = outPath ?? path.join(runDir, REPORT_FILE);
  const warnings: string[] = [];
  const subRuns = await readSubRuns(runDir, warnings);
  if (!existsSync(path.join(runDir, RUN_LOG_FILE)) && subRuns.length > 0) {
    const rendered = await renderComparison(subRuns, { title: `${subRuns.length} runs in ${path.basename(path.resolve(runDir))}`, warnings });
    return write(target, rendered, subRuns.length);
  }
  const run = await readRunDir(runDir);
  const rendered = await renderReport(run, { compare: subRuns, warnings });
  return write(target, rendered, subRuns.length ? subRuns.length + 1 : 0);
}

/** Writes one page comparing the runs in `runDirs` (default: ./comparison.html). */
export async function writeComparison(runDirs: string[], outPath = COMPARISON_FILE): Promise<WriteReportResult> {
  const labels = labelsForDirs(runDirs);
  const runs: ComparedRun[] = [];
  for (const [i, dir] of runDirs.entries()) runs.push({ label: labels[i], run: await readRunDir(dir) });
  return write(outPath, await renderComparison(runs, { title: `${runs.length} runs compared` }), runs.length);
}
