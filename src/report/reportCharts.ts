// The report's charts as vega-lite specs, built from a run's log records.
import type { TopLevelSpec } from 'vega-lite';
import type { EpochRecord, EvalResult, LossTerms, StepRecord } from '../log/records.js';
import type { RunLog } from './readRunLog.js';

/** Step charts keep at most this many points so that long runs give a light page. */
export const MAX_CHART_POINTS = 2000;

export type ChartGroup = 'loss' | 'schedule' | 'accuracy' | 'comparison';

export interface ChartDef {
  /** Stable id, used as the figure's data-chart attribute. */
  id: string;
  group: ChartGroup;
  title: string;
  /** Null when the log holds no data for it yet; `empty` then says why. */
  spec: TopLevelSpec | null;
  /** How many data points the spec holds (after downsampling). */
  points: number;
  /** How many series (lines) it draws. */
  series: number;
  /** A caption line, e.g. how the steps were downsampled. */
  note?: string;
  empty?: string;
}

export const LOSS_TERMS: readonly (keyof LossTerms)[] = ['total', 'base', 'kd', 'sample', 'patch', 'rand'];

const LOSS_TITLES: Record<keyof LossTerms, string> = {
  total: 'Total loss (back-propagated)',
  base: 'Base loss (CE against targets)',
  kd: 'KD loss',
  sample: 'Manifold loss: sample term (weighted)',
  patch: 'Manifold loss: patch term (weighted)',
  rand: 'Manifold loss: random term (weighted)',
};

/** Keeps every k-th item, and always the last, so that at most about `max` remain. */
export function downsample<T>(items: readonly T[], max: number): { items: T[]; stride: number } {
  if (items.length <= max) return { items: [...items], stride: 1 };
  const stride = Math.ceil((items.length - 1) / (max - 1));
  const out: T[] = [];
  for (let i = 0; i < items.length; i += stride) out.push(items[i]);
  if ((items.length - 1) % stride !== 0) out.push(items[items.length - 1]);
  return { items: out, stride };
}

// One colour per series name on every chart, whichever series a chart happens to have.
const SERIES_COLORS: Record<string, string> = { train: '#4c78a8', eval: '#f58518', 'eval EMA': '#e45756' };

const SMALL = { width: 340, height: 150 };
const WIDE = { width: 520, height: 200 };
// Marks show the points themselves when there are few enough to see; a one-point line would draw nothing.
const POINT_LIMIT = 60;

type Row = Record<string, number | string>;

function lineSpec(options: {
  values: Row[];
  x: { field: string; title: string };
  y: { title: string };
  /** The series in legend order; `palette` colours them from a categorical scheme instead of SERIES_COLORS. */
  series?: { domain: string[]; palette?: boolean };
  size: { width: number; height: number };
}): TopLevelSpec {
  const { values, x, y, series, size } = options;
  const scheme = (series?.domain.length ?? 0) > 10 ? ('tableau20' as const) : ('tableau10' as const);
  const colorScale = series?.palette
    ? { domain: series.domain, scheme }
    : { domain: series?.domain, range: series?.domain.map((d) => SERIES_COLORS[d] ?? '#54a24b') };
  const points = series ? values.length / Math.max(1, new Set(values.map((v) => v.series)).size) : values.length;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    ...size,
    background: 'white',
    data: { values },
    mark: { type: 'line', point: points <= POINT_LIMIT, strokeWidth: 1.5, clip: false },
    encoding: {
      x: { field: x.field, type: 'quantitative', title: x.title, axis: { tickMinStep: 1 } },
      y: { field: 'value', type: 'quantitative', title: y.title, scale: { zero: false } },
      ...(series
        ? { color: { field: 'series', type: 'nominal', title: null, scale: colorScale, legend: { orient: 'bottom', columns: series.palette ? 2 : undefined, labelLimit: 0 } } }
        : {}),
    },
    config: { font: 'sans-serif', view: { stroke: '#ddd' }, axis: { labelFontSize: 10, titleFontSize: 11 } },
  };
}

function stepNote(stride: number, total: number): string | undefined {
  return stride > 1 ? `showing 1 in ${stride} of ${total} logged steps` : undefined;
}

function stepChart(
  id: string,
  group: ChartGroup,
  title: string,
  steps: readonly StepRecord[],
  value: (s: StepRecord) => number,
  yTitle: string,
  size = SMALL,
): ChartDef {
  if (steps.length === 0) return { id, group, title, spec: null, points: 0, series: 0, empty: 'No step records in the log yet.' };
  const { items, stride } = downsample(steps, MAX_CHART_POINTS);
  const values = items.map((s) => ({ step: s.step, value: value(s) }));
  return {
    id,
    group,
    title,
    spec: lineSpec({ values, x: { field: 'step', title: 'step' }, y: { title: yTitle }, size }),
    points: values.length,
    series: 1,
    note: stepNote(stride, steps.length),
  };
}

