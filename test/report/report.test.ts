import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { writeReport } from '../../src/report/report.js';
import { MAX_CHART_POINTS } from '../../src/report/reportCharts.js';
import { makeQuickstartRun, makeSyntheticRun, syntheticRecords } from './syntheticRun.js';
import { figures } from './chartMarks.js';

const ALL_CHARTS = ['loss-total', 'loss-base', 'loss-kd', 'loss-sample', 'loss-patch', 'loss-rand', 'lr', 'throughput', 'acc1', 'acc5', 'epoch-loss'];

describe('run report', () => {
  it('draws every chart as an SVG whose marks hold all the logged points', async () => {
    const { dir, records } = makeSyntheticRun({ epochs: 3, stepsPerEpoch: 40, logEvery: 4 });
    const result = await writeReport(dir);
    expect(result.path).toBe(path.join(dir, 'report.html'));
    expect(result.charts).toEqual({ drawn: ALL_CHARTS, empty: [] });
    const html = readFileSync(result.path, 'utf8');
    const figs = figures(html);
    expect([...figs.keys()]).toEqual(ALL_CHARTS);
    const steps = records.filter((r) => r.kind === 'step').length;
    expect(steps).toBe(30);
    for (const id of ALL_CHARTS) {
      const f = figs.get(id)!;
      expect(f.hasSvg, id).toBe(true);
      expect(f.empty, id).toBe(false);
      expect(f.lines, id).toBe(f.series);
      expect(f.lineVertices, id).toBe(f.points);
      // Few points: each one is also drawn as a symbol.
      expect(f.symbols, id).toBe(f.points);
    }
    for (const id of ['loss-total', 'loss-rand', 'lr', 'throughput']) expect(figs.get(id)!.points, id).toBe(steps);
    expect(figs.get('acc1')!.series).toBe(3); // train, eval, eval EMA
    expect(figs.get('acc1')!.points).toBe(9);
    expect(figs.get('acc5')!.series).toBe(2);
    // A series keeps its colour from chart to chart.
    const stroke = (id: string, series: string) => new RegExp(`series: ${series}"[^>]* d="M[^"]*" stroke="(#[0-9a-f]+)"`).exec(figs.get(id)!.html)?.[1];
    expect(stroke('acc1', 'eval EMA')).toBeDefined();
    expect(stroke('acc5', 'eval EMA')).toBe(stroke('acc1', 'eval EMA'));
    expect(stroke('epoch-loss', 'eval')).toBe(stroke('acc1', 'eval'));
    expect(stroke('acc1', 'eval')).not.toBe(stroke('acc1', 'eval EMA'));
    // The marks carry the logged values: the last epoch's EMA top-5 is there.
    const lastEpoch = records.filter((r) => r.kind === 'epoch').at(-1)!;
    expect(lastEpoch.kind === 'epoch' && lastEpoch.evalEma?.acc5).toBe(94.25);
    // Epochs are 1-based, as the trainer prints them: the last of 3 epochs is epoch 3.
    expect(figs.get('acc5')!.html).toContain('epoch: 3; top-5 accuracy (%): 94.25; series: eval EMA');
    expect(figs.get('acc1')!.html).not.toContain('epoch: 0;');
  });

  it('compares the runs a run directory holds (teacher, scratch, the student) on one chart and one table', async () => {
    const { dir } = makeQuickstartRun({ epochs: 3, stepsPerEpoch: 8, logEvery: 4 });
    const result = await writeReport(dir);
    expect(result.compared).toBe(3);
    expect(result.charts.drawn).toEqual(['compare-acc1', ...ALL_CHARTS]);
    const html = readFileSync(result.path, 'utf8');
    const f = figures(html).get('compare-acc1')!;
    expect({ series: f.series, points: f.points, lines: f.lines, vertices: f.lineVertices, symbols: f.symbols }).toEqual({ series: 3, points: 9, lines: 3, vertices: 9, symbols: 9 });
    // One line per run, epochs 1-based, each run's own values: the teacher (shift 8) ends at 93, the scratch run at 81.
    expect(f.html).toContain('epoch: 1; eval top-1 accuracy (%): 63; series: teacher (deit_small_patch16_224)');
    expect(f.html).toContain('epoch: 3; eval top-1 accuracy (%): 81; series: student from scratch');
    expect(f.html).toContain('epoch: 3; eval top-1 accuracy (%): 87; series: student, soft KD + manifold');
    expect(f.html).not.toContain('epoch: 0;');
    const rows = [...html.matchAll(/<tr><th scope="row">([^<]+)<\/th><td>(\d+)<\/td><td>([^<]+)<\/td>/g)].map((m) => [m[1], m[2], m[3]]);
    expect(rows).toEqual([
      ['teacher (deit_small_patch16_224)', '3', '93.00%'],
      ['student from scratch', '3', '81.00%'],
      ['student, soft KD + manifold', '3', '87.00%'],
    ]);
    expect(html).toContain('<td>87.00% (3)</td>'); // best top-1 of the student (model or EMA) and its epoch, 1-based
  });

  it('gives a directory of runs without a log of its own (an ablation) the comparison alone', async () => {
    const { dir } = makeQuickstartRun({ epochs: 2, stepsPerEpoch: 4, logEvery: 2 });
    const ablation = path.dirname(path.join(dir, 'teacher'));
    rmSync(path.join(ablation, 'log.jsonl'));
    const result = await writeReport(ablation);
    expect(result).toMatchObject({ compared: 2, charts: { drawn: ['compare-acc1'], empty: [] } });
    expect(figures(readFileSync(result.path, 'utf8')).get('compare-acc1')!.series).toBe(2);
  });

  it('is self-contained and escapes the config and log text', async () => {
    const { dir } = makeSyntheticRun();
    const { path: out } = await writeReport(dir);
    const html = readFileSync(out, 'utf8');
    // (booleans, so that a failure does not print the whole page)
    expect(/<script/i.test(html), 'a <script> tag').toBe(false);
    expect(/<(img|link|iframe|object|embed)\b/i.test(html), 'an external resource tag').toBe(false);
    expect(/<[^>]*\s(src|href|xlink:href)\s*=/i.test(html), 'a src/href attribute').toBe(false);
    expect(/@import|url\(/i.test(html), 'a CSS import or url()').toBe(false);
    expect(html).toContain('&#60;script&#62;alert(&#39;x&#39;)&#60;/script&#62; &#38; more.safetensors');
    expect(html).toContain('&#60;/pre&#62;&#60;img src=x onerror=alert(1)&#62;');
    // Several inline SVGs share one document: their ids must not collide.
    const ids = [...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]);
    expect(new Set(ids).size).toBe(ids.length);
    // The summary table has the final results.
    expect(html).toMatch(/Best eval top-1<\/th><td>85\.00% at epoch 3/);
    expect(html).toMatch(/Teacher check<\/th><td>top-1 91\.20%/);
    expect(html).toMatch(/Bad samples<\/th><td>2</);
    expect(html).toMatch(/Wall time<\/th><td>1m 03s/);
    expect(html).toMatch(/Status<\/th><td>finished/);
  });

  it('shows "no data" for charts without records instead of failing', async () => {
    const { dir } = makeSyntheticRun({ epochs: 1, stepsPerEpoch: 20, logEvery: 5, finished: false, evaluate: false });
    // A run still in its first epoch: keep the step records, drop the epoch record.
    const log = path.join(dir, 'log.jsonl');
    const lines = readFileSync(log, 'utf8').trimEnd().split('\n');
    writeFileSync(log, `${lines.filter((l) => !l.includes('"kind":"epoch"')).join('\n')}\n`);
    const result = await writeReport(dir);
    expect(result.charts.empty).toEqual(['acc1', 'acc5', 'epoch-loss']);
    const html = readFileSync(result.path, 'utf8');
    const figs = figures(html);
    expect(figs.get('acc1')!.hasSvg).toBe(false);
    expect(figs.get('acc1')!.html).toContain('No epoch has finished yet.');
    expect(figs.get('loss-total')!.points).toBe(4);
    expect(html).toMatch(/Status<\/th><td>no summary record/);
  });

  it('draws a run with a single step record and a constant (zero) KD term', async () => {
    const { dir } = makeSyntheticRun({ epochs: 1, stepsPerEpoch: 1, logEvery: 1, finished: false });
    const log = path.join(dir, 'log.jsonl');
    const first = JSON.parse(readFileSync(log, 'utf8').split('\n')[0]) as { kind: string; loss: { kd: number } };
    expect(first.kind).toBe('step');
    first.loss.kd = 0;
    writeFileSync(log, `${JSON.stringify(first)}\n`);
    const result = await writeReport(dir);
    expect(result.charts.empty).toEqual(['acc1', 'acc5', 'epoch-loss']);
    const figs = figures(readFileSync(result.path, 'utf8'));
    for (const id of ['loss-total', 'loss-kd', 'lr', 'throughput']) {
      expect(figs.get(id)!.points, id).toBe(1);
      expect(figs.get(id)!.symbols, id).toBe(1);
    }
    expect(figs.get('loss-kd')!.html).toContain('step: 0; kd loss: 0');
  });

  it('downsamples long runs to at most MAX_CHART_POINTS per step chart, keeping the last step', async () => {
    const { dir, records } = makeSyntheticRun({ epochs: 2, stepsPerEpoch: 2600, logEvery: 1 });
    const result = await writeReport(dir);
    const figs = figures(readFileSync(result.path, 'utf8'));
    const f = figs.get('loss-total')!;
    expect(f.points).toBeLessThanOrEqual(MAX_CHART_POINTS);
    expect(f.points).toBeGreaterThan(MAX_CHART_POINTS / 2);
    expect(f.lineVertices).toBe(f.points);
    expect(f.symbols).toBe(0);
    expect(f.html).toContain('showing 1 in 3 of 5200 logged steps');
    const last = records.filter((r) => r.kind === 'step').at(-1)!;
    expect(last.kind === 'step' && last.step).toBe(5199);
    expect(result.bytes).toBeLessThan(2_000_000);
  });

  it('writes --out atomically and leaves no temp file', async () => {
    const { dir } = makeSyntheticRun();
    const out = path.join(dir, 'custom.html');
    writeFileSync(out, 'old');
    const r = await writeReport(dir, out);
    expect(r.path).toBe(out);
    expect(readFileSync(out, 'utf8')).toMatch(/^<!doctype html>/);
    expect(existsSync(path.join(dir, 'report.html'))).toBe(false);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('fails with a clear error when the output cannot be written', async () => {
    const { dir } = makeSyntheticRun();
    const out = path.join(dir, 'no-such-dir', 'report.html');
    await expect(writeReport(dir, out)).rejects.toThrow(`could not write ${out}`);
  });

  it('builds the same records as the writer wrote', () => {
    expect(syntheticRecords({ epochs: 2, stepsPerEpoch: 10, logEvery: 5 }).map((r) => r.kind)).toEqual([
      'teacher', 'step', 'step', 'epoch', 'step', 'step', 'epoch', 'summary',
    ]);
  });
});
