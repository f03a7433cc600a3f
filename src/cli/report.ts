// `mdistill report <run-dir> [more run dirs]`: writes the run's self-contained report.html, or one page comparing
// several runs.
import type { Command } from 'commander';
import { stat } from 'node:fs/promises';
import { fileKind } from '../io/fileProblem.js';
import { COMPARISON_FILE, writeComparison, writeReport } from '../report/report.js';

export { writeReport };

export function registerReportCommand(program: Command): void {
  program
    .command('report')
    .description("write a self-contained HTML report (charts, config, results) from a run directory's log.jsonl and config.yaml " +
      '(with the runs it holds, e.g. the quickstart\'s teacher and scratch baseline, compared); with several run directories, one page comparing them')
    .argument('<run-dir...>', 'the --output-dir of an mdistill train run (or an ablation directory); several: compare them')
    .option('--out <file>', `where to write the report (default: <run-dir>/report.html; with several runs: ./${COMPARISON_FILE})`)
    .action(async (runDirs: string[], opts: { out?: string }) => {
      if (opts.out !== undefined) {
        const existing = await stat(opts.out).catch(() => undefined);
        if (existing && !existing.isFile()) throw new Error(`--out ${opts.out}: it is ${fileKind(existing)}; pass the path of an .html file`);
      }
      const r = runDirs.length === 1 ? await writeReport(runDirs[0], opts.out) : await writeComparison(runDirs, opts.out);
      for (const w of r.warnings) console.warn(`warning: ${w}`);
      const empty = r.charts.empty.length ? `; no data yet for ${r.charts.empty.join(', ')}` : '';
      const compared = r.compared ? `, ${r.compared} runs compared` : '';
      console.log(`wrote ${r.path} (${Math.round(r.bytes / 1024)} KiB, ${r.charts.drawn.length} charts${empty}${compared})`);
    });
}
