#!/usr/bin/env node
// Builds the native addon: cmake-js when cmake is present, otherwise node-gyp (same sources, no PCH).
// Env: MDISTILL_SKIP_NATIVE=1 skips the build; MDISTILL_BUILDER=cmake|gyp forces one; MDISTILL_CUDA=auto|on|off.
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

function run(cmd, args) {
  console.error(`[mdistill] ${[cmd, ...args].join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: process.env });
  if (r.error) throw r.error;
  return r.status ?? 1;
}

function hasCmake() {
  const r = spawnSync('cmake', ['--version'], { encoding: 'utf8' });
  if (r.error) return { ok: false, why: `cmake is not on PATH (${r.error.code})` };
  const m = /cmake version (\d+)\.(\d+)/.exec(r.stdout);
  if (!m) return { ok: false, why: 'cmake --version printed no version' };
  if (Number(m[1]) < 3 || (Number(m[1]) === 3 && Number(m[2]) < 18)) {
    return { ok: false, why: `cmake ${m[1]}.${m[2]} is older than 3.18` };
  }
  return { ok: true };
}

function buildWithCmake() {
  const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
  const jobs = String(Number(process.env.MDISTILL_BUILD_JOBS) || availableParallelism());
  return run(process.execPath, [cmakeJs, 'build', '--parallel', jobs, '--log-level', 'warn']);
}

function buildWithGyp() {
  const jobs = String(Number(process.env.MDISTILL_BUILD_JOBS) || availableParallelism());
  let gyp = process.env.npm_config_node_gyp;
  try {
    gyp = require.resolve('node-gyp/bin/node-gyp.js');
  } catch {
    // not installed locally: npm's own copy (npm_config_node_gyp) is used
  }
  if (!gyp) {
    console.error('[mdistill] node-gyp was not found: install cmake (preferred) or run `npm install node-gyp`.');
    return 1;
  }
  return run(process.execPath, [gyp, 'rebuild', '--jobs', jobs]);
}

if (process.env.MDISTILL_SKIP_NATIVE === '1') {
  console.error('[mdistill] MDISTILL_SKIP_NATIVE=1: skipping the native build');
  process.exit(0);
}

const forced = process.env.MDISTILL_BUILDER;
let status;
if (forced === 'gyp') {
  status = buildWithGyp();
} else {
  const cmake = hasCmake();
  if (cmake.ok || forced === 'cmake') {
    status = buildWithCmake();
  } else {
    console.error(`[mdistill] ${cmake.why}: falling back to node-gyp (no precompiled headers, no CUDA).`);
    console.error('[mdistill] Install cmake (apt-get install cmake) for faster rebuilds.');
    status = buildWithGyp();
  }
}
if (status !== 0) {
  console.error('[mdistill] native build failed. Check that libtorch is installed (scripts/setup.sh does it on Debian),');
  console.error('[mdistill] or point MDISTILL_LIBTORCH at a libtorch distribution.');
}
process.exit(status);
