// The matrix products of the benchmarked models, and the GEMM peak the step benchmark divides by: the best oneDNN
// figure over these shapes (float32, or bfloat16 under --amp). Each shape is out [batch, m, n] = a [batch, m, k] · bᵀ
// with b a contiguous [batch, n, k], as a Linear reads its weight and attention reads k.
import { fmaPeak, gemmShapeBenchmark, runtimeInfo } from '../dist/native/index.js';

export const GEMM_SHAPES = [
  // The issue's table: DeiT-Tiny fc1 and fc2 at 224 px, batch 8 (1576 tokens); CaiT-S24's qkv; a large square-ish one.
  { name: 'deit_tiny fc1 (paper224, B 8)', batch: 1, m: 1576, k: 192, n: 768 },
  { name: 'deit_tiny fc2 (paper224, B 8)', batch: 1, m: 1576, k: 768, n: 192 },
  { name: 'cait_s24 qkv (paper224, B 8)', batch: 1, m: 1576, k: 384, n: 1152 },
  { name: '4096x1024x1024', batch: 1, m: 4096, k: 1024, n: 1024 },
  // The small config: a DeiT-Tiny-width student and a DeiT-Small-width teacher on 28 px, batch 64 (3200 tokens).
  { name: 'deit_tiny qkv (small, B 64)', batch: 1, m: 3200, k: 192, n: 576 },
  { name: 'deit_small fc1 (small, B 64)', batch: 1, m: 3200, k: 384, n: 1536 },
  // Attention's batched products, one matrix per (image, head): q·kᵀ and attn·v.
  { name: 'deit_tiny q·kᵀ (paper224, B 8)', batch: 24, m: 197, k: 64, n: 197 },
  { name: 'deit_tiny attn·v (paper224, B 8)', batch: 24, m: 197, k: 197, n: 64 },
  { name: 'cait_s24 q·kᵀ (paper224, B 8)', batch: 64, m: 196, k: 48, n: 196 },
  { name: 'cait_s24 attn·v (paper224, B 8)', batch: 64, m: 196, k: 196, n: 48 },
  { name: 'deit_tiny q·kᵀ (small, B 64)', batch: 192, m: 50, k: 64, n: 50 },
];

/** oneDNN when the addon has it, else OpenBLAS (float32) / ATen (bfloat16): the engine whose best figure is the peak. */
export function peakEngine(dtype) {
  if (runtimeInfo().gemmEngine.onednnCompiled) return 'onednn';
  return dtype === 'float32' ? 'openblas' : 'aten';
}

/** The best GFLOP/s over GEMM_SHAPES on one engine and dtype, each shape timed for minSeconds. */
export async function gemmPeak(dtype, minSeconds = 0.2) {
  const engine = peakEngine(dtype);
  let best = { gflops: 0, shape: '' };
  for (const s of GEMM_SHAPES) {
    const r = await gemmShapeBenchmark({ batch: s.batch, m: s.m, k: s.k, n: s.n, dtype, engine, minSeconds });
    if (r.gflops > best.gflops) best = { gflops: r.gflops, shape: s.name };
  }
  return { engine, dtype, ...best };
}

/** The CPU's multiply-add ceiling for a dtype (native/diagnostics/fma_peak.h), the best of `runs` (a shared machine
 *  only ever slows it down); null when the CPU lacks the instructions (bfloat16 without AVX512_BF16). */
export async function fmaCeiling(dtype, runs = 3, minSeconds = 0.2) {
  let best = null;
  for (let i = 0; i < runs; i++) {
    let r;
    try {
      r = await fmaPeak({ dtype, minSeconds });
    } catch (e) {
      if (e.code === 'MDISTILL_BAD_ARGUMENT') return null;
      throw e;
    }
    if (!best || r.gflops > best.gflops) best = r;
  }
  return { gflops: +best.gflops.toFixed(1), kernel: best.kernel };
}