interface EpochSeries {
  name: string;
  value: (e: EpochRecord) => number | undefined;
}

function epochChart(
  id: string,
  title: string,
  epochs: readonly EpochRecord[],
  series: EpochSeries[],
  yTitle: string,
  empty: string,
): ChartDef {
  const values: Row[] = [];
  const present: string[] = [];
  for (const s of series) {
    const rows = epochs.flatMap((e) => {
      const v = s.value(e);
      // Epochs are 1-based on the page, as the trainer prints them ("epoch 1/3"); the log counts from 0.
      return v === undefined ? [] : [{ epoch: e.epoch + 1, value: v, series: s.name }];
    });
    if (rows.length > 0) present.push(s.name);
    values.push(...rows);
  }
  if (values.length === 0) return { id, group: 'accuracy', title, spec: null, points: 0, series: 0, empty };
  return {
    id,
    group: 'accuracy',
    title,
    spec: lineSpec({
      values,
      x: { field: 'epoch', title: 'epoch' },
      y: { title: yTitle },
      series: { domain: series.map((s) => s.name).filter((n) => present.includes(n)) },
      size: WIDE,
    }),
    points: values.length,
    series: present.length,
  };
}

const acc = (pick: (r: EvalResult) => number, which: 'eval' | 'evalEma') => (e: EpochRecord) =>
  e[which] === undefined ? undefined : pick(e[which]);

export function buildCharts(log: RunLog): ChartDef[] {
  const { steps, epochs } = log;
  const charts: ChartDef[] = LOSS_TERMS.map((term) =>
    stepChart(`loss-${term}`, 'loss', LOSS_TITLES[term], steps, (s) => s.loss[term], `${term} loss`),
  );
  charts.push(stepChart('lr', 'schedule', 'Learning rate', steps, (s) => s.lr, 'learning rate', WIDE));
  charts.push(stepChart('throughput', 'schedule', 'Throughput', steps, (s) => s.imgPerS, 'images / s', WIDE));
  const noEval = epochs.length === 0 ? 'No epoch has finished yet.' : 'No evaluation in the logged epochs.';
  charts.push(
    epochChart(
      'acc1',
      'Top-1 accuracy',
      epochs,
      [
        { name: 'train', value: (e) => e.train.acc1 },
        { name: 'eval', value: acc((r) => r.acc1, 'eval') },
        { name: 'eval EMA', value: acc((r) => r.acc1, 'evalEma') },
      ],
      'top-1 accuracy (%)',
      noEval,
    ),
    epochChart(
      'acc5',
      'Top-5 accuracy',
      epochs,
      [
        { name: 'eval', value: acc((r) => r.acc5, 'eval') },
        { name: 'eval EMA', value: acc((r) => r.acc5, 'evalEma') },
      ],
      'top-5 accuracy (%)',
      noEval,
    ),
    epochChart(
      'epoch-loss',
      'Loss per epoch',
      epochs,
      [
        { name: 'train', value: (e) => e.train.loss },
        { name: 'eval', value: acc((r) => r.loss, 'eval') },
        { name: 'eval EMA', value: acc((r) => r.loss, 'evalEma') },
      ],
      'loss',
      'No epoch has finished yet.',
    ),
  );
  return charts;
}

export interface RunSeries {
  label: string;
  epochs: readonly EpochRecord[];
}

/** Eval top-1 per epoch of several runs on one chart (teacher, scratch and student; the ablation's rows). */
export function comparisonChart(runs: readonly RunSeries[]): ChartDef {
  const values: Row[] = [];
  const present: string[] = [];
  for (const run of runs) {
    const rows = run.epochs.flatMap((e) => (e.eval ? [{ epoch: e.epoch + 1, value: e.eval.acc1, series: run.label }] : []));
    if (rows.length) present.push(run.label);
    values.push(...rows);
  }
  const base = { id: 'compare-acc1', group: 'comparison' as const, title: 'Top-1 accuracy per epoch, every run' };
  if (values.length === 0) return { ...base, spec: null, points: 0, series: 0, empty: 'No run has an evaluated epoch yet.' };
  return {
    ...base,
    spec: lineSpec({ values, x: { field: 'epoch', title: 'epoch' }, y: { title: 'eval top-1 accuracy (%)' }, series: { domain: present, palette: true }, size: { width: 640, height: 260 } }),
    points: values.length,
    series: present.length,
  };
}
