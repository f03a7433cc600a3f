// One manifold-distillation training step (teacher inference forward, student forward + backward, soft KD and the
// manifold loss, AdamW), ours (the native Trainer) against the PyTorch eager peer (shared/peer/torch_step.py) with
// the same models, shapes and loss weights, run in the same invocation. Ours and the peer alternate in rounds (the
// machine may be shared); the ratio is taken per round, then the median over rounds. Also reports the achieved
// GFLOP/s (FLOPs counted analytically) against the GEMM peak of this machine: the best oneDNN figure over the models'
// matrix product shapes (bench/gemmShapes.mjs, as `bench gemm` measures them), float32, or bfloat16 under --amp.
//   npm run bench -- step [--config small|paper224] [--batch N] [--amp] [--no-peer] [--warmup N] [--steps N]
//                         [--rounds N] [--threads N] [--device cpu|cuda] [--peer-compile]
// --amp: ours with bf16 products and the teacher in bf16, the peer under bf16 autocast (`ratio`, like for like);
// on CPU the peer also runs in float32 each round for `ratio_vs_peer_fp32`.
// --device cuda runs both on the GPU (no GEMM peak then; gpu_peak_mb is the caching allocator's peak of our step);
// --peer-compile adds the peer under torch.compile to each round (ratio_compile).
// The GEMM peak is the best of runs before and after each config (on a shared machine the best one is the closest
// to what the cores can do); the fractions are the achieved GFLOP/s over it. fma_fraction divides by the CPU's own
// multiply-add ceiling instead (bench/gemmShapes.mjs fmaCeiling, also the best of before and after), which no
// kernel can pass.
import { MODEL_PRESETS, resolveModel } from '../dist/model/modelConfig.js';
import { NativeModel } from '../dist/model/nativeModel.js';
import { NativeTrainer } from '../dist/train/nativeTrainer.js';
import { deviceMemory, runtimeInfo, setThreads } from '../dist/native/index.js';
import { median, parseFlags, runPeer, timeReps } from './common.mjs';
import { fmaCeiling, gemmPeak } from './gemmShapes.mjs';

// The peer's CONFIGS (torch_step.py), in our model configs.
const small = { imgSize: 28, patchSize: 4, inChans: 1, numClasses: 10 };
const CONFIGS = {
  small: {
    student: resolveModel('deit_tiny_patch16_224', small),
    teacher: resolveModel('deit_small_patch16_224', small),
    sIds: [0, 1, 2, 3, 8, 9, 10, 11], tIds: [0, 1, 2, 3, 8, 9, 10, 11], batch: 64,
  },
  paper224: {
    student: MODEL_PRESETS.deit_tiny_patch16_224,
    teacher: MODEL_PRESETS.cait_s24_224,
    sIds: [0, 1, 2, 3, 8, 9, 10, 11], tIds: [0, 1, 2, 3, 20, 21, 22, 23], batch: 8,
  },
};
// The peer's loss: kd + 4·patch + 0.1·sample + 0.2·rand + 0·CE, K = 192; AdamW lr 5e-4, wd 0.05; no EMA, no drop-path.
const LOSS = {
  kd: 'soft', alpha: 1, beta: 1, tau: 1, wPatch: 4, wSample: 0.1, wRand: 0.2, K: 192, maxPatchNum: 0, manifoldImpl: 'fused', weightDecay: 0.05,
  emaDecay: 0,
};
const LR = 5e-4;

