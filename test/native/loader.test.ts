import { availableParallelism } from 'node:os';
import { capAtCores } from '../../src/native/threadCap.js';
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { packageRoot } from '../../src/io/packageRoot.js';
import { AddonLoadError, classifyLoadFailure, defaultAddonCandidates, loadAddonFrom } from '../../src/native/loader.js';
import { classifyBlas, detectLoadedBlas } from '../../src/native/blas.js';
import { defaultThreads } from '../../src/native/index.js';

describe('addon loader', () => {
  it('lists every attempt with its reason and remedy when nothing loads', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mdistill-loader-'));
    const garbage = path.join(dir, 'garbage.node');
    writeFileSync(garbage, 'this is not an ELF file, it is long enough to have a header\n'.repeat(20));
    const missing = path.join(dir, 'missing.node');
    let err: unknown;
    try {
      loadAddonFrom([missing, garbage]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AddonLoadError);
    const loadError = err as AddonLoadError;
    expect(loadError.attempts.map((a) => a.kind)).toEqual(['not-built', 'wrong-architecture']);
    expect(loadError.message).toContain(missing);
    expect(loadError.message).toContain(garbage);
    expect(loadError.message).toContain('npm run build:native');
  });

  it('searches $MDISTILL_ADDON first, then Release, then Debug', () => {
    const c = defaultAddonCandidates({ MDISTILL_ADDON: '/opt/x/mdistill.node' });
    expect(c[0]).toBe('/opt/x/mdistill.node');
    expect(c[1]).toMatch(/build\/Release\/mdistill\.node$/);
    expect(c[2]).toMatch(/build\/Debug\/mdistill\.node$/);
    // The loader finds build/ on its own; it must be the package's, where cmake-js builds.
    expect(c[1]).toBe(path.join(packageRoot, 'build', 'Release', 'mdistill.node'));
  });

  it.each([
    ['libtorch_cpu.so: cannot open shared object file: No such file or directory', 'libtorch-missing', 'libtorch-dev'],
    ['libc10.so: cannot open shared object file: No such file or directory', 'libtorch-missing', 'MDISTILL_LIBTORCH'],
    ['libgomp.so.1: cannot open shared object file: No such file or directory', 'shared-library-missing', 'libgomp.so.1'],
    ['/x/mdistill.node: undefined symbol: _ZN3c105ErrorC1ENS_14SourceLocationESs', 'abi-mismatch', '_GLIBCXX_USE_CXX11_ABI'],
    ["/lib/x86_64-linux-gnu/libstdc++.so.6: version `GLIBCXX_3.4.32' not found", 'glibc-mismatch', 'rebuild'],
    ["/lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.38' not found", 'glibc-mismatch', 'rebuild'],
    ['was compiled against a different Node.js version using NODE_MODULE_VERSION 115', 'node-abi-mismatch', 'rebuild'],
  ])('classifies %s', (message, kind, remedyWord) => {
    const c = classifyLoadFailure(message);
    expect(c.kind).toBe(kind);
    expect(c.remedy).toContain(remedyWord);
  });
});

describe('thread defaults', () => {
  it('uses MDISTILL_THREADS when set and names it when invalid', () => {
    // (at most the cores: see the cap below)
    const n = Math.min(3, availableParallelism());
    expect(defaultThreads({ MDISTILL_THREADS: String(n) })).toBe(n);
    expect(() => defaultThreads({ MDISTILL_THREADS: '0' })).toThrow(/MDISTILL_THREADS must be a positive integer, got '0'/);
  });

  it('caps MDISTILL_THREADS and --threads at the cores, with a warning naming the setting', () => {
    const cores = availableParallelism();
    const warnings: string[] = [];
    expect(capAtCores(99999, 'MDISTILL_THREADS', (m) => warnings.push(m))).toBe(cores);
    expect(capAtCores(cores, '--threads', (m) => warnings.push(m))).toBe(cores);
    expect(warnings).toEqual([`MDISTILL_THREADS 99999 is more than the ${cores} cores this process may use; using ${cores}`]);
    expect(defaultThreads({ MDISTILL_THREADS: '99999' })).toBe(cores);
  });
});

describe('BLAS detection', () => {
  it('recognises OpenBLAS and flags the reference BLAS', () => {
    const maps = [
      '7f00-7f01 r-xp 00000000 08:01 1 /usr/lib/x86_64-linux-gnu/blas/libblas.so.3',
      '7f02-7f03 r-xp 00000000 08:01 2 /usr/lib/x86_64-linux-gnu/libgomp.so.1.0.0',
    ].join('\n');
    expect(detectLoadedBlas(maps)).toMatchObject({ name: 'reference BLAS (netlib)', reference: true });
    expect(classifyBlas(['/usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3'])).toMatchObject({
      name: 'OpenBLAS (OpenMP)',
      reference: false,
    });
  });
});
