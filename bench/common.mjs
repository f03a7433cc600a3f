// Shared pieces of the benchmarks: timing, flags and the PyTorch peer.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const peerScript = path.resolve(root, '..', 'shared', 'peer', 'torch_step.py');

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Runs fn (async) warmup + reps times and returns the per-rep seconds. */
export async function timeReps(fn, { warmup = 2, reps = 5 } = {}) {
  const times = [];
  for (let i = 0; i < warmup + reps; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    const dt = Number(process.hrtime.bigint() - t0) / 1e9;
    if (i >= warmup) times.push(dt);
  }
  return times;
}

/** Minimal --flag value parsing: returns { flags, has(name) }. */
export function parseFlags(argv, defaults = {}) {
  const flags = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument '${a}'`);
    const key = a.slice(2);
    if (key.startsWith('no-')) flags[key.slice(3)] = false;
    else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) flags[key] = argv[++i];
    else flags[key] = true;
  }
  return flags;
}

/** The Python that has Debian's torch (python3-torch); MDISTILL_PEER_PYTHON overrides. */
export function peerPython() {
  if (process.env.MDISTILL_PEER_PYTHON) return process.env.MDISTILL_PEER_PYTHON;
  return existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
}

/** Runs a peer script under peerPython() with the given flags and returns its last JSON line. */
export function runPython(script, args) {
  const r = spawnSync(peerPython(), [script, ...args], { encoding: 'utf8' });
  if (r.status !== 0) {
    throw new Error(`peer failed (${peerPython()} ${script} ${args.join(' ')}): ${r.stderr.trim().split('\n').pop()}\n` +
      'Install it with scripts/setup.sh --peer (python3-torch), or pass --no-peer.');
  }
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

/** Runs shared/peer/torch_step.py with the given flags and returns its JSON line. */
export function runPeer(args) {
  return runPython(peerScript, args);
}
