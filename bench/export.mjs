// `npm run bench -- export [--model deit_tiny_patch16_224] [--batch 8] [--threads N] [--reps 5] [--no-peer]`
// Times the ONNX export (fp32 and --fp16) of a full-size preset with random weights, then onnxruntime's CPU
// inference of the export against the PyTorch peer's eager forward of the same DeiT-Tiny (paper224 student),
// in the same invocation. The last line is one JSON object.
import os from 'node:os';
import * as ort from 'onnxruntime-node';
import { buildOnnxModel } from '../dist/export/onnxModel.js';
import { resolveModel } from '../dist/model/modelConfig.js';
import { timmStateShapes } from '../dist/model/timmStateShapes.js';
import { median, parseFlags, runPeer, timeReps } from './common.mjs';

const flags = parseFlags(process.argv.slice(2), { model: 'deit_tiny_patch16_224', batch: '8', threads: String(os.cpus().length), reps: '5', peer: true });
const batch = Number(flags.batch);
const threads = Number(flags.threads);
const reps = Number(flags.reps);
const config = resolveModel(flags.model);

const state = new Map();
let seed = 1;
for (const [name, shape] of timmStateShapes(config)) {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = Math.sin(seed++ * 12.9898) * 0.02 + (name.endsWith('norm1.weight') || name.endsWith('norm2.weight') || name === 'norm.weight' ? 1 : 0);
  state.set(name, { dtype: 'F32', shape, data });
}

const result = { benchmark: 'export', model: flags.model, batch, threads };
for (const fp16 of [false, true]) {
  let bytes;
  const times = await timeReps(() => { bytes = buildOnnxModel(config, state, { fp16 }); }, { warmup: 1, reps: 3 });
  result[fp16 ? 'export_fp16_s' : 'export_fp32_s'] = Number(median(times).toFixed(3));
  result[fp16 ? 'onnx_fp16_mb' : 'onnx_fp32_mb'] = Number((bytes.length / 1e6).toFixed(1));
  if (!fp16) result.onnxBytes = bytes;
}

const session = await ort.InferenceSession.create(result.onnxBytes, { intraOpNumThreads: threads, interOpNumThreads: 1 });
delete result.onnxBytes;
const image = [config.inChans, config.imgSize, config.imgSize];
const input = new ort.Tensor('float32', Float32Array.from({ length: batch * image.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i)), [batch, ...image]);
const ortTimes = await timeReps(() => session.run({ pixel_values: input }), { warmup: 2, reps });
await session.release();
result.ort_forward_s_median = Number(median(ortTimes).toFixed(4));
result.ort_img_per_s = Number((batch / median(ortTimes)).toFixed(2));

if (flags.peer && flags.model === 'deit_tiny_patch16_224') {
  const peer = runPeer(['--mode', 'forward', '--which', 'student', '--config', 'paper224', '--batch', String(batch), '--threads', String(threads), '--steps', String(reps)]);
  result.peer_forward_s_median = peer.forward_s_median;
  result.peer_img_per_s = peer.img_per_s;
  result.ort_vs_peer_speedup = Number((result.ort_img_per_s / peer.img_per_s).toFixed(2));
} else if (flags.peer) {
  result.peer = 'skipped: the peer\'s forward is DeiT-Tiny only (paper224 student)';
}
console.log(JSON.stringify(result));
