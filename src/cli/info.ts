// `mdistill info`: what the addon was built with and what it runs on.
import type { Command } from 'commander';
import { describePresets } from '../model/modelConfig.js';
import { fmaPeak, gemmBenchmark, isNativeError, runtimeInfo, setThreads, type RawGemmEngineInfo, type RuntimeInfo } from '../native/index.js';
import { parsePositiveInt } from './parse.js';

export interface InfoReport extends Omit<RuntimeInfo, 'parallelInfo'> {
  node: string;
  platform: string;
  warnings: string[];
  gemm?: { size: number; gflops: number };
  /** --bench: the CPU's float32 multiply-add ceiling (FMA chains on every thread), which no GEMM can pass; absent
   *  on a CPU without AVX2 and FMA (a warning says so). */
  fmaCeiling?: { gflops: number; kernel: string };
  /** The model presets (--model, --teacher-model), one line each. */
  models: string[];
}

export async function collectInfo(options: { threads?: number; bench?: boolean }): Promise<InfoReport> {
  if (options.threads !== undefined) setThreads(options.threads);
  const { parallelInfo: _parallel, ...info } = runtimeInfo();
  const warnings: string[] = [];
  if (info.blas.reference) {
    warnings.push(
      `the reference BLAS is loaded (${info.blas.libraries.join(', ')}): matmuls run ~15x slower. ` +
        'Install OpenBLAS: sudo apt-get install libopenblas0-openmp',
    );
  } else if (info.blas.name === 'unknown') {
    warnings.push('could not tell which BLAS is loaded');
  }
  if (info.gemmEngine.onednnCompiled && !info.gemmEngine.avx512) {
    warnings.push(
      `this CPU has no AVX-512 (oneDNN ISA ${info.gemmEngine.onednnIsa}): matrix products run on ${info.gemmEngine.engine === 'aten' ? 'ATen (OpenBLAS)' : 'oneDNN'} ` +
        "without its AVX-512 kernels, and --amp's bfloat16 products have no native support",
    );
  } else if (!info.gemmEngine.onednnCompiled) {
    warnings.push('the addon was built without oneDNN: matrix products run on ATen (OpenBLAS). Install libdnnl-dev and rebuild (npm run build:native)');
  } else if (!info.gemmEngine.bf16) {
    warnings.push(`this CPU has no AVX512_BF16 (oneDNN ISA ${info.gemmEngine.onednnIsa}): --amp's bfloat16 products are emulated and slower than float32`);
  }
  if (info.threads > 1 && info.parallelForThreads < info.threads) {
    warnings.push(
      `the addon's parallel loops ran on ${info.parallelForThreads} of ${info.threads} threads: it was built without the ` +
        "OpenMP runtime libtorch uses. Rebuild it with OpenMP (g++ -fopenmp; `npm run build:native` does this).",
    );
  }
  const report: InfoReport = { node: process.version, platform: `${process.platform}-${process.arch}`, ...info, warnings, models: describePresets() };
  if (options.bench) {
    const r = await gemmBenchmark(1024, 1);
    report.gemm = { size: r.size, gflops: Math.round(r.gflops * 10) / 10 };
    try {
      const ceiling = await fmaPeak({ dtype: 'float32', minSeconds: 0.3 });
      report.fmaCeiling = { gflops: Math.round(ceiling.gflops * 10) / 10, kernel: ceiling.kernel };
    } catch (e) {
      if (!isNativeError(e) || e.code !== 'MDISTILL_BAD_ARGUMENT') throw e;
      warnings.push(`no float32 multiply-add ceiling: ${e.message}`);  // a CPU without AVX2 and FMA
    }
  }
  return report;
}

function gemmLine(g: RawGemmEngineInfo): string {
  const onednn = g.onednnCompiled ? `oneDNN ${g.onednnVersion}, ISA ${g.onednnIsa}` : 'oneDNN not built in';
  return `${g.engine} (${g.reason}; ${onednn})`;
}

function printHuman(r: InfoReport): void {
  const rows: [string, string][] = [
    ['node', `${r.node} (${r.platform})`],
    ['addon', `built with ${r.buildSystem}, CUDA kernels ${r.cudaCompiled ? 'compiled' : 'not compiled'}`],
    ['libtorch', `${r.libtorchVersion} from ${r.torchSource} (C++11 ABI: ${r.cxx11Abi ? 'yes' : 'no'})`],
    ['CUDA', r.torchHasCuda ? `${r.cudaDevices.length} device(s): ${r.cudaDevices.join(', ') || 'none visible'}` : 'not available in this libtorch'],
    ['threads', `${r.threads} intra-op (the addon's own loops: ${r.parallelForThreads}), ${r.interopThreads} inter-op`],
    ['BLAS', `${r.blas.name}${r.blas.libraries.length ? ` (${r.blas.libraries[0]})` : ''}`],
    ['matmul', gemmLine(r.gemmEngine)],
    ['malloc', r.mallocTuning],
  ];
  if (r.gemm) rows.push(['GEMM', `${r.gemm.gflops} GFLOP/s at ${r.gemm.size}x${r.gemm.size} float32 (BLAS)`]);
  if (r.fmaCeiling) rows.push(['ceiling', `${r.fmaCeiling.gflops} GFLOP/s float32 multiply-adds (${r.fmaCeiling.kernel}, no memory traffic)`]);
  r.models.forEach((m, i) => rows.push([i === 0 ? 'models' : '', m]));
  for (const [k, v] of rows) console.log(`${k.padEnd(9)} ${v}`);
  for (const w of r.warnings) console.warn(`warning: ${w}`);
}

export function registerInfoCommand(program: Command): void {
  program
    .command('info')
    .description('report the native addon build, libtorch, CUDA devices, threads and BLAS, and list the model presets')
    .option('--json', 'print one JSON object')
    .option('--bench', "also time a 1024x1024 float32 GEMM for about a second, and the CPU's float32 multiply-add ceiling")
    .option('--threads <n>', 'intra-op threads (default: $MDISTILL_THREADS or all cores)', parsePositiveInt('--threads'))
    .action(async (opts: { json?: boolean; bench?: boolean; threads?: number }) => {
      const report = await collectInfo(opts);
      if (opts.json) console.log(JSON.stringify(report, null, 2));
      else printHuman(report);
    });
}
