// Finds and loads the native addon. Every failed attempt is kept with its reason and a remedy,
// so one error explains the whole search.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MdistillAddon } from './addonTypes.js';

export type LoadFailureKind =
  | 'not-built'
  | 'libtorch-missing'
  | 'shared-library-missing'
  | 'abi-mismatch'
  | 'glibc-mismatch'
  | 'wrong-architecture'
  | 'node-abi-mismatch'
  | 'incomplete-addon'
  | 'unknown';

export interface LoadAttempt {
  path: string;
  kind: LoadFailureKind;
  reason: string;
  remedy: string;
}

export class AddonLoadError extends Error {
  readonly code = 'MDISTILL_ADDON_LOAD';
  constructor(readonly attempts: LoadAttempt[]) {
    super(
      'mdistill: could not load the native addon. Tried, in order:\n' +
        attempts.map((a, i) => `  ${i + 1}. ${a.path}\n     ${a.kind}: ${a.reason}\n     fix: ${a.remedy}`).join('\n'),
    );
    this.name = 'AddonLoadError';
  }
}

/** The package's build/ folder (cmake-js's output), two levels above this module (src/native/ or dist/native/). */
const BUILD_DIR = fileURLToPath(new URL('../../build/', import.meta.url));

/** The fixed search order: $MDISTILL_ADDON, then the Release and Debug build outputs. */
export function defaultAddonCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  const candidates: string[] = [];
  if (env.MDISTILL_ADDON) candidates.push(path.resolve(env.MDISTILL_ADDON));
  candidates.push(path.join(BUILD_DIR, 'Release', 'mdistill.node'));
  candidates.push(path.join(BUILD_DIR, 'Debug', 'mdistill.node'));
  return candidates;
}

const REBUILD = 'rebuild the addon on this machine: `npm run build:native` (or scripts/setup.sh)';

/** Maps a dlopen/require failure message to its cause and remedy. */
export function classifyLoadFailure(message: string): { kind: LoadFailureKind; remedy: string } {
  const missingSo = /(lib[\w+.-]*\.so[\w.]*): cannot open shared object file/.exec(message);
  if (missingSo) {
    const lib = missingSo[1];
    if (/^lib(torch|c10|caffe2)/.test(lib)) {
      return {
        kind: 'libtorch-missing',
        remedy: `libtorch (${lib}) is not installed or not on the library path: \`sudo apt-get install libtorch-dev\`, ` +
          'or set MDISTILL_LIBTORCH to your libtorch and rebuild (`npm run build:native`)',
      };
    }
    return {
      kind: 'shared-library-missing',
      remedy: `install the package that provides ${lib} (\`apt-file search ${lib}\`), or run scripts/setup.sh`,
    };
  }
  if (/version `(GLIBC|GLIBCXX|CXXABI)_[\d.]+' not found/.test(message)) {
    return { kind: 'glibc-mismatch', remedy: `the addon was built on a newer system than this one; ${REBUILD}` };
  }
  if (/undefined symbol/.test(message)) {
    return {
      kind: 'abi-mismatch',
      remedy: `the addon and the libtorch it loads disagree (version or _GLIBCXX_USE_CXX11_ABI); ${REBUILD} against the libtorch you run with`,
    };
  }
  if (/invalid ELF header|wrong ELF class|ELF load command|file too short/.test(message)) {
    return { kind: 'wrong-architecture', remedy: `the file is not a shared library for this machine; ${REBUILD}` };
  }
  if (/NODE_MODULE_VERSION|did not self-register/.test(message)) {
    return { kind: 'node-abi-mismatch', remedy: `the addon was built for another Node.js; ${REBUILD}` };
  }
  if (/Cannot find module|ENOENT|no such file/i.test(message)) {
    return { kind: 'not-built', remedy: `the addon is not built yet: ${REBUILD}` };
  }
  return { kind: 'unknown', remedy: REBUILD };
}

const REQUIRED_EXPORTS: (keyof MdistillAddon)[] = [
  'runtimeInfo', 'setNumThreads', 'matmulProbe', 'gemmBenchmark', 'gemmShapeBenchmark', 'fmaPeak', 'manifoldLoss', 'Model', 'resamplePosEmbed', 'batchedMatmulCheck', 'Trainer',
  'evaluateBatch', 'ProcessGroup',
];

/** Loads the first candidate that works; throws AddonLoadError listing every attempt otherwise. `onFailed` hears of
 *  each candidate that failed before one loaded. */
export function loadAddonFrom(candidates: string[], onFailed: (attempt: LoadAttempt) => void = () => undefined): MdistillAddon {
  const require = createRequire(import.meta.url);
  const attempts: LoadAttempt[] = [];
  for (const candidate of candidates) {
    if (!existsSync(candidate)) {
      attempts.push({ path: candidate, reason: 'file does not exist', ...classifyLoadFailure('ENOENT') });
      continue;
    }
    try {
      const addon = require(candidate) as Partial<MdistillAddon>;
      const missing = REQUIRED_EXPORTS.filter((name) => typeof addon[name] !== 'function');
      if (missing.length > 0) {
        attempts.push({
          path: candidate,
          kind: 'incomplete-addon',
          reason: `missing exports: ${missing.join(', ')}`,
          remedy: `the addon is stale; ${REBUILD}`,
        });
        continue;
      }
      for (const a of attempts) onFailed(a);
      return addon as MdistillAddon;
    } catch (err) {
      const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
      attempts.push({ path: candidate, reason, ...classifyLoadFailure(reason) });
    }
  }
  throw new AddonLoadError(attempts);
}
