#!/usr/bin/env node
// The Node side of the GPU check (scripts/gpu/check.sh runs each check in a process of its own, so one crash or
// hang costs only that check). Each prints one JSON object with "ok" and its figures, and exits 1 when not ok.
//   node scripts/gpu/checks.mjs forward --device cuda --fixtures ../shared/fixtures   (b) forward parity
//   node scripts/gpu/checks.mjs step --device cuda                                    (d) one fp32 step, CUDA vs CPU
//   node scripts/gpu/checks.mjs amp --device cuda [--batch 32]                        (e) 20 bf16-autocast steps
// With --device cpu (check.sh --dry-run) the same code runs with the CPU in the device's place.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildOnnxModel } from '../../dist/export/onnxModel.js';
import { readSafetensors, toFloat32 } from '../../dist/io/safetensors.js';
import { loadWeightsFile, modelFromWeightsFile, saveWeights, stateDictOf } from '../../dist/model/loadWeights.js';
import { resolveModel } from '../../dist/model/modelConfig.js';
import { NativeModel } from '../../dist/model/nativeModel.js';
import { runtimeInfo } from '../../dist/native/index.js';
import { NativeTrainer } from '../../dist/train/nativeTrainer.js';

const [check, ...rest] = process.argv.slice(2);
const flags = {};
for (let i = 0; i < rest.length; i += 2) flags[rest[i].replace(/^--/, '')] = rest[i + 1];
const device = flags.device ?? 'cuda';

/** max |a - b| over two equally long arrays. */
function maxAbsDiff(a, b) {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
const maxAbs = (a) => a.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
const rel = (got, want) => Math.abs(got - want) / Math.max(Math.abs(want), 1e-30);
const sig = (x) => Number(x.toPrecision(3));

// ---- (b) forward parity on the shared fixtures: the device's forward against the CPU's and against timm.
// 1e-4 is the CPU's own tolerance against timm (test/model/parity.test.ts); cuBLAS fp32 GEMMs (TF32 is off unless
// a program turns it on, and mdistill never does) sum in another order than OpenBLAS, which stays far below it.
async function forward() {
  const tolerance = 1e-4;
  const fixtures = flags.fixtures;
  const models = {};
  let ok = true;
  for (const name of ['vit_tiny_gray28', 'deit_distilled_32', 'cait_32']) {
    const file = path.join(fixtures, `${name}.model.safetensors`);
    const io = await readSafetensors(path.join(fixtures, `${name}.io.safetensors`));
    const inputEntry = io.tensors.get('input');
    const input = toFloat32(inputEntry, 'input');
    const onCpu = await modelFromWeightsFile(file, { device: 'cpu' });
    const onDevice = await modelFromWeightsFile(file, { device });
    const blocks = Array.from({ length: onCpu.config.depth }, (_, i) => i);
    const cpu = await onCpu.forward(input, inputEntry.shape, { blocks });
    const dev = await onDevice.forward(input, inputEntry.shape, { blocks });
    const vsCpu = Math.max(maxAbsDiff(dev.logits, cpu.logits), ...dev.blocks.map((b, i) => maxAbsDiff(b.data, cpu.blocks[i].data)));
    const vsTimm = maxAbsDiff(dev.logits, toFloat32(io.tensors.get('logits'), 'logits'));
    models[name] = { max_abs_vs_cpu: sig(vsCpu), logits_max_abs_vs_timm: sig(vsTimm) };
    ok &&= vsCpu <= tolerance && vsTimm <= tolerance;
    if (name === 'vit_tiny_gray28') {
      // Autograd through the device's model with an upstream gradient from the host (model.parameterGradients).
      const upstream = Float32Array.from(cpu.logits, (_, i) => Math.sin(i));
      const gc = await onCpu.parameterGradients(input, inputEntry.shape, upstream);
      const gd = await onDevice.parameterGradients(input, inputEntry.shape, upstream);
      const gradRel = worstTensorRel(gd, gc);
      models[name].parameter_gradients_rel_vs_cpu = sig(gradRel);
      ok &&= gradRel <= tolerance;
    }
  }
  return { ok, tolerance, models };
}

// ---- a small distillation setup: DeiT-Tiny from DeiT-Small at 28x28, patch 4 (50 tokens), as bench step's 'small'.
const SMALL = { imgSize: 28, patchSize: 4, inChans: 1, numClasses: 10 };
const OPTIONS = {
  kd: 'soft', alpha: 0.5, beta: 1, tau: 1, wSample: 0.1, wPatch: 4, wRand: 0.2, K: 64, maxPatchNum: 0, manifoldImpl: 'fused',
  sIds: [0, 1, 10, 11], tIds: [0, 1, 10, 11], clipGrad: 5, emaDecay: 0.99, seed: 3, weightDecay: 0.05,
};

function batchOf(size, seed) {
  let s = seed >>> 0;
  const next = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const shape = [size, SMALL.inChans, SMALL.imgSize, SMALL.imgSize];
  const images = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => next() * 2 - 1);
  const labels = Int32Array.from({ length: size }, () => Math.floor(next() * SMALL.numClasses));
  return { images, shape, labels };
}

