// The models' matrix products on each engine, float32 and bfloat16: oneDNN's matmul primitive (what the models run
// by default), OpenBLAS through at::mm (float32; what MDISTILL_GEMM=aten runs: per matrix for the batched ones) and
// ATen's own choice for bfloat16 (at::mm / at::bmm, which send bfloat16 to libtorch's oneDNN). GFLOP/s per shape and
// engine; the best oneDNN figures are the peaks `step` divides by (bench/gemmShapes.mjs). Also the CPU's own
// multiply-add ceiling per dtype (fma_peak_gflops: FMA / bf16 dot-product chains, nothing from memory) and each
// engine's best figure as a fraction of it (peak_fraction_of_fma).
//   npm run bench -- gemm [--seconds 0.3] [--threads N] [--dtype float32|bfloat16] [--engine onednn|openblas|aten]
import { GEMM_SHAPES, fmaCeiling } from './gemmShapes.mjs';
import { gemmShapeBenchmark, runtimeInfo, setThreads } from '../dist/native/index.js';
import { parseFlags } from './common.mjs';

const flags = parseFlags(process.argv.slice(2), { seconds: '0.3' });
const seconds = Number(flags.seconds);
if (!(seconds > 0 && seconds <= 60)) throw new Error(`--seconds must be in (0, 60], got ${flags.seconds}`);
if (flags.threads !== undefined) {
  const n = Number(flags.threads);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--threads must be a positive integer, got ${flags.threads}`);
  setThreads(n);
}
const info = runtimeInfo();
const PAIRS = [
  ['onednn', 'float32'], ['openblas', 'float32'], ['onednn', 'bfloat16'], ['aten', 'bfloat16'],
].filter(([engine, dtype]) => (engine !== 'onednn' || info.gemmEngine.onednnCompiled) &&
  (flags.dtype === undefined || flags.dtype === dtype) && (flags.engine === undefined || flags.engine === engine));
if (PAIRS.length === 0) throw new Error('--dtype/--engine leave nothing to measure (engines: onednn, openblas, aten; dtypes: float32, bfloat16)');

const results = [];
const peaks = {};
for (const s of GEMM_SHAPES) {
  const entry = { shape: s.name, batch: s.batch, m: s.m, k: s.k, n: s.n, gflops: {}, implementation: {} };
  for (const [engine, dtype] of PAIRS) {
    const key = `${engine}_${dtype}`;
    const r = await gemmShapeBenchmark({ batch: s.batch, m: s.m, k: s.k, n: s.n, dtype, engine, minSeconds: seconds });
    entry.gflops[key] = +r.gflops.toFixed(1);
    entry.implementation[key] = r.implementation;
    if (!peaks[key] || r.gflops > peaks[key].gflops) peaks[key] = { gflops: +r.gflops.toFixed(1), shape: s.name };
  }
  console.log(JSON.stringify(entry));
  results.push(entry);
}
const fma = {};
for (const dtype of new Set(PAIRS.map(([, d]) => d))) fma[dtype] = await fmaCeiling(dtype);
const fractions = Object.fromEntries(Object.entries(peaks).filter(([key]) => fma[key.split('_')[1]])
  .map(([key, p]) => [key, +(p.gflops / fma[key.split('_')[1]].gflops).toFixed(3)]));
console.log(JSON.stringify({
  bench: 'gemm', threads: info.threads, blas: info.blas.name, onednn: info.gemmEngine.onednnVersion || null,
  isa: info.gemmEngine.onednnIsa || null, seconds, peak_gflops: peaks,
  fma_peak_gflops: Object.fromEntries(Object.entries(fma).map(([d, f]) => [d, f && f.gflops])),
  fma_kernel: Object.fromEntries(Object.entries(fma).map(([d, f]) => [d, f && f.kernel])),
  peak_fraction_of_fma: fractions, results,
}));
