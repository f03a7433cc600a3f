// Manifold loss, forward + backward, fp32: fused kernel vs the naive ATen reference.
//   --case paper (default): the paper's shape (B=64, N=196 (+1 student cls token), d_s=192, d_t=384, 8 layer pairs, K=192).
//   --case swin-t-stage0: the Swin-T student's stage-0 blocks (56x56 = 3136 tokens per image, d 96) against the Swin-S
//     teacher's (configs/swin-tiny-swin-small.yaml's first pairs), --max-patch-num 196: both sides merged 4x4 to
//     14x14 tokens of 16*96 features (B=64, 2 pairs, K=192). Features carry their token layouts, as in training.
//   Any shape flag overrides the case: --batch --tokens --extra --ds --dt --pairs --k --max-patch-num (tokens: the
//   grid side squared; extra: student tokens ahead of the grid).
//
// Time: median of --reps runs after --warmup, fused and naive interleaved in one child process.
// Memory: each implementation runs one forward + backward in a fresh child process and reports its peak RSS
// (getrusage ru_maxrss, i.e. process.resourceUsage().maxRSS). Baseline children allocate the same inputs, load the
// addon and run the loss once on a tiny shape (so libtorch, BLAS and the thread pool are initialised).
// - extra (memory_ratio): peak beyond a baseline that also holds the student-shaped fp32 gradients every
//   implementation must hand back (the op's output, as big as its student input): the memory the loss itself needs.
// - extra with grads (memory_ratio_with_grads): peak beyond a baseline holding the inputs only.
// Gradients are computed natively and not copied back to JS (as in training).
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { median, parseFlags, timeReps } from './common.mjs';

const CASES = {
  paper: { batch: '64', tokens: '196', extra: '1', ds: '192', dt: '384', pairs: '8', k: '192', 'max-patch-num': '0' },
  'swin-t-stage0': { batch: '64', tokens: '3136', extra: '0', ds: '96', dt: '96', pairs: '2', k: '192', 'max-patch-num': '196' },
};
const requested = parseFlags(process.argv.slice(2), { case: 'paper' });
if (!CASES[requested.case]) throw new Error(`--case must be one of ${Object.keys(CASES).join(', ')}, got ${requested.case}`);
const flags = { ...CASES[requested.case], reps: '5', warmup: '1', ...requested };
const num = (name) => Number(flags[name]);
const side = Math.round(Math.sqrt(num('tokens')));
if (side * side !== num('tokens')) throw new Error(`--tokens must be a square grid's token count, got ${flags.tokens}`);

function inputs() {
  const [B, N, E, ds, dt, P] = ['batch', 'tokens', 'extra', 'ds', 'dt', 'pairs'].map(num);
  let seed = 12345;
  const fill = (a) => {
    for (let i = 0; i < a.length; i++) {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      a[i] = seed / 2 ** 32 - 0.5;
    }
    return a;
  };
  return Array.from({ length: P }, () => ({
    student: { data: fill(new Float32Array(B * (N + E) * ds)), shape: [B, N + E, ds], layout: { prefix: E, rows: side, cols: side } },
    teacher: { data: fill(new Float32Array(B * N * dt)), shape: [B, N, dt], layout: { prefix: 0, rows: side, cols: side } },
  }));
}

async function child(mode) {
  const { manifoldLoss } = await import('../dist/loss/manifoldLoss.js');
  const pairs = inputs();
  const tiny = [{ student: { data: new Float32Array(2 * 5 * 3), shape: [2, 5, 3] }, teacher: { data: new Float32Array(2 * 4 * 3), shape: [2, 4, 3] } }];
  for (const impl of ['fused', 'naive']) await manifoldLoss(tiny, { k: 4, grad: 'compute', impl });
  const step = (impl) => manifoldLoss(pairs, { k: num('k'), maxPatchNum: num('max-patch-num'), seed: 1, impl, grad: 'compute' });
  const out = { mode };
  if (mode === 'baseline-grads') {
    // What every implementation returns: one student-shaped fp32 gradient per pair, touched page by page.
    out.gradBuffers = pairs.map((p) => new Float32Array(p.student.data.length).fill(1)).length;
  }
  if (mode === 'time') {
    // Interleaved, so both implementations see the same machine load.
    const times = { fused: [], naive: [] };
    for (let i = 0; i < num('warmup') + num('reps'); i++) {
      for (const impl of ['fused', 'naive']) {
        const [t] = await timeReps(async () => { out[`${impl}_total`] = (await step(impl)).total; }, { warmup: 0, reps: 1 });
        if (i >= num('warmup')) times[impl].push(t);
      }
    }
    out.fused_s = median(times.fused);
    out.naive_s = median(times.naive);
    out.times = times;
  } else if (!mode.startsWith('baseline')) {
    const r = await step(mode);
    out.total = r.total;
  }
  out.maxRssMb = process.resourceUsage().maxRSS / 1024;
  console.log(JSON.stringify(out));
}

function runChild(mode) {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), ...process.argv.slice(2), '--child', mode], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`bench loss: ${mode} child failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

if (flags.child) {
  await child(flags.child);
} else {
  const baseline = runChild('baseline');
  const baselineGrads = runChild('baseline-grads');
  const fusedMem = runChild('fused');
  const naiveMem = runChild('naive');
  const time = runChild('time');
  for (const r of [baseline, baselineGrads, fusedMem, naiveMem, time]) console.log(JSON.stringify(r));
  const [B, N, E, ds, P] = ['batch', 'tokens', 'extra', 'ds', 'pairs'].map(num);
  const round = (x) => Math.round(x * 10) / 10;
  const fusedExtra = fusedMem.maxRssMb - baselineGrads.maxRssMb;
  const naiveExtra = naiveMem.maxRssMb - baselineGrads.maxRssMb;
  const fusedWithGrads = fusedMem.maxRssMb - baseline.maxRssMb;
  const naiveWithGrads = naiveMem.maxRssMb - baseline.maxRssMb;
  console.log(JSON.stringify({
    case: flags.case,
    shape: { batch: B, tokens: N, extraStudentTokens: E, ds, dt: num('dt'), pairs: P, k: num('k'), maxPatchNum: num('max-patch-num') },
    reps: num('reps'),
    fused_s: time.fused_s,
    naive_s: time.naive_s,
    speedup: time.naive_s / time.fused_s,
    fused_extra_mb: round(fusedExtra),
    naive_extra_mb: round(naiveExtra),
    memory_ratio: fusedExtra / naiveExtra,
    fused_extra_with_grads_mb: round(fusedWithGrads),
    naive_extra_with_grads_mb: round(naiveWithGrads),
    memory_ratio_with_grads: fusedWithGrads / naiveWithGrads,
    grad_output_mb: round((P * B * (N + E) * ds * 4) / 2 ** 20),
    baseline_rss_mb: Math.round(baseline.maxRssMb),
    total_rel_diff: Math.abs(time.fused_total - time.naive_total) / Math.abs(time.naive_total),
    load_average: os.loadavg().map((l) => +l.toFixed(2)),
  }));
}