/** Student, teacher and EMA on `where`, initialised from fixed seeds (on the CPU, then moved: the same numbers). */
function setup(where, amp) {
  const student = new NativeModel(resolveModel('deit_tiny_patch16_224', SMALL), { seed: 1, device: where });
  const teacher = new NativeModel(resolveModel('deit_small_patch16_224', SMALL), { seed: 2, device: where });
  const ema = new NativeModel(resolveModel('deit_tiny_patch16_224', SMALL), { seed: 1, device: where });
  const trainer = new NativeTrainer(student, teacher, ema, { ...OPTIONS, amp });
  trainer.resetEma();
  return { student, teacher, ema, trainer };
}

/** Per tensor: max |a - b| over max |b| (0/0 counts as 0), the worst over the list. */
function worstTensorRel(a, b) {
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const scale = maxAbs(b[i].data);
    const d = maxAbsDiff(a[i].data, b[i].data);
    worst = Math.max(worst, scale === 0 ? d : d / scale);
  }
  return worst;
}

// ---- (d) one fp32 step on the device against the same step on the CPU.
// Tolerances, from fp32 rounding (u = 2^-24 ≈ 6e-8): every value passes through ~10 reductions per block (LayerNorm,
// GEMMs of length ≤ 4·192, softmax) over 12 blocks; summed in different orders, each adds a relative error of about
// √n·u ≤ √768·u ≈ 1.7e-6, and 120 of them accumulate like a random walk to √120·1.7e-6 ≈ 2e-5. A factor 5 for the
// backward pass's longer chains gives 1e-4, relative, for the loss terms, the gradient norm and the gradient itself
// (AdamW's exp_avg after one step is 0.1 × the clipped gradient). The weights take lr·g/(|g| + 1e-8) in AdamW's
// first step: within (−lr, lr) whatever g is, so two correct runs differ by at most 2·lr per weight (a gradient
// entry whose sign rounding decides), and the EMA by (1 − decay) of that.
async function step() {
  const tolerance = 1e-4;
  const lr = 1e-3;
  const batch = batchOf(16, 7);
  const runs = [];
  for (const where of ['cpu', device]) {
    const s = setup(where, false);
    runs.push({ ...s, terms: await s.trainer.step(batch, lr, 0) });
  }
  const [cpu, dev] = runs;
  const termRel = Math.max(...['total', 'base', 'kd', 'sample', 'patch', 'rand'].map((k) => rel(dev.terms[k], cpu.terms[k])));
  const gradNormRel = rel(dev.terms.gradNorm, cpu.terms.gradNorm);
  const moments = (t) => [...t.optimizerState().tensors].filter(([n]) => n.startsWith('exp_avg.')).map(([, e]) => e);
  const gradRel = worstTensorRel(moments(dev.trainer), moments(cpu.trainer));
  const weightDiff = (a, b) => Math.max(...a.getWeights().map((w, i) => maxAbsDiff(w.data, b.getWeights()[i].data)));
  const studentDiff = weightDiff(dev.student, cpu.student);
  const emaDiff = weightDiff(dev.ema, cpu.ema);
  let moved = 0;
  let total = 0;
  const cpuWeights = cpu.student.getWeights();
  for (const [i, w] of dev.student.getWeights().entries()) {
    for (let j = 0; j < w.data.length; j++) if (Math.abs(w.data[j] - cpuWeights[i].data[j]) > 1e-3 * lr) moved++;
    total += w.data.length;
  }
  // The device's weights leave through getWeights (copies to the CPU): a checkpoint round trip and an ONNX export
  // from them, against a CPU model that holds the same weights.
  const dir = mkdtempSync(path.join(tmpdir(), 'mdistill-gpu-check-'));
  let roundTrip;
  let onnxSame;
  let exportForward;
  try {
    const file = path.join(dir, 'model.safetensors');
    await saveWeights(dev.student, file);
    const reloaded = new NativeModel(dev.student.config, { device: 'cpu' });
    await loadWeightsFile(reloaded, file);
    roundTrip = weightDiff(reloaded, dev.student);
    const fromDevice = buildOnnxModel(dev.student.config, stateDictOf(dev.student));
    const fromCpu = buildOnnxModel(reloaded.config, stateDictOf(reloaded));
    onnxSame = fromDevice.length === fromCpu.length && fromDevice.every((b, i) => b === fromCpu[i]);
    const probe = batchOf(4, 11);
    exportForward = maxAbsDiff((await dev.student.forward(probe.images, probe.shape)).logits, (await reloaded.forward(probe.images, probe.shape)).logits);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const ok = termRel <= tolerance && gradNormRel <= tolerance && gradRel <= tolerance && studentDiff <= 2 * lr &&
    emaDiff <= 2 * lr * (1 - OPTIONS.emaDecay) + 1e-7 && roundTrip === 0 && onnxSame && exportForward <= 1e-4;
  return {
    ok, tolerance: { relative: tolerance, weights_abs: 2 * lr, ema_abs: 2 * lr * (1 - OPTIONS.emaDecay) },
    loss_total: { cpu: cpu.terms.total, device: dev.terms.total }, terms_rel: sig(termRel), grad_norm_rel: sig(gradNormRel),
    gradient_rel: sig(gradRel), weights_max_abs: sig(studentDiff), ema_max_abs: sig(emaDiff),
    weights_differing_over_1e3th_lr: `${moved}/${total}`, checkpoint_round_trip_max_abs: roundTrip,
    onnx_identical_to_cpu_export: onnxSame, reloaded_forward_max_abs: sig(exportForward),
  };
}

// ---- (e) 20 steps under bf16 autocast on one batch: every loss finite, and the last five below the first five.
async function amp() {
  const { trainer } = setup(device, true);
  const batch = batchOf(Number(flags.batch ?? 32), 5);
  const losses = [];
  for (let i = 0; i < 20; i++) losses.push((await trainer.step(batch, 1e-3, i)).total);
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const first = mean(losses.slice(0, 5));
  const last = mean(losses.slice(-5));
  return { ok: losses.every(Number.isFinite) && last < first, first5_mean: sig(first), last5_mean: sig(last), losses: losses.map(sig) };
}

const checks = { forward, step, amp };
if (!(check in checks)) {
  console.error(`usage: checks.mjs <${Object.keys(checks).join('|')}> --device cuda|cpu [--fixtures DIR]`);
  process.exit(2);
}
try {
  const info = runtimeInfo();
  const result = { check, device, libtorch: info.libtorchVersion, cuda_compiled: info.cudaCompiled, ...(await checks[check]()) };
  console.log(JSON.stringify(result));
  process.exit(result.ok ? 0 : 1);
} catch (err) {
  console.log(JSON.stringify({ check, device, ok: false, error: `${err.code ?? ''} ${err.message}`.trim() }));
  process.exit(1);
}
