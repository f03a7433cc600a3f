// Renders a run as one self-contained HTML page: inline CSS, inline SVG charts (vega, headless), no scripts; with
// the runs it holds (teacher/, scratch/) compared on one chart and one table. renderComparison makes the page that
// compares any runs. Epochs are 1-based on the page, as the trainer prints them ("epoch 1/3").
import path from 'node:path';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { EvalResult } from '../log/records.js';
import type { RunDir } from './readRunLog.js';
import { comparisonRow, labelOf, type ComparedRun } from './compareRuns.js';
import { buildCharts, comparisonChart, type ChartDef, type ChartGroup } from './reportCharts.js';

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** vega-lite → vega → SVG markup, with no DOM and no network. */
export async function renderChartSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

// ---- formatting --------------------------------------------------------------------------------------------

const NONE = '—';

function fixed(x: number, digits: number): string {
  return x.toFixed(digits);
}

function sig(x: number): string {
  return Math.abs(x) >= 1e-3 || x === 0 ? String(Number(x.toPrecision(4))) : x.toExponential(3);
}

export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  if (h > 0) return `${h}h ${String(m).padStart(2, '0')}m ${String(rest).padStart(2, '0')}s`;
  if (m > 0) return `${m}m ${String(rest).padStart(2, '0')}s`;
  return `${rest}s`;
}

function evalText(r: EvalResult | undefined): string {
  if (!r) return NONE;
  return `top-1 ${fixed(r.acc1, 2)}%, top-5 ${fixed(r.acc5, 2)}%, loss ${sig(r.loss)} (${r.samples} images)`;
}

// ---- sections ----------------------------------------------------------------------------------------------

type TableRow = [label: string, value: string, note?: string];

function summaryRows(run: RunDir): TableRow[] {
  const { summary, epochs, steps, teacher } = run.log;
  const lastEpoch = epochs.at(-1);
  const lastEval = [...epochs].reverse().find((e) => e.eval)?.eval;
  const lastEma = [...epochs].reverse().find((e) => e.evalEma)?.evalEma;
  const rows: TableRow[] = [];
  rows.push([
    'Status',
    summary ? 'finished' : 'no summary record',
    summary ? undefined : 'the run is still going or was interrupted; values below come from the records so far',
  ]);
  rows.push([
    'Progress',
    `${epochs.length} epoch record(s)${lastEpoch ? `, last epoch ${lastEpoch.epoch + 1}` : ''}; ${steps.length} step record(s)${
      steps.length ? `, last step ${steps[steps.length - 1].step}` : ''
    }`,
  ]);
  if (summary) {
    rows.push(['Best eval top-1', `${fixed(summary.best.acc1, 2)}% at epoch ${summary.best.epoch + 1}`]);
  } else {
    const best = epochs.filter((e) => e.eval).reduce<(typeof epochs)[number] | undefined>((b, e) => (!b || e.eval!.acc1 > b.eval!.acc1 ? e : b), undefined);
    rows.push(['Best eval top-1', best ? `${fixed(best.eval!.acc1, 2)}% at epoch ${best.epoch + 1}` : NONE, best ? 'from the epoch records' : undefined]);
  }
  rows.push(['Final eval', evalText(summary?.final.eval ?? lastEval), summary || !lastEval ? undefined : 'last evaluated epoch']);
  rows.push(['Final EMA eval', evalText(summary?.final.evalEma ?? lastEma), summary || !lastEma ? undefined : 'last evaluated epoch']);
  rows.push([
    'Teacher check',
    teacher ? `${evalText(teacher.eval)}; chance ${fixed(teacher.chance, 2)}%` : NONE,
    teacher?.warning ? `warning: ${teacher.warning}` : teacher ? undefined : 'no teacher check in the log',
  ]);
  rows.push(['Bad samples', summary ? String(summary.badSamples) : NONE]);
  if (summary) rows.push(['Wall time', formatDuration(summary.seconds)]);
  else {
    const sum = epochs.reduce((acc, e) => acc + e.seconds, 0);
    rows.push(['Wall time', epochs.length ? formatDuration(sum) : NONE, epochs.length ? 'sum of the finished epochs' : undefined]);
  }
  if (lastEpoch) rows.push(['Throughput', `${sig(lastEpoch.imgPerS)} images/s`, `epoch ${lastEpoch.epoch + 1}`]);
  const first = run.log.records[0];
  const last = run.log.records[run.log.records.length - 1];
  rows.push(['Logged', `${first.time} … ${last.time}`]);
  return rows;
}