const flags = parseFlags(process.argv.slice(2), { peer: true, amp: false });
const positive = (name, fallback, min = 1) => {
  if (flags[name] === undefined) return fallback;
  const n = Number(flags[name]);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min}, got ${flags[name]}`);
  return n;
};
if (flags.config !== undefined && !(flags.config in CONFIGS)) {
  throw new Error(`--config must be one of ${Object.keys(CONFIGS).join(', ')}, got ${flags.config}`);
}
const configs = flags.config ? [flags.config] : Object.keys(CONFIGS);
const warmup = positive('warmup', 2, 0);
const steps = positive('steps', 5);
const rounds = positive('rounds', 2);
const device = flags.device ?? 'cpu';
if (!['cpu', 'cuda'].includes(device)) throw new Error(`--device must be cpu or cuda, got ${device}`);
const amp = flags.amp === true;
const onGpu = device === 'cuda';
const peakDtype = amp ? 'bfloat16' : 'float32';

/** The middle value, or the mean of the two middle ones (common.mjs's median takes the upper one). */
function midMedian(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const h = Math.floor(s.length / 2);
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}

// ---- analytic FLOPs (multiply-add = 2) ----
function tokens(c) {
  const patches = (c.imgSize / c.patchSize) ** 2;
  return patches + (c.arch === 'cait' ? 0 : c.distilled ? 2 : 1);
}
function selfAttnBlockFlops(n, d, heads, mlpRatio, talking) {
  const hidden = d * mlpRatio;
  let f = 2 * n * d * 3 * d + 2 * n * d * d + 2 * 2 * n * n * d + 2 * 2 * n * d * hidden;
  if (talking) f += 2 * 2 * heads * heads * n * n;
  return f;
}
/** Forward FLOPs of one image. */
function forwardFlops(c) {
  const n = tokens(c), d = c.embedDim;
  const patches = (c.imgSize / c.patchSize) ** 2;
  let f = 2 * patches * c.inChans * c.patchSize ** 2 * d;
  f += c.depth * selfAttnBlockFlops(n, d, c.numHeads, c.mlpRatio, c.arch === 'cait');
  if (c.arch === 'cait') {
    // Class attention: q and the MLP on the cls token only; k, v over cls + patches.
    const u = n + 1;
    f += c.depthTokenOnly * (2 * d * d + 2 * 2 * u * d * d + 2 * 2 * u * d + 2 * d * d + 2 * 2 * d * d * c.mlpRatio);
  }
  return f + 2 * d * c.numClasses;
}
/** Manifold loss FLOPs of one step: per pair the three Gram relations of the student and of the teacher (over the
 *  teacher's tokens: the student's extra leading tokens are dropped), plus as much again for the student gradient. */
function manifoldFlops(spec, batch) {
  const n = tokens(spec.teacher);
  const k = Math.min(LOSS.K, batch * n);
  const grams = (dim) => 2 * batch * n * n * dim + 2 * n * batch * batch * dim + 2 * k * k * dim;
  return spec.sIds.length * (2 * grams(spec.student.embedDim) + grams(spec.teacher.embedDim));
}
function stepFlops(spec, batch) {
  const teacher = forwardFlops(spec.teacher) * batch;
  const student = forwardFlops(spec.student) * batch;
  return { teacher, student_fwd: student, student_bwd: 2 * student, loss: manifoldFlops(spec, batch), total: teacher + 3 * student + manifoldFlops(spec, batch) };
}

// ---- one config ----
function randomInput(n) {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.random() * 2 - 1;
  return a;
}

/** The CPU's GEMM peak (none on a GPU: the CPU's says nothing of a GPU step). */
async function cpuGemmPeak() {
  return onGpu ? { gflops: NaN } : gemmPeak(peakDtype);
}

async function benchConfig(name, threads) {
  const spec = CONFIGS[name];
  const batch = positive('batch', spec.batch);
  const student = new NativeModel(spec.student, { seed: 0, device });
  const teacher = new NativeModel(spec.teacher, { seed: 1, device });
  const trainer = new NativeTrainer(student, teacher, null, { ...LOSS, amp, sIds: spec.sIds, tIds: spec.tIds, clipGrad: 0, seed: 0 });
  if (onGpu) deviceMemory(device, true);
  const c = spec.student;
  const shape = [batch, c.inChans, c.imgSize, c.imgSize];
  const images = randomInput(shape.reduce((a, b) => a * b, 1));
  const labels = Int32Array.from({ length: batch }, () => Math.floor(Math.random() * c.numClasses));
  const peakBefore = await cpuGemmPeak();
  const fmaBefore = onGpu ? null : await fmaCeiling(peakDtype);
  let stepIndex = 0;
  const phaseLog = [];
  const oursRounds = [];
  const peerRounds = [];
  const compiledRounds = [];
  const peerFp32Rounds = [];
  const peerArgs = ['--config', name, '--batch', String(batch), '--warmup', String(warmup), '--steps', String(steps),
    '--threads', String(threads), '--device', device];
  for (let r = 0; r < rounds; r++) {
    const times = await timeReps(async () => {
      const terms = await trainer.step({ images, shape, labels }, LR, stepIndex++);
      if (!Number.isFinite(terms.total)) throw new Error(`non-finite loss at step ${stepIndex}`);
      if (terms.phases) phaseLog.push(terms.phases);
    }, { warmup: r === 0 ? warmup : Math.min(warmup, 1), reps: steps });
    oursRounds.push(median(times));
    if (flags.peer) peerRounds.push(runPeer(amp ? [...peerArgs, '--amp'] : peerArgs));
    if (flags.peer && amp && !onGpu) peerFp32Rounds.push(runPeer(peerArgs));
    if (flags.peer && flags['peer-compile']) compiledRounds.push(runPeer([...peerArgs, ...(amp ? ['--amp'] : []), '--compile']));
  }
  const peakAfter = await cpuGemmPeak();
  const fmaAfter = onGpu ? null : await fmaCeiling(peakDtype);
  const fma = fmaBefore && fmaAfter && fmaAfter.gflops > fmaBefore.gflops ? fmaAfter : fmaBefore;
  const peak = peakAfter.gflops > peakBefore.gflops ? peakAfter : peakBefore;
  const peakGflops = peak.gflops;
  const oursS = midMedian(oursRounds);
  const flops = stepFlops(spec, batch);
  const gflops = flops.total / oursS / 1e9;
  const entry = {
    config: name, batch, device, amp, warmup, steps, rounds,
    step_s_median: +oursS.toFixed(4),
    img_per_s: +(batch / oursS).toFixed(2),
    step_gflop: +(flops.total / 1e9).toFixed(2),
    gflops: +gflops.toFixed(1),
    step_s_per_round: oursRounds.map((s) => +s.toFixed(4)),
  };
  if (onGpu) {
    entry.gpu_peak_mb = +(deviceMemory(device).peakBytes / 2 ** 20).toFixed(1);
  } else {
    entry.peak_fraction = +(gflops / peakGflops).toFixed(3);
    entry.gemm_peak_gflops = +peakGflops.toFixed(1);
    entry.gemm_peak = `${peak.engine} ${peak.dtype}, ${peak.shape}`;
    if (fma) {
      entry.fma_peak_gflops = fma.gflops;
      entry.fma_fraction = +(gflops / fma.gflops).toFixed(3);
    }
  }
  if (phaseLog.length) {
    // The native step's own phase split (seconds, median over the timed steps).
    const keys = Object.keys(phaseLog[0]);
    entry.phases_s = Object.fromEntries(keys.map((k) => [k, +median(phaseLog.map((p) => p[k])).toFixed(4)]));
  }
  if (flags.peer) {
    const peerS = midMedian(peerRounds.map((p) => p.step_s_median));
    entry.peer_step_s_median = peerS;
    entry.peer_img_per_s = +(batch / peerS).toFixed(2);
    entry.peer_gflops = +(flops.total / peerS / 1e9).toFixed(1);
    if (!onGpu) entry.peer_peak_fraction = +(flops.total / peerS / 1e9 / peakGflops).toFixed(3);
    if (fma) entry.peer_fma_fraction = +(flops.total / peerS / 1e9 / fma.gflops).toFixed(3);
    entry.ratio_per_round = oursRounds.map((s, i) => +(peerRounds[i].step_s_median / s).toFixed(3));
    entry.ratio = +midMedian(entry.ratio_per_round).toFixed(3);
    if (amp) {
      const peerFp32S = midMedian(peerFp32Rounds.map((p) => p.step_s_median));
      entry.peer_fp32_step_s_median = peerFp32S;
      entry.peer_fp32_img_per_s = +(batch / peerFp32S).toFixed(2);
      entry.ratio_vs_peer_fp32_per_round = oursRounds.map((s, i) => +(peerFp32Rounds[i].step_s_median / s).toFixed(3));
      entry.ratio_vs_peer_fp32 = +midMedian(entry.ratio_vs_peer_fp32_per_round).toFixed(3);
    }
    entry.peer_torch = peerRounds[0].torch;
  }
  if (compiledRounds.length) {
    entry.peer_compile_step_s_median = midMedian(compiledRounds.map((p) => p.step_s_median));
    entry.ratio_compile_per_round = oursRounds.map((s, i) => +(compiledRounds[i].step_s_median / s).toFixed(3));
    entry.ratio_compile = +midMedian(entry.ratio_compile_per_round).toFixed(3);
  }
  return entry;
}

if (flags.threads !== undefined) setThreads(positive('threads', 1));
const info = runtimeInfo();
const results = [];
for (const name of configs) {
  const entry = await benchConfig(name, info.threads);
  console.log(JSON.stringify(entry));
  results.push(entry);
}
const summary = {
  bench: 'step', threads: info.threads, amp, gemm_engine: info.gemmEngine.engine, blas: info.blas.name, libtorch: info.libtorchVersion,
};
if (results.length > 1) {
  summary.img_per_s_by_config = Object.fromEntries(results.map((r) => [r.config, r.img_per_s]));
  if (flags.peer) summary.ratio_by_config = Object.fromEntries(results.map((r) => [r.config, r.ratio]));
}
// Top-level figures are the first config's; with several configs, `results` holds each one.
console.log(JSON.stringify(results.length === 1 ? { ...summary, ...results[0] } : { ...summary, ...results[0], results }));
