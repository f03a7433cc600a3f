#!/usr/bin/env node
// `npm run bench -- <name> [flags]`: builds the TypeScript, then runs bench/<name>.mjs.
// Every benchmark prints JSON; its last line is one JSON object with the figures.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const [name, ...args] = process.argv.slice(2);
// Shared modules, not benchmarks: the runner, timing/flags/peer helpers, the models' GEMM shapes and peak.
const SHARED = ['run.mjs', 'common.mjs', 'gemmShapes.mjs'];
const known = readdirSync(here).filter((f) => f.endsWith('.mjs') && !SHARED.includes(f)).map((f) => f.slice(0, -4));
if (!name || !known.includes(name)) {
  console.error(`usage: npm run bench -- <${known.join('|')}> [flags]${name ? ` (unknown benchmark '${name}')` : ''}`);
  process.exit(2);
}
const tsc = spawnSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);
if (!existsSync(path.join(root, 'build', 'Release', 'mdistill.node'))) console.error('bench: the native addon is not built (npm run build:native)');
const r = spawnSync(process.execPath, ['--expose-gc', path.join(here, `${name}.mjs`), ...args], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
