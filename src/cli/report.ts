// `mdistill report <run-dir>`: writes the run's self-contained report.html.
import type { Command } from 'commander';
import { stat } from 'node:fs/promises';
import { fileKind } from '../io/fileProblem.js';
import { writeReport } from '../report/report.js';

export { writeReport };

export function registerReportCommand(program: Command): void {
  program
    .command('report')
    .description("write a self-contained HTML report (charts, config, results) from a run directory's log.jsonl and config.yaml")
    .argument('<run-dir>', 'the --output-dir of an mdistill train run')
    .option('--out <file>', 'where to write the report (default: <run-dir>/report.html)')
    .action(async (runDir: string, opts: { out?: string }) => {
      if (opts.out !== undefined) {
        const existing = await stat(opts.out).catch(() => undefined);
        if (existing && !existing.isFile()) throw new Error(`--out ${opts.out}: it is ${fileKind(existing)}; pass the path of an .html file`);
      }
      const r = await writeReport(runDir, opts.out);
      for (const w of r.warnings) console.warn(`warning: ${w}`);
      const empty = r.charts.empty.length ? `; no data yet for ${r.charts.empty.join(', ')}` : '';
      console.log(`wrote ${r.path} (${Math.round(r.bytes / 1024)} KiB, ${r.charts.drawn.length} charts${empty})`);
    });
}
