#!/usr/bin/env node
// Entry point for `npx mdistill`: runs the compiled CLI (npm run build:ts produces dist/).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  console.error('mdistill: the TypeScript build is missing (dist/cli/main.js). Run `npm run build:ts` or scripts/setup.sh.');
  process.exit(1);
}
let runCli;
try {
  ({ runCli } = await import(main.href));
} catch (err) {
  // Loading the CLI itself failed (before its own error handling exists): say why in words.
  const limits = { EMFILE: 'too many open files for this process\'s limit: raise it (ulimit -n 4096) and run again',
    ENFILE: 'the system has too many open files: close other programs and run again',
    ENOMEM: 'there is not enough memory to start', EACCES: 'a file of the installation is not readable: check its permissions' };
  const why = limits[err?.code] ?? String(err?.message ?? err).split('\n')[0];
  console.error(`mdistill: could not load the CLI from ${fileURLToPath(new URL('..', import.meta.url))}: ${why}${err?.path ? ` (${err.path})` : ''}.`);
  process.exit(1);
}
process.exitCode = await runCli(process.argv);
