// Inference forward at 224 px, random weights, on CPU: ours (native addon) against a PyTorch eager peer, run in the
// same invocation. The machine may be shared, so ours and the peer alternate in rounds and the ratio is taken per
// round (then the median over rounds).
//   --model paper (default): the paper's student (DeiT-Tiny) and teacher (CaiT-S24); the peer is
//     shared/peer/torch_step.py with its own random weights.
//   --model swin: Swin-T; the peer is bench/swin_peer.py, timm's SwinTransformer as a plain PyTorch module, which
//     loads our weights strictly (timm's names) and reports how far its logits are from ours.
//   --amp (--model paper): ours runs a bfloat16 copy of the model (forward({amp: true}), as the step runs its
//     teacher), the peer runs under bf16 autocast (`ratio`, like for like) and also in float32 each round
//     (`ratio_vs_peer_fp32`).
//   npm run bench -- forward [--model paper|swin] [--batch 32] [--which student|teacher|both] [--amp] [--no-peer] [--warmup N] [--reps N] [--rounds N]
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeSafetensors } from '../dist/io/safetensors.js';
import { saveWeights } from '../dist/model/loadWeights.js';
import { MODEL_PRESETS } from '../dist/model/modelConfig.js';
import { NativeModel } from '../dist/model/nativeModel.js';
import { runtimeInfo } from '../dist/native/index.js';
import { median, parseFlags, peerPython, root, runPeer, runPython, timeReps } from './common.mjs';

const flags = parseFlags(process.argv.slice(2), { batch: '32', which: 'both', peer: true, model: 'paper', amp: false });
const amp = flags.amp === true;
const batch = Number(flags.batch);
if (!Number.isInteger(batch) || batch < 1) throw new Error(`--batch must be a positive integer, got ${flags.batch}`);
if (!['paper', 'swin'].includes(flags.model)) throw new Error(`--model must be paper or swin, got ${flags.model}`);
if (amp && flags.model === 'swin') throw new Error('--amp is measured with --model paper only (bench/swin_peer.py has no bf16 mode)');
if (!['student', 'teacher', 'both'].includes(flags.which)) throw new Error(`--which must be student, teacher or both, got ${flags.which}`);
const count = (name, fallback) => {
  if (flags[name] === undefined) return fallback;
  const n = Number(flags[name]);
  if (!Number.isInteger(n) || n < (name === 'warmup' ? 0 : 1)) throw new Error(`--${name} must be a ${name === 'warmup' ? 'non-negative' : 'positive'} integer, got ${flags[name]}`);
  return n;
};

// CaiT-S24 at batch 32 takes seconds per forward on a few cores: it gets fewer reps and one round by default.
const ROLES = {
  student: { preset: 'deit_tiny_patch16_224', warmup: 2, reps: 5, rounds: 3 },
  teacher: { preset: 'cait_s24_224', warmup: 1, reps: 3, rounds: 1 },
  swin: { preset: 'swin_tiny_patch4_window7_224', warmup: 2, reps: 5, rounds: 3 },
};

/** Seeded inputs, so every invocation times the same images. */
function randomInput(n, seed = 1) {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32) * 2 - 1;
  });
}

const info = runtimeInfo();
const results = {};
const roles = flags.model === 'swin' ? ['swin'] : flags.which === 'both' ? ['student', 'teacher'] : [flags.which];
for (const which of roles) {
  const role = ROLES[which];
  const warmup = count('warmup', role.warmup);
  const reps = count('reps', role.reps);
  const rounds = count('rounds', role.rounds);
  const config = MODEL_PRESETS[role.preset];
  const model = new NativeModel(config, { seed: 0 });
  const shape = [batch, config.inChans, config.imgSize, config.imgSize];
  const input = randomInput(shape.reduce((a, b) => a * b, 1));
  let peerRun;
  let scratch;
  if (flags.peer && which === 'swin') {
    // The peer gets our weights and input, and our logits to compare with.
    scratch = mkdtempSync(path.join(os.tmpdir(), 'mdistill-bench-forward-'));
    const weights = path.join(scratch, 'weights.safetensors');
    const io = path.join(scratch, 'io.safetensors');
    await saveWeights(model, weights);
    const logits = (await model.forward(input, shape)).logits;
    await writeSafetensors(io, new Map([
      ['input', { dtype: 'F32', shape, data: input }],
      ['logits', { dtype: 'F32', shape: [batch, config.numClasses], data: logits }],
    ]));
    const script = path.join(root, 'bench', 'swin_peer.py');
    peerRun = () => runPython(script, ['--weights', weights, '--io', io, '--warmup', String(warmup), '--steps', String(reps), '--threads', String(info.threads)]);
  } else if (flags.peer) {
    peerRun = (peerAmp) => runPeer(['--mode', 'forward', '--which', which, '--config', 'paper224', '--batch', String(batch),
      '--warmup', String(warmup), '--steps', String(reps), '--threads', String(info.threads), ...(peerAmp ? ['--amp'] : [])]);
  }
  const ours = [];
  const peer = [];
  const peerFp32 = [];
  try {
    for (let r = 0; r < rounds; r++) {
      ours.push(median(await timeReps(() => model.forward(input, shape, { amp }), { warmup, reps })));
      if (peerRun) peer.push(peerRun(amp));
      if (peerRun && amp) peerFp32.push(peerRun(false));
    }
  } finally {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }
  const oursS = median(ours);
  const entry = { model: role.preset, batch, amp, warmup, reps, rounds, ours: { forward_s_median: +oursS.toFixed(4), img_per_s: +(batch / oursS).toFixed(2) } };
  if (peerRun) {
    const peerS = median(peer.map((p) => p.forward_s_median));
    entry.peer = { forward_s_median: peerS, img_per_s: +(batch / peerS).toFixed(2), torch: peer[0].torch, python: peerPython() };
    if (peer[0].max_abs_diff_vs_ours !== undefined) entry.peer.max_abs_diff_vs_ours = Math.max(...peer.map((p) => p.max_abs_diff_vs_ours));
    entry.ratio_per_round = ours.map((s, i) => +(peer[i].forward_s_median / s).toFixed(3));
    entry.ratio = median(entry.ratio_per_round);
    if (amp) {
      const peerFp32S = median(peerFp32.map((p) => p.forward_s_median));
      entry.peer_fp32 = { forward_s_median: peerFp32S, img_per_s: +(batch / peerFp32S).toFixed(2) };
      entry.ratio_vs_peer_fp32_per_round = ours.map((s, i) => +(peerFp32[i].forward_s_median / s).toFixed(3));
      entry.ratio_vs_peer_fp32 = median(entry.ratio_vs_peer_fp32_per_round);
    }
  }
  console.log(JSON.stringify({ which, ...entry }));
  results[which] = entry;
}
console.log(JSON.stringify({ bench: 'forward', model: flags.model, threads: info.threads, amp, gemm_engine: info.gemmEngine.engine, libtorch: info.libtorchVersion, load_average: os.loadavg().map((l) => +l.toFixed(2)), results }));
