// Inference forward of the paper's student (DeiT-Tiny) and teacher (CaiT-S24) at 224 px, random weights, on CPU:
// ours (native addon) against the PyTorch eager peer, run in the same invocation.
//   npm run bench -- forward [--batch 32] [--which student|teacher|both] [--no-peer] [--warmup N] [--reps N]
import { MODEL_PRESETS } from '../dist/model/modelConfig.js';
import { NativeModel } from '../dist/model/nativeModel.js';
import { runtimeInfo } from '../dist/native/index.js';
import { median, parseFlags, runPeer, timeReps } from './common.mjs';

const flags = parseFlags(process.argv.slice(2), { batch: '32', which: 'both', peer: true });
const batch = Number(flags.batch);
if (!Number.isInteger(batch) || batch < 1) throw new Error(`--batch must be a positive integer, got ${flags.batch}`);
if (!['student', 'teacher', 'both'].includes(flags.which)) throw new Error(`--which must be student, teacher or both, got ${flags.which}`);

// CaiT-S24 at batch 32 takes seconds per forward on a few cores: it gets fewer reps by default.
const ROLES = {
  student: { preset: 'deit_tiny_patch16_224', warmup: 2, reps: 5 },
  teacher: { preset: 'cait_s24_224', warmup: 1, reps: 3 },
};

const info = runtimeInfo();
const results = {};
for (const which of flags.which === 'both' ? ['student', 'teacher'] : [flags.which]) {
  const role = ROLES[which];
  const warmup = flags.warmup !== undefined ? Number(flags.warmup) : role.warmup;
  const reps = flags.reps !== undefined ? Number(flags.reps) : role.reps;
  const config = MODEL_PRESETS[role.preset];
  const model = new NativeModel(config, { seed: 0 });
  const shape = [batch, config.inChans, config.imgSize, config.imgSize];
  const input = new Float32Array(shape.reduce((a, b) => a * b, 1)).map(() => Math.random() * 2 - 1);
  const times = await timeReps(() => model.forward(input, shape), { warmup, reps });
  const ours = { forward_s_median: +median(times).toFixed(4), img_per_s: +(batch / median(times)).toFixed(2) };
  const entry = { model: role.preset, batch, warmup, reps, ours };
  if (flags.peer) {
    const peer = runPeer(['--mode', 'forward', '--which', which, '--config', 'paper224', '--batch', String(batch),
      '--warmup', String(warmup), '--steps', String(reps), '--threads', String(info.threads)]);
    entry.peer = peer;
    entry.ratio = +(ours.img_per_s / peer.img_per_s).toFixed(3);
  }
  console.log(JSON.stringify({ which, ...entry }));
  results[which] = entry;
}
console.log(JSON.stringify({ bench: 'forward', threads: info.threads, libtorch: info.libtorchVersion, results }));
