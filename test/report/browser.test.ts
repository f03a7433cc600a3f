// Opens the report in headless Chromium: every chart must render its data marks, with no console errors,
// no network requests and no script running (the config holds HTML that must stay text).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { writeComparison, writeReport } from '../../src/report/report.js';
import { installedPath, requireTool } from '../helpers/requireTool.js';
import { makeQuickstartRun, makeSyntheticRun } from './syntheticRun.js';

const CHROMIUM = process.env.MDISTILL_CHROMIUM ?? '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

interface ChartInBrowser {
  id: string;
  empty: boolean;
  points: number;
  series: number;
  svgs: number;
  width: number;
  height: number;
  linePaths: number;
  lineLength: number;
  symbols: number;
  noData: string;
  /** The axis labels (x then y), the legend's labels and each line's colour. */
  xLabels: string[];
  legend: string[];
  strokes: string[];
}

let browser: Browser | undefined;

beforeAll(async () => {
  requireTool({ ...installedPath('headless Chromium', CHROMIUM, 'chromium'), otherwise: 'or point $MDISTILL_CHROMIUM at a Chromium binary' });
  // launch() gives every browser a fresh temporary profile (user-data-dir) and removes it on close.
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
});

afterAll(async () => {
  await browser?.close();
});

async function openReport(runDir: string | string[]) {
  const { path: file } = Array.isArray(runDir) ? await writeComparison(runDir, path.join(runDir[0], 'comparison.html')) : await writeReport(runDir);
  const page = await browser!.newPage();
  const problems: string[] = [];
  const requests: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console error: ${msg.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('dialog', (d) => {
    problems.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });
  const url = pathToFileURL(file).href;
  await page.route('**/*', (route) => {
    const u = route.request().url();
    if (u === url) return route.continue();
    requests.push(u);
    return route.abort();
  });
  await page.goto(url, { waitUntil: 'load' });
  const charts: ChartInBrowser[] = await page.$$eval('figure.chart', (figs) =>
    figs.map((f) => {
      const svg = f.querySelector('svg');
      const box = svg?.getBoundingClientRect();
      const lines = Array.from(f.querySelectorAll<SVGPathElement>('svg .mark-line.role-mark path'));
      return {
        id: f.getAttribute('data-chart') ?? '',
        empty: f.hasAttribute('data-empty'),
        points: Number(f.getAttribute('data-points')),
        series: Number(f.getAttribute('data-series')),
        svgs: f.querySelectorAll('svg').length,
        width: box?.width ?? 0,
        height: box?.height ?? 0,
        linePaths: lines.length,
        lineLength: lines.reduce((n, p) => n + p.getTotalLength(), 0),
        symbols: f.querySelectorAll('svg .mark-symbol.role-mark path').length,
        noData: f.querySelector('.no-data')?.textContent ?? '',
        xLabels: Array.from(f.querySelectorAll('svg .role-axis-label text')).map((t) => t.textContent ?? ''),
        legend: Array.from(f.querySelectorAll('svg .role-legend-label text')).map((t) => t.textContent ?? ''),
        strokes: Array.from(f.querySelectorAll<SVGPathElement>('svg .mark-line.role-mark path')).map((p) => p.getAttribute('stroke') ?? ''),
      };
    }),
  );
  const comparisonRows = await page.$$eval('table.comparison tbody tr', (rows) => rows.map((r) => Array.from(r.children).map((c) => c.textContent ?? '')));
  const configText = await page.$$eval('pre.config', (e) => e[0]?.textContent ?? '');
  const scripts = await page.$$eval('script, img, iframe', (els) => els.length);
  await page.close();
  return { charts, problems, requests, configText, scripts, comparisonRows };
}

describe('report in headless Chromium', () => {
  it('renders every chart with its data marks, with no console errors or network', async () => {
    const { dir } = makeSyntheticRun({ epochs: 3, stepsPerEpoch: 40, logEvery: 4 });
    const r = await openReport(dir);
    expect(r.problems).toEqual([]);
    expect(r.requests).toEqual([]);
    expect(r.scripts).toBe(0);
    expect(r.charts.map((c) => c.id)).toEqual([
      'loss-total', 'loss-base', 'loss-kd', 'loss-sample', 'loss-patch', 'loss-rand', 'lr', 'throughput', 'acc1', 'acc5', 'epoch-loss',
    ]);
    for (const c of r.charts) {
      expect(c.empty, c.id).toBe(false);
      expect(c.svgs, c.id).toBe(1);
      expect(c.width, c.id).toBeGreaterThan(100);
      expect(c.height, c.id).toBeGreaterThan(100);
      expect(c.linePaths, c.id).toBe(c.series);
      expect(c.lineLength, c.id).toBeGreaterThan(50);
      expect(c.symbols, c.id).toBe(c.points);
      expect(c.points, c.id).toBeGreaterThan(1);
    }
    // The config's HTML stayed text.
    expect(r.configText).toContain(`weights: "/data/teacher <script>alert('x')</script> & more.safetensors"`);
    expect(r.configText).toContain('note: "</pre><img src=x onerror=alert(1)>"');
  });

  it('compares the quickstart\'s teacher, scratch and student runs: one line each, distinct colours, 1-based epochs', async () => {
    const { dir } = makeQuickstartRun({ epochs: 3, stepsPerEpoch: 8, logEvery: 4 });
    const r = await openReport(dir);
    expect(r.problems).toEqual([]);
    expect(r.requests).toEqual([]);
    expect(r.scripts).toBe(0);
    const c = r.charts.find((x) => x.id === 'compare-acc1')!;
    expect(r.charts[0].id).toBe('compare-acc1');
    expect({ svgs: c.svgs, series: c.series, linePaths: c.linePaths, symbols: c.symbols }).toEqual({ svgs: 1, series: 3, linePaths: 3, symbols: 9 });
    expect(c.width).toBeGreaterThan(300);
    expect(c.lineLength).toBeGreaterThan(100);
    expect(new Set(c.strokes).size).toBe(3);
    expect(c.legend).toEqual(['teacher (deit_small_patch16_224)', 'student from scratch', 'student, soft KD + manifold']);
    // The epoch axis runs 1..3, as the logs count ("epoch 1/3").
    const epochTicks = c.xLabels.filter((t) => /^\d+$/.test(t)).map(Number).filter((n) => n <= 3);
    expect(Math.min(...epochTicks)).toBe(1);
    expect(epochTicks).toContain(3);
    expect(r.comparisonRows.map((row) => [row[0], row[2]])).toEqual([
      ['teacher (deit_small_patch16_224)', '93.00%'], ['student from scratch', '81.00%'], ['student, soft KD + manifold', '87.00%'],
    ]);
    // The per-run epoch charts are 1-based too.
    const acc1 = r.charts.find((x) => x.id === 'acc1')!;
    expect(acc1.xLabels.filter((t) => /^\d+$/.test(t)).map(Number)).toContain(1);
  });

  it('draws the page that compares any runs (mdistill report a b c)', async () => {
    const runs = [makeSyntheticRun({ epochs: 2, shift: 3 }).dir, makeSyntheticRun({ epochs: 4 }).dir, makeSyntheticRun({ epochs: 1, finished: false }).dir];
    const r = await openReport(runs);
    expect(r.problems).toEqual([]);
    expect(r.requests).toEqual([]);
    expect(r.scripts).toBe(0);
    expect(r.charts.map((c) => c.id)).toEqual(['compare-acc1']);
    expect(r.charts[0]).toMatchObject({ series: 3, linePaths: 3, symbols: 7, points: 7 });
    expect(r.comparisonRows.map((row) => row[7])).toEqual(['finished', 'finished', 'running or interrupted']);
  });

  it('shows a "no data" note for charts a young run cannot draw yet', async () => {
    const { dir } = makeSyntheticRun({ epochs: 2, stepsPerEpoch: 20, logEvery: 5, finished: false, evaluate: false });
    const r = await openReport(dir);
    expect(r.problems).toEqual([]);
    const byId = new Map(r.charts.map((c) => [c.id, c]));
    expect(byId.get('acc5')).toMatchObject({ empty: true, svgs: 0, noData: 'No evaluation in the logged epochs.' });
    // Train accuracy is there without eval.
    expect(byId.get('acc1')).toMatchObject({ empty: false, series: 1, linePaths: 1, symbols: 2 });
    expect(byId.get('loss-kd')).toMatchObject({ empty: false, linePaths: 1, symbols: 8 });
  });
});