function tableHtml(rows: TableRow[]): string {
  const body = rows
    .map(
      ([label, value, note]) =>
        `<tr><th scope="row">${escapeHtml(label)}</th><td>${escapeHtml(value)}${note ? `<div class="note">${escapeHtml(note)}</div>` : ''}</td></tr>`,
    )
    .join('\n');
  return `<table class="summary">\n${body}\n</table>`;
}

async function chartHtml(chart: ChartDef): Promise<string> {
  const caption = `<figcaption>${escapeHtml(chart.title)}${chart.note ? ` <span class="note">(${escapeHtml(chart.note)})</span>` : ''}</figcaption>`;
  const attrs = `class="chart" data-chart="${escapeHtml(chart.id)}" data-points="${chart.points}" data-series="${chart.series}"`;
  if (!chart.spec) return `<figure ${attrs} data-empty="true">${caption}<p class="no-data">${escapeHtml(chart.empty ?? 'No data.')}</p></figure>`;
  const svg = await renderChartSvg(chart.spec);
  return `<figure ${attrs}>${caption}${svg}</figure>`;
}

const GROUP_TITLES: Record<Exclude<ChartGroup, 'comparison'>, string> = {
  loss: 'Loss terms per step',
  schedule: 'Learning rate and throughput',
  accuracy: 'Accuracy and loss per epoch',
};

function percent(r: EvalResult | undefined, key: 'acc1' | 'acc5'): string {
  return r ? `${fixed(r[key], 2)}%` : NONE;
}

/** The chart and the final table of several runs. */
async function comparisonSection(runs: ComparedRun[], chart: ChartDef): Promise<string> {
  const head = ['run', 'evaluated epochs', 'final top-1', 'final top-5', 'final EMA top-1', 'best top-1 (epoch)', 'wall time', 'status'];
  const body = runs.map(comparisonRow).map((r) => [
    `<th scope="row">${escapeHtml(r.label)}</th>`,
    String(r.epochs), percent(r.final, 'acc1'), percent(r.final, 'acc5'), percent(r.finalEma, 'acc1'),
    r.best ? `${fixed(r.best.acc1, 2)}% (${r.best.epoch})` : NONE,
    r.seconds === undefined ? NONE : formatDuration(r.seconds),
    r.finished ? 'finished' : 'running or interrupted',
  ].map((cell, i) => (i === 0 ? cell : `<td>${escapeHtml(cell)}</td>`)).join(''));
  return `<section id="comparison">
<h2>Runs compared</h2>
<div class="charts">
${await chartHtml(chart)}
</div>
<table class="comparison">
<thead><tr>${head.map((h) => `<th scope="col">${escapeHtml(h)}</th>`).join('')}</tr></thead>
<tbody>
${body.map((cells) => `<tr>${cells}</tr>`).join('\n')}
</tbody>
</table>
<p class="note">Directories: ${runs.map((c) => `${escapeHtml(c.label)}: <code>${escapeHtml(path.resolve(c.run.dir))}</code>`).join('; ')}</p>
</section>`;
}

