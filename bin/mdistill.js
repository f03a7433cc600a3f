#!/usr/bin/env node
// Entry point for `npx mdistill`: runs the compiled CLI (npm run build:ts produces dist/).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  console.error('mdistill: the TypeScript build is missing (dist/cli/main.js). Run `npm run build:ts` or scripts/setup.sh.');
  process.exit(1);
}
const { runCli } = await import(main.href);
process.exitCode = await runCli(process.argv);
