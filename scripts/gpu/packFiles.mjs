#!/usr/bin/env node
// The repository files the GPU check needs, one path a line (relative to the repository root), for pack.sh: the
// native sources and build files, the compiled TypeScript the checks import (dist/), and of node_modules only the
// packages those imports reach (with their production dependencies) plus the headers an N-API build needs.
// Fails when an entry or an import cannot be found, so the archive cannot silently lack a module.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
// What check.sh runs with node; their imports are followed.
const ENTRIES = ['scripts/gpu/checks.mjs', 'bench/step.mjs', 'bench/common.mjs'];
// Read at run time by path rather than imported.
const DATA = ['package.json', 'CMakeLists.txt', 'src/export/onnx.proto', 'scripts/gpu/check.sh', 'scripts/build-cuda-kernels.sh'];
const TREES = ['native', 'dist', 'bin', 'configs'];
// The N-API build: node-addon-api's C++ headers, and the C headers cmake-js would take from node-api-headers.
const BUILD_PACKAGES = ['node-addon-api'];
const HEADER_DIRS = ['node_modules/node-api-headers/include'];

const files = new Set();
const packages = new Set();

function walk(rel) {
  const abs = path.join(root, rel);
  if (!existsSync(abs)) throw new Error(`packFiles: ${rel} does not exist (build it first: npm run build:ts)`);
  if (statSync(abs).isDirectory()) {
    for (const e of readdirSync(abs)) walk(path.join(rel, e));
  } else {
    files.add(rel);
  }
}

function addPackage(name) {
  if (packages.has(name) || name.startsWith('@types/')) return;
  const dir = path.join('node_modules', name);
  if (!existsSync(path.join(root, dir, 'package.json'))) throw new Error(`packFiles: package '${name}' is not installed (npm ci)`);
  packages.add(name);
  walk(dir);
  const pkg = JSON.parse(readFileSync(path.join(root, dir, 'package.json'), 'utf8'));
  for (const dep of Object.keys(pkg.dependencies ?? {})) addPackage(dep);
}

const seen = new Set();
function follow(rel) {
  if (seen.has(rel)) return;
  seen.add(rel);
  const abs = path.join(root, rel);
  if (!existsSync(abs)) throw new Error(`packFiles: ${rel} is imported but does not exist (npm run build:ts?)`);
  files.add(rel);
  const text = readFileSync(abs, 'utf8');
  for (const m of text.matchAll(/(?:^|[\s;])(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)) {
    const spec = m[1] ?? m[2];
    if (spec.startsWith('node:')) continue;
    if (spec.startsWith('.')) {
      follow(path.normalize(path.join(path.dirname(rel), spec)));
    } else {
      addPackage(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]);
    }
  }
}

for (const e of ENTRIES) follow(e);
for (const d of DATA) walk(d);
for (const t of TREES) walk(t);
for (const p of BUILD_PACKAGES) addPackage(p);
for (const h of HEADER_DIRS) walk(h);
walk('node_modules/node-api-headers/package.json');
process.stdout.write([...files].sort().join('\n') + '\n');
process.stderr.write(`packFiles: ${files.size} files; node_modules packages: ${[...packages].sort().join(', ')}\n`);