function page(o: { title: string; heading: string; sub: string; warnings: string[]; body: string }): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="mdistill report">
<title>${escapeHtml(o.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>${o.heading}</h1>
<p class="sub">${escapeHtml(o.sub)}</p>
</header>
${o.warnings.length ? `<div class="warnings" role="note"><ul>${o.warnings.map((w) => `<li>${escapeHtml(w)}</li>`).join('')}</ul></div>` : ''}
${o.body}
</body>
</html>
`;
}

const STYLE = `
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem auto; max-width: 1200px; padding: 0 1rem; color: #222; }
h1 { font-size: 1.5rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.15rem; margin-top: 2rem; border-bottom: 1px solid #ddd; padding-bottom: 0.2rem; }
.sub { color: #666; margin-top: 0; }
.note { color: #666; font-size: 0.85em; }
table.summary { border-collapse: collapse; }
table.summary th, table.summary td { text-align: left; vertical-align: top; padding: 0.3rem 0.8rem; border-bottom: 1px solid #eee; }
table.summary th { white-space: nowrap; font-weight: 600; }
.charts { display: flex; flex-wrap: wrap; gap: 1rem; }
figure.chart { margin: 0; padding: 0.5rem; border: 1px solid #eee; border-radius: 4px; }
figure.chart figcaption { font-weight: 600; font-size: 0.95rem; margin-bottom: 0.3rem; }
p.no-data { color: #888; font-style: italic; min-width: 18rem; }
.warnings { background: #fff6e0; border: 1px solid #f0d48a; padding: 0.5rem 1rem; border-radius: 4px; }
pre.config { background: #f7f7f7; padding: 0.8rem; overflow-x: auto; font-size: 0.85rem; }
table.comparison { border-collapse: collapse; margin-top: 1rem; }
table.comparison th, table.comparison td { text-align: left; padding: 0.3rem 0.8rem; border-bottom: 1px solid #eee; }
table.comparison td { font-variant-numeric: tabular-nums; }
`;

export interface RenderOptions {
  /** Shown in the header; defaults to now. */
  generatedAt?: Date;
  /** Other runs to compare this one with (the quickstart's teacher and scratch runs). */
  compare?: ComparedRun[];
  /** More to show at the top (e.g. a sub-run left out of the comparison). */
  warnings?: string[];
}

export interface RenderedReport {
  html: string;
  charts: ChartDef[];
  /** Shown at the top of the page: what the reader tolerated, the teacher check's warning. */
  warnings: string[];
}

export async function renderReport(run: RunDir, options: RenderOptions = {}): Promise<RenderedReport> {
  const charts = buildCharts(run.log);
  const name = path.basename(path.resolve(run.dir));
  const generatedAt = (options.generatedAt ?? new Date()).toISOString();
  const warnings = [...run.log.warnings, ...(options.warnings ?? [])];
  if (run.log.teacher?.warning) warnings.push(`teacher check: ${run.log.teacher.warning}`);

  let comparison = '';
  if (options.compare?.length) {
    const runs = [...options.compare, { label: labelOf(name, run.config.value, 'main'), run }];
    const chart = comparisonChart(runs.map((c) => ({ label: c.label, epochs: c.run.log.epochs })));
    charts.unshift(chart);
    comparison = await comparisonSection(runs, chart);
  }
  const groups: string[] = [];
  for (const group of Object.keys(GROUP_TITLES) as (keyof typeof GROUP_TITLES)[]) {
    const figures = await Promise.all(charts.filter((c) => c.group === group).map(chartHtml));
    groups.push(`<section class="chart-group" id="charts-${group}">\n<h2>${escapeHtml(GROUP_TITLES[group])}</h2>\n<div class="charts">\n${figures.join('\n')}\n</div>\n</section>`);
  }
  const body = `<section id="summary">
<h2>Summary</h2>
${tableHtml(summaryRows(run))}
</section>
${comparison}
${groups.join('\n')}
<section id="config">
<h2>Configuration <span class="note">(${escapeHtml(path.basename(run.configPath))})</span></h2>
<pre class="config">${escapeHtml(run.config.text)}</pre>
</section>`;
  const html = page({
    title: `mdistill run ${name}`, heading: `mdistill run <code>${escapeHtml(name)}</code>`,
    sub: `${path.resolve(run.dir)} · report generated ${generatedAt}`, warnings, body,
  });
  return { html, charts, warnings };
}

/** A page comparing runs (`mdistill report a b c`, an ablation's directory). */
export async function renderComparison(runs: ComparedRun[], options: { title: string; warnings?: string[]; generatedAt?: Date }): Promise<RenderedReport> {
  const generatedAt = (options.generatedAt ?? new Date()).toISOString();
  const warnings = [...(options.warnings ?? []), ...runs.flatMap((c) => c.run.log.warnings)];
  const chart = comparisonChart(runs.map((c) => ({ label: c.label, epochs: c.run.log.epochs })));
  const html = page({
    title: `mdistill: ${options.title}`, heading: `mdistill: ${escapeHtml(options.title)}`,
    sub: `${runs.length} runs · report generated ${generatedAt}`, warnings, body: await comparisonSection(runs, chart),
  });
  return { html, charts: [chart], warnings };
}
