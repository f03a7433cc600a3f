// Inference forward of the paper's student (DeiT-Tiny) and teacher (CaiT-S24) at 224 px, random weights, on CPU:
// ours (native addon) against the PyTorch eager peer, run in the same invocation. The machine may be shared, so
// ours and the peer alternate in rounds and the ratio is taken per round (then the median over rounds).
//   npm run bench -- forward [--batch 32] [--which student|teacher|both] [--amp] [--no-peer] [--warmup N] [--reps N] [--rounds N]
// --amp: ours runs a bfloat16 copy of the model (forward({amp: true}), as the step runs its teacher), the peer runs
// under bf16 autocast (`ratio`, like for like) and also in float32 each round (`ratio_vs_peer_fp32`).
import { MODEL_PRESETS } from '../dist/model/modelConfig.js';
import { NativeModel } from '../dist/model/nativeModel.js';
import { runtimeInfo } from '../dist/native/index.js';
import { median, parseFlags, runPeer, timeReps } from './common.mjs';

const flags = parseFlags(process.argv.slice(2), { batch: '32', which: 'both', peer: true, amp: false });
const amp = flags.amp === true;
const batch = Number(flags.batch);
if (!Number.isInteger(batch) || batch < 1) throw new Error(`--batch must be a positive integer, got ${flags.batch}`);
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
};

const info = runtimeInfo();
const results = {};
for (const which of flags.which === 'both' ? ['student', 'teacher'] : [flags.which]) {
  const role = ROLES[which];
  const warmup = count('warmup', role.warmup);
  const reps = count('reps', role.reps);
  const rounds = count('rounds', role.rounds);
  const config = MODEL_PRESETS[role.preset];
  const model = new NativeModel(config, { seed: 0 });
  const shape = [batch, config.inChans, config.imgSize, config.imgSize];
  const input = new Float32Array(shape.reduce((a, b) => a * b, 1)).map(() => Math.random() * 2 - 1);
  const ours = [];
  const peer = [];
  const peerFp32 = [];
  for (let r = 0; r < rounds; r++) {
    ours.push(median(await timeReps(() => model.forward(input, shape, { amp }), { warmup, reps })));
    if (flags.peer) {
      const peerArgs = ['--mode', 'forward', '--which', which, '--config', 'paper224', '--batch', String(batch),
        '--warmup', String(warmup), '--steps', String(reps), '--threads', String(info.threads)];
      peer.push(runPeer(amp ? [...peerArgs, '--amp'] : peerArgs));
      if (amp) peerFp32.push(runPeer(peerArgs));
    }
  }
  const oursS = median(ours);
  const entry = { model: role.preset, batch, amp, warmup, reps, rounds, ours: { forward_s_median: +oursS.toFixed(4), img_per_s: +(batch / oursS).toFixed(2) } };
  if (flags.peer) {
    const peerS = median(peer.map((p) => p.forward_s_median));
    entry.peer = { forward_s_median: peerS, img_per_s: +(batch / peerS).toFixed(2), torch: peer[0].torch };
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
console.log(JSON.stringify({ bench: 'forward', threads: info.threads, amp, gemm_engine: info.gemmEngine.engine, libtorch: info.libtorchVersion, results }));
