// Data-parallel step throughput: 1 process versus 2 processes (Gloo over loopback), 1 intra-op thread each, the
// same per-process batch (so 2 processes train a global batch twice as large). Scaling efficiency =
// throughput(2) / (2 × throughput(1)). Runs alternate (1, 2, 1, 2, …) so load on the machine hits both alike.
// Each worker: a distillation step (student forward/backward, teacher inference, manifold loss, bucketed gradient
// all-reduce, AdamW) on fixed random images; the median step time after --warmup steps.
import { spawn } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { median, parseFlags } from './common.mjs';

const flags = parseFlags(process.argv.slice(2), { batch: '32', size: '32', steps: '12', warmup: '3', rounds: '2', global: false });
const num = (name) => Number(flags[name]);
const STUDENT = { patchSize: 4, embedDim: 96, depth: 4, numHeads: 3 };
const TEACHER = { patchSize: 4, embedDim: 192, depth: 4, numHeads: 3 };

async function worker() {
  const { resolveModel } = await import('../dist/model/modelConfig.js');
  const { NativeModel } = await import('../dist/model/nativeModel.js');
  const { NativeTrainer } = await import('../dist/train/nativeTrainer.js');
  const { setThreads } = await import('../dist/native/index.js');
  const { distEnvFrom } = await import('../dist/dist/distEnv.js');
  const { connectDist, SINGLE_PROCESS } = await import('../dist/dist/distContext.js');
  setThreads(1);
  const env = distEnvFrom();
  const dist = env ? await connectDist(env, { timeoutSeconds: 60, device: 'cpu' }) : SINGLE_PROCESS;
  const B = num('batch'), S = num('size');
  const common = { imgSize: S, inChans: 3, numClasses: 10 };
  const student = new NativeModel(resolveModel('deit_tiny_patch16_224', { ...STUDENT, ...common }), { seed: 1 });
  const teacher = new NativeModel(resolveModel('deit_small_patch16_224', { ...TEACHER, ...common }), { seed: 2 });
  const trainer = new NativeTrainer(student, teacher, null, {
    kd: 'soft', alpha: 0.5, beta: 1, tau: 1, wSample: 0.1, wPatch: 4, wRand: 0.2, K: 64, maxPatchNum: 0, manifoldImpl: 'fused',
    sIds: [0, 1, 2, 3], tIds: [0, 1, 2, 3], clipGrad: 0, emaDecay: 0, amp: false, seed: 0, weightDecay: 0.05,
  });
  const { SCHEMA } = await import('../dist/config/schema.js');
  if (dist.group) await trainer.attachProcessGroup(dist.group, { globalSampleManifold: flags.global === true, bucketMb: SCHEMA['bucket-cap-mb'].default });
  let seed = 99 + dist.rank;
  const images = new Float32Array(B * 3 * S * S).map(() => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32) - 0.5);
  const labels = Int32Array.from({ length: B }, (_, i) => i % 10);
  const times = [], sync = [];
  for (let i = 0; i < num('warmup') + num('steps'); i++) {
    const t0 = process.hrtime.bigint();
    const terms = await trainer.step({ images, shape: [B, 3, S, S], labels }, 1e-4, i);
    if (i >= num('warmup')) {
      times.push(Number(process.hrtime.bigint() - t0) / 1e9);
      sync.push(terms.syncSeconds);
    }
  }
  dist.close();
  if (dist.isMain) process.stdout.write(JSON.stringify({ stepSeconds: median(times), syncSeconds: median(sync) }) + '\n');
}

function run(world) {
  return new Promise((resolve, reject) => {
    const port = 29600 + Math.floor(Math.random() * 2000);
    const exits = [];
    let out = '';
    for (let rank = 0; rank < world; rank++) {
      const env = { ...process.env, MDISTILL_BENCH_WORKER: '1', MDISTILL_THREADS: '1' };
      if (world > 1) Object.assign(env, { RANK: String(rank), WORLD_SIZE: String(world), LOCAL_RANK: String(rank), LOCAL_WORLD_SIZE: String(world), MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port) });
      const child = spawn(process.execPath, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { env, stdio: ['ignore', 'pipe', 'inherit'] });
      child.stdout.on('data', (d) => (out += d));
      exits.push(new Promise((r) => child.on('exit', r)));
    }
    Promise.all(exits).then((codes) => {
      if (codes.some((c) => c !== 0)) reject(new Error(`a ${world}-process run failed: exit codes ${codes.join(', ')}`));
      else resolve(JSON.parse(out.trim().split('\n').at(-1)));
    });
  });
}

if (process.env.MDISTILL_BENCH_WORKER) {
  await worker();
} else {
  const one = [], two = [];
  for (let r = 0; r < num('rounds'); r++) {
    one.push(await run(1));
    two.push(await run(2));
  }
  const B = num('batch');
  const t1 = median(one.map((r) => r.stepSeconds)), t2 = median(two.map((r) => r.stepSeconds));
  const ips1 = B / t1, ips2 = (2 * B) / t2;
  const result = {
    bench: 'dist', backend: 'gloo', transport: 'loopback', cores: availableParallelism(), loadAverage1m: loadavg()[0], threadsPerProcess: 1, batchPerProcess: B, imageSize: num('size'),
    student: STUDENT, teacher: TEACHER, globalSampleManifold: flags.global === true,
    oneProcess: { stepSeconds: t1, imagesPerSecond: ips1, rounds: one.map((r) => r.stepSeconds) },
    // syncSeconds: rank 0's wait on collectives per step (metrics all-reduce + gradient buckets not yet done when
    // backward ends), which includes waiting for the slower rank.
    twoProcesses: { stepSeconds: t2, imagesPerSecond: ips2, syncSeconds: median(two.map((r) => r.syncSeconds)), rounds: two.map((r) => r.stepSeconds) },
    speedup: ips2 / ips1, scalingEfficiency: ips2 / (2 * ips1),
  };
  console.log(JSON.stringify(result));
}
