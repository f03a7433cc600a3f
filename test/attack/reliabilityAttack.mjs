#!/usr/bin/env node
// The reliability attack of issue 16, as a script: ~120 runs of the CLI as an unlucky or hostile user would make
// them (special files, every flag that takes a path, signals, resource limits, re-runs over earlier runs), each
// checked for a hang, an orphan process, silent data loss, and raw errno or C++ text in what the user sees.
//
//   node test/attack/reliabilityAttack.mjs --cli bin/mdistill.js --label after [--only regex] [--json out.json]
//
// Run it against two builds (the base commit's bin/mdistill.js and this one) and merge the JSON files into one
// table with --merge before.json after.json. Needs root for the cases that mount a tmpfs in a private namespace
// (unshare -rm) or drop to uid 65534 (setpriv); those are skipped elsewhere. Not part of `vitest run`.
import { execFileSync, spawn } from 'node:child_process';
import {
  chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync, writeSync,
} from 'node:fs';
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};

// ---- merging two result files into the report table ------------------------------------------------------------
if (args[0] === '--merge') {
  const [before, after] = args.slice(1, 3).map((f) => JSON.parse(readFileSync(f, 'utf8')));
  const byName = new Map(before.results.map((r) => [r.name, r]));
  const cell = (r) => (r ? `${r.flags.length ? `**${r.flags.join(' ')}** ` : ''}${r.outcome}` : 'not run');
  const rows = after.results.map((r, i) => `| ${i + 1} | ${r.category} | ${r.name} | ${cell(byName.get(r.name)).replace(/\|/g, '\\|')} | ${cell(r).replace(/\|/g, '\\|')} |`);
  const count = (rs, flag) => rs.filter((r) => r.flags.includes(flag)).length;
  const summary = (label, rs) => `${label}: ${rs.length} runs, ${count(rs, 'HANG')} hangs, ${count(rs, 'ORPHAN')} with orphans, ` +
    `${count(rs, 'LOSS')} with data loss, ${count(rs, 'RAW')} with raw errno/C++/stack text, ${count(rs, 'WRONG')} not as expected`;
  console.log(`${summary('before', before.results)}\n\n${summary('after', after.results)}\n`);
  console.log('| # | kind | case | before | after |\n| --- | --- | --- | --- | --- |');
  console.log(rows.join('\n'));
  process.exit(0);
}

const CLI = path.resolve(opt('--cli', path.join(ROOT, 'bin', 'mdistill.js')));
const LABEL = opt('--label', 'after');
const ONLY = opt('--only') ? new RegExp(opt('--only')) : undefined;
const JSON_OUT = opt('--json');
const W = `/tmp/mdistill-attack-${LABEL}`;
const IS_ROOT = process.getuid?.() === 0;
const CORES = os.availableParallelism();

rmSync(W, { recursive: true, force: true });
mkdirSync(W, { recursive: true });
chmodSync(W, 0o777);
const p = (...parts) => path.join(W, ...parts);

// What no message may show: raw errno text, libtorch's C++ locations and frames, a JavaScript stack trace.
const RAW = [
  /\b(EISDIR|EEXIST|EROFS|ENOENT|ENOSPC|ELOOP|EACCES|ENOTDIR|EMFILE|ENXIO|EPERM|EFBIG|EPIPE|ERR_FS_FILE_TOO_LARGE)\b: /,
  /illegal operation on a directory|no such file or directory, (open|mkdir|stat|scandir)/,
  /alloc_cpu\.cpp|c10::|\[enforce fail|frame #\d|Exception raised from|\[[^\]\s]*\.(cc|cpp|cu|h|hpp):\d+\]/,
  /^\s+at .+:\d+:\d+\)?$/m,
  /node:internal/,
];

// ---- fixtures -----------------------------------------------------------------------------------------------------
const STUDENT = '{"embedDim":32,"depth":2,"numHeads":2,"patchSize":4}';
const TEACHER = '{"embedDim":48,"depth":3,"numHeads":2,"patchSize":4}';

function helper(script) {
  // The fixtures are made with this checkout's modules (the file formats are the same on both sides).
  execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
}

helper(`
  import { saveWeights, stateDictOf } from './dist/model/loadWeights.js';
  import { NativeModel } from './dist/model/nativeModel.js';
  import { resolveModel } from './dist/model/modelConfig.js';
  import { writeSafetensors } from './dist/io/safetensors.js';
  const c = resolveModel('deit_tiny_patch16_224', { imgSize: 16, patchSize: 4, embedDim: 48, depth: 3, numHeads: 2, numClasses: 10 });
  const m = new NativeModel(c, { seed: 7 });
  await saveWeights(m, '${p('teacher.safetensors')}');
  const nan = stateDictOf(m); nan.get('blocks.1.attn.qkv.weight').data.fill(NaN, 0, 9);
  await writeSafetensors('${p('nan-teacher.safetensors')}', nan);
  const ints = stateDictOf(m); const b = ints.get('head.bias'); ints.set('head.bias', { dtype: 'I64', shape: b.shape, data: new BigInt64Array(b.shape[0]) });
  await writeSafetensors('${p('i64-teacher.safetensors')}', ints);
  const many = stateDictOf(m); for (let i = 0; i < 300000; i++) many.set('extra.' + i, { dtype: 'F32', shape: [1], data: new Float32Array(1) });
  await writeSafetensors('${p('300k-keys.safetensors')}', many);
  const big = resolveModel('deit_tiny_patch16_224', { imgSize: 16, patchSize: 4, embedDim: 32, depth: 2, numHeads: 2, numClasses: 10 });
  await writeSafetensors('${p('absurd-kwargs.safetensors')}', stateDictOf(new NativeModel(big)), { format: 'pt', timm_class: 'VisionTransformer',
    kwargs: JSON.stringify({ img_size: 16, patch_size: 4, in_chans: 3, num_classes: 10, embed_dim: 3000000, depth: 2, num_heads: 2, mlp_ratio: 4 }) });
`);
chmodSync(p('teacher.safetensors'), 0o644);

/** A 3 GiB sparse safetensors file holding one small tensor near its end (no disk used). */
{
  const header = JSON.stringify({ w: { dtype: 'F32', shape: [2, 2], data_offsets: [3 * 2 ** 30, 3 * 2 ** 30 + 16] } });
  const fd = openSync(p('sparse-3gib.safetensors'), 'w');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(header.length));
  writeSync(fd, len, 0, 8, 0);
  writeSync(fd, Buffer.from(header), 0, header.length, 8);
  writeSync(fd, Buffer.alloc(16, 1), 0, 16, 8 + header.length + 3 * 2 ** 30);
  closeSync(fd);
}

/** An ImageFolder tree of tiny JPEGs: train/ and val/ with `classes`, `n` images each. */
function imageFolder(name, { classes = ['a', 'b'], n = 4, valClasses } = {}) {
  const root = p(name);
  helper(`
    import sharp from 'sharp';
    import { mkdirSync } from 'node:fs';
    for (const [split, classes] of [['train', ${JSON.stringify(classes)}], ['val', ${JSON.stringify(valClasses ?? classes)}]]) {
      for (const [k, c] of classes.entries()) {
        mkdirSync('${root}/' + split + '/' + c, { recursive: true });
        for (let i = 0; i < ${n}; i++) {
          await sharp(Buffer.alloc(20 * 20 * 3, (i * 40 + k * 90) % 256), { raw: { width: 20, height: 20, channels: 3 } }).jpeg().toFile('${root}/' + split + '/' + c + '/' + i + '.jpg');
        }
      }
    }
  `);
  return root;
}

/**
 * A device node of our own with /dev/full's numbers: a writer that renames over its output (as root) replaces
 * this node, never the machine's /dev/full. (A regular file where mknod is not allowed.)
 */
function fullDevice() {
  const node = p('full-device');
  if (!existsSync(node)) {
    try {
      execFileSync('mknod', ['-m', '666', node, 'c', '1', '7']);
    } catch {
      writeFileSync(node, '');
    }
  }
  return node;
}

function tinyTrain(out, extra = []) {
  return ['train', '--data-set', 'SYNTHETIC', '--input-size', '16', '--train-subset', '64', '--eval-subset', '32', '--batch-size', '16',
    '--epochs', '1', '--model-overrides', STUDENT, '--teacher-model', 'deit_tiny_patch16_224', '--teacher-overrides', TEACHER,
    '--teacher-path', p('teacher.safetensors'), '--s-id', '0', '1', '--t-id', '1', '2', '--K', '16', '--teacher-check', '0',
    '--no-compare-scratch', '--log-every', '1', '--workers', '0', '--output-dir', out, ...extra];
}

function folderTrain(root, out, extra = []) {
  return ['train', '--data-set', 'IMAGEFOLDER', '--data-path', root, '--input-size', '16', '--batch-size', '4', '--epochs', '1',
    '--model-overrides', STUDENT, '--distillation-type', 'none', '--aa', 'none', '--mixup', '0', '--cutmix', '0', '--reprob', '0',
    '--no-repeated-aug', '--s-id', '0', '1', '--t-id', '1', '2', '--log-every', '1', '--workers', '0', '--output-dir', out, ...extra];
}

function hashTree(dir) {
  if (!existsSync(dir)) return {};
  const out = {};
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const f = path.join(d, e.name);
      if (e.isDirectory()) walk(f);
      else if (e.isFile()) out[path.relative(dir, f)] = createHash('sha1').update(readFileSync(f)).digest('hex');
    }
  };
  walk(dir);
  return out;
}

/** The files of a run that must survive unchanged (checkpoints), and the logs, which may only grow. */
function valuable(dir) {
  const all = hashTree(dir);
  const kept = Object.fromEntries(Object.entries(all).filter(([k]) => /checkpoint-(last|best)\//.test(k)));
  const logs = Object.fromEntries(Object.keys(all).filter((k) => k.endsWith('log.jsonl')).map((k) => [k, readFileSync(path.join(dir, k), 'utf8')]));
  return { kept, logs };
}

/** What of `before` is gone or changed in `now`: a changed checkpoint file, or a log that lost lines. */
function lostSince(before, now) {
  const lost = Object.keys(before.kept).filter((k) => now.kept[k] !== before.kept[k]);
  for (const [k, text] of Object.entries(before.logs)) if (!(now.logs[k] ?? '').startsWith(text)) lost.push(k);
  return lost;
}

/** A checkpoint that eval could read: its state.json parses and its weights file has a whole header. */
function checkpointIntact(dir) {
  try {
    JSON.parse(readFileSync(path.join(dir, 'checkpoint-last', 'state.json'), 'utf8'));
    const head = readFileSync(path.join(dir, 'checkpoint-last', 'model.safetensors'));
    const n = Number(head.readBigUInt64LE(0));
    JSON.parse(head.subarray(8, 8 + n).toString('utf8'));
    return '';
  } catch (e) {
    return `checkpoint-last damaged: ${e.message}`;
  }
}

// ---- running one case -------------------------------------------------------------------------------------------
function processesMarked(marker) {
  const pids = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${e}/environ`, 'utf8').split('\0').includes(`MDISTILL_ATTACK=${marker}`)) pids.push(Number(e));
    } catch { /* gone or not ours */ }
  }
  return pids;
}

function stepsIn(dir) {
  try {
    return readFileSync(path.join(dir, 'log.jsonl'), 'utf8').split('"kind":"step"').length - 1;
  } catch {
    return 0;
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let counter = 0;

/**
 * Runs the CLI (or a wrapper around it) with `args`, optionally sending a signal once `when()` holds. Returns what
 * the user saw and what was left behind.
 */
async function runCli(c) {
  const marker = `${LABEL}-${++counter}`;
  const env = { ...process.env, MDISTILL_THREADS: '1', OPENBLAS_CORETYPE: 'Haswell', ...(c.env ?? {}), MDISTILL_ATTACK: marker };
  let command = process.execPath;
  let argv = [CLI, ...c.args];
  if (c.shell) {
    command = 'bash';
    const quoted = [process.execPath, CLI, ...c.args].map((a) => `'${String(a).replace(/'/g, `'\\''`)}'`).join(' ');
    argv = ['-c', c.shell.replace('$CLI', quoted)];
  }
  const started = Date.now();
  const child = spawn(command, argv, { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'], cwd: W });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => { out += d; if (c.closeStdoutEarly) child.stdout.destroy(); });
  child.stderr.on('data', (d) => { err += d; });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  let timedOut = false;
  const timeout = c.timeout ?? 60;
  const timer = setTimeout(() => { timedOut = true; try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ } }, timeout * 1000);
  if (c.signal) {
    void (async () => {
      const t0 = Date.now();
      while (child.exitCode === null && !(await c.signal.when())) {
        if (Date.now() - t0 > timeout * 1000) return;
        await sleep(25);
      }
      if (child.exitCode !== null) return;
      const targets = c.signal.target ? c.signal.target(child.pid) : [child.pid];
      for (const pid of targets) { try { process.kill(pid, c.signal.name); } catch { /* gone */ } }
      if (c.signal.then) await c.signal.then(child.pid, targets);
    })();
  }
  const result = await exited;
  clearTimeout(timer);
  const seconds = (Date.now() - started) / 1000;
  await sleep(c.orphanWait ?? 3000);
  const orphans = processesMarked(marker);
  for (const pid of orphans) { try { process.kill(pid, 'SIGCONT'); process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
  return { ...result, timedOut, seconds, stdout: out, stderr: err, orphans: orphans.length };
}

const results = [];

/** One case: `setup` prepares, `args`/`shell` run, `expect` judges what happened (returns a problem, or ''). */
async function attack(category, name, c) {
  if (ONLY && !ONLY.test(name)) return;
  if (c.needsRoot && !IS_ROOT) {
    results.push({ category, name, outcome: 'skipped (needs root)', flags: [] });
    return;
  }
  if (c.unsafeBefore && LABEL === 'before') {
    results.push({ category, name, outcome: 'not run on this build: ' + c.unsafeBefore, flags: [] });
    return;
  }
  const ctx = (await c.setup?.()) ?? {};
  const preserved = c.preserve ? valuable(c.preserve) : undefined;
  const r = await runCli({ ...c, args: typeof c.args === 'function' ? c.args(ctx) : c.args ?? [] });
  const flags = [];
  if (r.timedOut) flags.push('HANG');
  if (r.orphans) flags.push('ORPHAN');
  const text = `${r.stderr}\n${r.stdout}`;
  if (RAW.some((re) => re.test(text))) flags.push('RAW');
  if (preserved && lostSince(preserved, valuable(c.preserve)).length) flags.push('LOSS');
  let problem = '';
  if (!r.timedOut && c.expect) {
    try {
      problem = c.expect(r, ctx) || '';
    } catch (e) {
      problem = String(e.message ?? e);
    }
  }
  if (problem) flags.push('WRONG');
  const said = (r.stderr.split('\n').filter((l) => /mdistill:|error|warning|stopped|Error|note:|holds|refus/i.test(l)).slice(-1)[0] ?? r.stderr.trim().split('\n').slice(-1)[0] ?? '')
    .replace(/\s+/g, ' ').replace(W, '$W').slice(0, 170);
  const how = r.timedOut ? `killed after ${r.seconds.toFixed(0)} s` : r.signal ? `killed by ${r.signal}` : `exit ${r.code}`;
  const outcome = `${how}, ${r.seconds.toFixed(1)} s${r.orphans ? `, ${r.orphans} orphan(s)` : ''}${problem ? ` (${problem.replace(W, '$W').slice(0, 80)})` : ''}: ${said}`;
  results.push({ category, name, outcome, flags });
  process.stderr.write(`[${LABEL}] ${flags.length ? flags.join(',') : 'ok'}  ${category} / ${name}: ${outcome}\n`);
}

const exitIs = (...codes) => (r) => (codes.includes(r.code) ? '' : `expected exit ${codes.join(' or ')}`);
const says = (re, code) => (r) => (code !== undefined && r.code !== code ? `expected exit ${code}` : re.test(r.stderr + r.stdout) ? '' : `expected ${re}`);
const trained = (dir) => () => existsSync(path.join(dir, 'checkpoint-last', 'state.json')) ? '' : 'no checkpoint-last';

// A finished run to attack re-runs, resumes and weights flags with.
async function finishedRun(name, extra = []) {
  const dir = p(name);
  await runCli({ args: tinyTrain(dir, extra), orphanWait: 0 });
  return dir;
}

// ================================================================================================================
// Special files in data sets
// ================================================================================================================
const SPECIAL = {
  'a FIFO': (f) => execFileSync('mkfifo', [f]),
  'a socket': (f) => execFileSync('python3', ['-c', 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', f]),
  'a dangling symlink': (f) => symlinkSync(p('nowhere.jpg'), f),
  'a symlink loop': (f) => symlinkSync(path.basename(f), f),
  'a symlink to /dev/zero (char device)': (f) => symlinkSync('/dev/zero', f),
  'a symlink to /dev/null (char device)': (f) => symlinkSync('/dev/null', f),
  'a block device node': (f) => execFileSync('mknod', [f, 'b', '7', '0']),
  'an empty file': (f) => writeFileSync(f, ''),
  'a truncated JPEG': (f) => writeFileSync(f, readFileSync(path.join(path.dirname(f), '0.jpg')).subarray(0, 100)),
  'a directory named x.jpg': (f) => mkdirSync(f),
};
for (const [what, make] of Object.entries(SPECIAL)) {
  for (const split of ['train', 'val']) {
    let root;
    await attack('special file', `ImageFolder ${split}/ holds ${what} (x.jpg)`, {
      needsRoot: what.includes('block device'),
      setup: async () => {
        root = imageFolder(`if-${split}-${what.replace(/\W+/g, '-')}`);
        // Socket paths are limited to ~107 bytes: make it beside, then move it in.
        await make(path.join(root, split, 'a', 'x.jpg'));
      },
      args: () => folderTrain(root, `${root}-run`, ['--max-bad-fraction', '0.5']),
      timeout: 45,
      expect: (r) => (what === 'a directory named x.jpg' ? exitIs(0)(r) : r.code === 0 ? '' : 'expected one bad sample within --max-bad-fraction 0.5'),
    });
  }
}
{
  let root;
  await attack('special file', 'ImageFolder: a directory symlink back to its parent (a loop)', {
    setup: () => { root = imageFolder('if-dirloop'); symlinkSync('..', path.join(root, 'train', 'a', 'up')); },
    args: () => folderTrain(root, `${root}-run`), timeout: 45, expect: exitIs(0),
  });
  await attack('special file', 'ImageFolder: a class directory that is a dangling symlink', {
    setup: () => { root = imageFolder('if-ghostclass'); symlinkSync(p('missing'), path.join(root, 'train', 'ghost')); symlinkSync(p('missing'), path.join(root, 'val', 'ghost')); },
    args: () => folderTrain(root, `${root}-run`), timeout: 45, expect: exitIs(0),
  });
  await attack('special file', 'ImageFolder: an empty class directory', {
    setup: () => { root = imageFolder('if-empty'); mkdirSync(path.join(root, 'train', 'c')); mkdirSync(path.join(root, 'val', 'c')); },
    args: () => folderTrain(root, `${root}-run`), timeout: 45, expect: says(/classes have no images \('c'\)/, 0),
  });
  await attack('special file', 'ImageFolder: train and val with different classes', {
    setup: () => { root = imageFolder('if-mismatch', { classes: ['cat', 'dog'], valClasses: ['cat', 'dgo'] }); },
    args: () => folderTrain(root, `${root}-run`), timeout: 45, expect: says(/'dog'.*'dgo'|dgo/, 1),
  });
  await attack('special file', 'ImageFolder: no val/ split', {
    setup: () => { root = imageFolder('if-noval'); rmSync(path.join(root, 'val'), { recursive: true }); },
    args: () => folderTrain(root, `${root}-run`), timeout: 45, expect: says(/val split not found/, 1),
  });
  await attack('special file', 'ImageFolder: train/ is a file', {
    setup: () => { root = imageFolder('if-trainfile'); rmSync(path.join(root, 'train'), { recursive: true }); writeFileSync(path.join(root, 'train'), 'x'); },
    args: () => folderTrain(root, `${root}-run`), timeout: 45, expect: exitIs(1),
  });
  await attack('special file', 'ImageFolder: a FIFO deep in val/ (nested directory)', {
    setup: () => { root = imageFolder('if-deepfifo'); mkdirSync(path.join(root, 'val', 'b', 'x', 'y'), { recursive: true }); execFileSync('mkfifo', [path.join(root, 'val', 'b', 'x', 'y', 'z.png')]); },
    args: () => folderTrain(root, `${root}-run`, ['--max-bad-fraction', '0.5']), timeout: 45, expect: exitIs(0),
  });
  await attack('special file', 'ImageFolder: a bad val image after the first batch, --max-bad-fraction 0', {
    setup: () => { root = imageFolder('if-latebad'); writeFileSync(path.join(root, 'val', 'b', '9.jpg'), 'garbage'); },
    args: () => folderTrain(root, `${root}-run`, ['--max-bad-fraction', '0']), timeout: 45,
    // Either the check before training finds it (the prefetch may reach it), or the epoch is saved before the eval fails.
    expect: (r) => (r.code === 1 && (existsSync(path.join(`${root}-run`, 'checkpoint-last', 'state.json')) || stepsIn(`${root}-run`) === 0) ? '' : 'expected no training lost'),
  });
  await attack('special file', 'ImageFolder: unreadable image (chmod 000, uid 65534)', {
    needsRoot: true,
    setup: () => { root = imageFolder('if-unreadable'); chmodSync(path.join(root, 'train', 'a', '1.jpg'), 0); chmodSync(root, 0o777); execFileSync('chmod', ['-R', 'a+rwX', root]); chmodSync(path.join(root, 'train', 'a', '1.jpg'), 0); },
    shell: `exec setpriv --reuid=65534 --regid=65534 --clear-groups $CLI`,
    args: () => folderTrain(root, `${root}-run`, ['--max-bad-fraction', '0.5']), timeout: 45,
    expect: (r) => (/permission denied|EACCES|not readable|could not load the native addon/i.test(r.stderr) || r.code === 0 ? '' : 'expected the file named'),
  });
}
for (const [what, make] of Object.entries({
  'is a FIFO': (f) => execFileSync('mkfifo', [f]),
  'is a directory': (f) => mkdirSync(f),
  'is a symlink loop': (f) => symlinkSync(path.basename(f), f),
  'is a symlink to /dev/zero': (f) => symlinkSync('/dev/zero', f),
})) {
  let dir;
  await attack('special file', `IDX: train-images-idx3-ubyte ${what}`, {
    setup: () => {
      dir = p(`idx-${what.replace(/\W+/g, '-')}`);
      mkdirSync(dir, { recursive: true });
      for (const f of readdirSync('/usr/share/datasets/fashion-mnist')) if (!f.startsWith('train-images')) symlinkSync(path.join('/usr/share/datasets/fashion-mnist', f), path.join(dir, f));
      make(path.join(dir, 'train-images-idx3-ubyte'));
    },
    args: () => ['train', '--distillation-type', 'none', '--data-path', dir, '--train-subset', '64', '--eval-subset', '64', '--epochs', '1', '--output-dir', `${dir}-run`],
    timeout: 45, expect: says(/train-images-idx3-ubyte/, 1),
  });
}
await attack('special file', 'CIFAR10: data_batch_1.bin is a FIFO', {
  setup: () => {
    const d = p('cifar-fifo');
    mkdirSync(d, { recursive: true });
    for (const f of ['data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin', 'test_batch.bin']) writeFileSync(path.join(d, f), Buffer.alloc(3073 * 2));
    execFileSync('mkfifo', [path.join(d, 'data_batch_1.bin')]);
  },
  args: ['train', '--data-set', 'CIFAR10', '--data-path', p('cifar-fifo'), '--distillation-type', 'none', '--output-dir', p('cifar-fifo-run')],
  timeout: 45, expect: says(/data_batch_1\.bin.*FIFO/, 1),
});
for (const [what, make] of Object.entries({
  'a FIFO': (f) => execFileSync('mkfifo', [f]),
  'a regular file': (f) => writeFileSync(f, 'x'),
  'missing': () => undefined,
})) {
  await attack('flag path', `--data-path is ${what} (IMAGEFOLDER)`, {
    setup: () => make(p(`datapath-${what.replace(/\W+/g, '-')}`)),
    args: () => folderTrain(p(`datapath-${what.replace(/\W+/g, '-')}`), p(`datapath-${what.replace(/\W+/g, '-')}-run`)),
    timeout: 30, expect: says(/split not found|not a directory/, 1),
  });
}

// ================================================================================================================
// --config
// ================================================================================================================
for (const [what, make, expected] of [
  ['a directory', (f) => mkdirSync(f), /it is a directory; pass a YAML file/],
  ['a FIFO nobody writes to', (f) => execFileSync('mkfifo', [f]), /named pipe|FIFO/],
  ['/dev/zero (an endless character device)', () => '/dev/zero', /character device/],
  ['missing', () => undefined, /neither a file nor a preset/],
  ['a dangling symlink', (f) => symlinkSync(p('nowhere.yaml'), f), /neither a file nor a preset|does not exist|missing/],
  ['a symlink loop', (f) => symlinkSync(path.basename(f), f), /symbolic link loop|neither a file nor a preset/],
  ['binary garbage', (f) => writeFileSync(f, Buffer.from([0, 1, 2, 255, 254, 10, 58, 58])), /not valid YAML|top level|unknown key/],
  ['YAML with lr: .nan', (f) => writeFileSync(f, 'lr: .nan\n'), /got NaN/],
  ['YAML with model-overrides embedDim "32"', (f) => writeFileSync(f, 'model-overrides: { embedDim: "32" }\n'), /'embedDim' must be a positive integer, got the string "32"/],
]) {
  const file = p(`config-${what.replace(/\W+/g, '-')}.yaml`);
  await attack('flag path', `--config is ${what}`, {
    setup: () => { const made = make(file); return { file: typeof made === 'string' ? made : file }; },
    args: (ctx) => ['train', '--config', ctx.file],
    timeout: 20, expect: says(expected, 1),
  });
}
await attack('flag path', '--config is unreadable (uid 65534)', {
  needsRoot: true,
  setup: () => { writeFileSync(p('secret.yaml'), 'epochs: 1\n'); chmodSync(p('secret.yaml'), 0); },
  shell: `exec setpriv --reuid=65534 --regid=65534 --clear-groups $CLI`, args: ['train', '--config', p('secret.yaml')],
  timeout: 20, expect: (r) => (r.code !== 0 ? '' : 'expected a refusal'),
});
await attack('flag path', '--config <(…) (process substitution, a pipe)', {
  shell: `exec $CLI --config <(printf 'epochs: 0\\n')`, args: ['train'],
  timeout: 20, expect: says(/'epochs' must be an integer >= 1, got 0/, 1),
});

// ================================================================================================================
// --output-dir and the other outputs
// ================================================================================================================
for (const [what, dir, expected] of [
  ['over a regular file', () => { writeFileSync(p('out-file'), 'x'); return p('out-file'); }, /out-file is a regular file, not a directory/],
  ['under a regular file', () => { writeFileSync(p('out-parent'), 'x'); return p('out-parent', 'run'); }, /out-parent is a regular file, not a directory/],
  ['in /proc (the kernel answers ENOENT for /proc itself)', () => '/proc/mdistill-x/run', /\/proc does not allow creating directories/],
  ['in /sys', () => '/sys/mdistill-x', /--output-dir \/sys\/mdistill-x/],
  ['under a character device (a private /dev/full node)', () => path.join(fullDevice(), 'run'), /full-device is a character device, not a directory/],
  ['a dangling symlink', () => { symlinkSync(p('gone'), p('out-dangling')); return p('out-dangling'); }, /symbolic link to a missing target/],
  ['a symlink loop', () => { symlinkSync('out-loop', p('out-loop')); return p('out-loop'); }, /symbolic link loop/],
]) {
  await attack('flag path', `--output-dir ${what}`, {
    setup: () => ({ dir: dir() }), args: (ctx) => tinyTrain(ctx.dir), timeout: 30, expect: says(expected, 1),
  });
}
await attack('resource limit', '--output-dir on a read-only file system (tmpfs remounted ro)', {
  needsRoot: true,
  shell: `mkdir -p ${p('ro')} && exec unshare -rm sh -c 'mount -t tmpfs -o size=1m,ro tmpfs ${p('ro')} && exec "$@"' sh $CLI`,
  args: tinyTrain(p('ro', 'run')), timeout: 30, expect: says(/read-only/, 1),
});
await attack('resource limit', '--output-dir read-only by permissions (chmod 555, uid 65534)', {
  needsRoot: true,
  setup: () => { mkdirSync(p('ro555'), { recursive: true }); chmodSync(p('ro555'), 0o555); },
  shell: `exec setpriv --reuid=65534 --regid=65534 --clear-groups $CLI`, args: tinyTrain(p('ro555', 'run')),
  timeout: 30, expect: (r) => (/permission denied|could not load the native addon/i.test(r.stderr) ? '' : 'expected "permission denied"'),
});
for (const size of ['64k', '600k']) {
  await attack('resource limit', `--output-dir on a full disk (tmpfs of ${size}): ENOSPC while writing`, {
    needsRoot: true,
    shell: `mkdir -p ${p(`full-${size}`)} && exec unshare -rm sh -c 'mount -t tmpfs -o size=${size} tmpfs ${p(`full-${size}`)} && exec "$@"' sh $CLI`,
    args: tinyTrain(p(`full-${size}`, 'run'), ['--epochs', '2']), timeout: 40, expect: says(/no space is left on the device/, 1),
  });
}
await attack('resource limit', 'file-size limit (ulimit -f 64): EFBIG while writing a checkpoint', {
  shell: `ulimit -f 64; exec $CLI`, args: tinyTrain(p('fsize-run')), timeout: 40, expect: says(/file-size limit|too large|EFBIG/, 1),
});
{
  let dir;
  await attack('resource limit', 'log.jsonl is a symlink to /dev/full (ENOSPC on append), resume', {
    setup: async () => { dir = await finishedRun('log-full'); rmSync(path.join(dir, 'log.jsonl')); symlinkSync(fullDevice(), path.join(dir, 'log.jsonl')); },
    args: () => tinyTrain(dir, ['--epochs', '2', '--resume', path.join(dir, 'checkpoint-last')]),
    preserve: p('log-full'), timeout: 40, expect: says(/cannot append to the run log: no space/, 1),
  });
}
for (const [what, out, expected] of [
  ['--onnx is a directory', () => p(), /it is a directory/],
  ['--onnx in a missing directory', () => p('no', 'such', 'x.onnx'), /does not exist or is not writable/],
  ['--safetensors is a character device (a private /dev/full node)', () => fullDevice(), /character device|cannot write/],
  ['--onnx is a FIFO', () => { execFileSync('mkfifo', [p('out.onnx')]); return p('out.onnx'); }, /FIFO/],
]) {
  await attack('flag path', `export ${what}`, {
    setup: () => ({ out: out() }),
    args: (ctx) => ['export', '--weights', p('teacher.safetensors'), what.includes('safetensors') ? '--safetensors' : '--onnx', ctx.out],
    timeout: 30, expect: says(expected, 1),
  });
}
await attack('resource limit', 'export --onnx onto a full disk (tmpfs of 64k)', {
  needsRoot: true,
  shell: `mkdir -p ${p('exfull')} && exec unshare -rm sh -c 'mount -t tmpfs -o size=64k tmpfs ${p('exfull')} && exec "$@"' sh $CLI`,
  args: ['export', '--weights', p('teacher.safetensors'), '--onnx', p('exfull', 'x.onnx')], timeout: 30, expect: says(/no space is left on the device/, 1),
});
{
  let dir;
  for (const [what, make, expected] of [
    ['--out is a directory', () => p(), /it is a directory/],
    ['--out is a character device (a private /dev/full node)', () => fullDevice(), /character device/],
  ]) {
    await attack('flag path', `report ${what}`, {
      setup: async () => { dir ??= await finishedRun('report-run'); return { out: make() }; },
      args: (ctx) => ['report', dir, '--out', ctx.out], timeout: 30, expect: says(expected, 1),
    });
  }
  await attack('flag path', 'report <run-dir> that does not exist', { args: ['report', p('no-run')], timeout: 30, expect: says(/does not exist/, 1) });
  await attack('special file', 'report: log.jsonl is a FIFO', {
    setup: async () => { dir ??= await finishedRun('report-run'); rmSync(path.join(dir, 'log.jsonl')); execFileSync('mkfifo', [path.join(dir, 'log.jsonl')]); },
    args: () => ['report', dir], timeout: 30, expect: says(/log\.jsonl.*FIFO/, 1),
  });
  await attack('special file', 'report: log.jsonl is a directory', {
    setup: () => { rmSync(path.join(dir, 'log.jsonl'), { force: true }); mkdirSync(path.join(dir, 'log.jsonl')); },
    args: () => ['report', dir], timeout: 30, expect: says(/log\.jsonl.*directory/, 1),
  });
}

// ================================================================================================================
// Weights arguments
// ================================================================================================================
{
  let run;
  const weightsCases = [
    ['--teacher-path is a checkpoint directory', () => path.join(run, 'checkpoint-best'), exitIs(0), 'teacher'],
    ['--teacher-path is a run directory', () => run, exitIs(0), 'teacher'],
    ['--teacher-path is an empty directory', () => { mkdirSync(p('empty-dir'), { recursive: true }); return p('empty-dir'); }, says(/has no model\.safetensors/, 1)],
    ['--teacher-path is a FIFO', () => { execFileSync('mkfifo', [p('t.fifo')]); return p('t.fifo'); }, says(/FIFO/, 1)],
    ['--teacher-path is /dev/zero', () => '/dev/zero', says(/character device|not a regular file/, 1)],
    ['--teacher-path is a dangling symlink', () => { symlinkSync(p('gone.safetensors'), p('t-dangling')); return p('t-dangling'); }, says(/no such file/, 1)],
    ['--teacher-path is truncated', () => { writeFileSync(p('trunc.safetensors'), readFileSync(p('teacher.safetensors')).subarray(0, 5000)); return p('trunc.safetensors'); }, says(/truncated/, 1)],
    ['--teacher-path holds NaN weights', () => p('nan-teacher.safetensors'), says(/non-finite value/, 1)],
    ['--teacher-path holds an I64 tensor', () => p('i64-teacher.safetensors'), says(/i64-teacher\.safetensors: tensor 'head\.bias': is I64/, 1)],
    ['--teacher-path has 300k unexpected keys', () => p('300k-keys.safetensors'), (r) => (r.code === 1 && r.stderr.length < 4000 ? '' : `exit ${r.code}, ${r.stderr.length} bytes of message`)],
    ['--teacher-path is a 3 GiB sparse file', () => p('sparse-3gib.safetensors'), says(/do not fit|missing/, 1)],
  ];
  for (const [name, arg, expect] of weightsCases) {
    await attack('weights', name, {
      setup: async () => { run ??= await finishedRun('weights-run', ['--distillation-type', 'none', '--model-overrides', TEACHER]); return { arg: arg() }; },
      args: (ctx) => tinyTrain(p(`wt-${name.replace(/\W+/g, '-')}`), ['--teacher-path', ctx.arg]), timeout: 60, expect,
    });
  }
  for (const [name, make, expect] of [
    ['eval --weights is a FIFO', () => p('t.fifo'), says(/FIFO/, 1)],
    ['eval --weights is a run directory', () => run, exitIs(0)],
    ['eval --weights is missing', () => p('missing.safetensors'), says(/no such file or directory/, 1)],
    ['eval --weights with absurd kwargs metadata (embed_dim 3e6)', () => p('absurd-kwargs.safetensors'), says(/too large/, 1)],
  ]) {
    await attack('weights', name, {
      setup: async () => { run ??= await finishedRun('weights-run', ['--distillation-type', 'none', '--model-overrides', TEACHER]); return { arg: make() }; },
      args: (ctx) => ['eval', '--weights', ctx.arg, '--data-set', 'SYNTHETIC', '--input-size', '16', '--eval-subset', '16'], timeout: 40, expect,
    });
  }
}
{
  let dir;
  await attack('crash', 'checkpoint-last caught between the two renames: eval', {
    setup: async () => { dir = await finishedRun('mid-swap'); renameSync(path.join(dir, 'checkpoint-last'), path.join(dir, '.checkpoint-last.old')); },
    args: () => ['eval', '--weights', path.join(dir, 'checkpoint-last'), '--data-set', 'SYNTHETIC', '--input-size', '16', '--eval-subset', '16'], timeout: 40, expect: exitIs(0),
  });
  await attack('crash', 'checkpoint-last caught between the two renames: export', {
    args: () => ['export', '--weights', path.join(dir, 'checkpoint-last'), '--safetensors', p('mid-swap.safetensors')], timeout: 40, expect: exitIs(0),
  });
  await attack('crash', 'checkpoint-last caught between the two renames: --resume', {
    args: () => tinyTrain(dir, ['--epochs', '2', '--resume', path.join(dir, 'checkpoint-last')]), timeout: 60, expect: exitIs(0),
  });
  await attack('crash', 'stale .checkpoint-last.tmp-<dead pid> directories are removed at start', {
    setup: () => { for (const n of [4194301, 4194302]) mkdirSync(path.join(dir, `.checkpoint-last.tmp-${n}`, 'x'), { recursive: true }); },
    args: () => tinyTrain(dir, ['--epochs', '3', '--resume', path.join(dir, 'checkpoint-last')]), timeout: 60,
    expect: (r) => (readdirSync(dir).some((f) => f.includes('.tmp-')) ? 'temporaries left' : exitIs(0)(r)),
  });
  for (const [what, make, expected] of [
    ['a .safetensors file', () => p('teacher.safetensors'), /holds no optimizer state/],
    ['missing', () => p('nope'), /no such file or directory/],
    ['a damaged state.json', () => { const d = p('damaged'); mkdirSync(d, { recursive: true }); writeFileSync(path.join(d, 'state.json'), '{"epoch": 1,'); return d; }, /state\.json: unreadable: not valid JSON/],
    ['a checkpoint without state.safetensors', () => { const d = p('nostate'); execFileSync('cp', ['-r', path.join(dir, 'checkpoint-last'), d]); rmSync(path.join(d, 'state.safetensors')); return d; }, /state\.safetensors: no such file/],
  ]) {
    await attack('weights', `--resume is ${what}`, {
      setup: () => ({ arg: make() }), args: (ctx) => tinyTrain(p(`resume-${what.replace(/\W+/g, '-')}`), ['--resume', ctx.arg]), timeout: 40, expect: says(expected, 1),
    });
  }
}

// ================================================================================================================
// Re-runs over earlier runs (silent data loss)
// ================================================================================================================
{
  const dir = p('rerun');
  await attack('re-run', 'first run into --output-dir R', { args: tinyTrain(dir), timeout: 60, expect: exitIs(0) });
  await attack('re-run', 'the same command again (finished, same config)', { args: tinyTrain(dir), preserve: dir, timeout: 60, expect: says(/holds this run, finished|reusing/, 0) });
  await attack('re-run', 'again with another --lr', { args: tinyTrain(dir, ['--lr', '1e-3']), preserve: dir, timeout: 60, expect: says(/already holds a student run/, 1) });
  await attack('re-run', 'again with more --epochs, no --resume', { args: tinyTrain(dir, ['--epochs', '2']), preserve: dir, timeout: 60, expect: says(/--resume/, 1) });
  await attack('re-run', 'again with another seed and threads', { args: tinyTrain(dir, ['--seed', '3', '--threads', '1']), preserve: dir, timeout: 60, expect: says(/seed 0 → 3/, 1) });
  await attack('re-run', '--resume another run\'s checkpoint into R (which holds a run)', {
    setup: async () => ({ other: await finishedRun('rerun-other', ['--seed', '5']) }),
    args: (ctx) => tinyTrain(dir, ['--seed', '5', '--epochs', '2', '--resume', path.join(ctx.other, 'checkpoint-last')]), preserve: dir, timeout: 60,
    expect: says(/would write over it/, 1),
  });
  await attack('re-run', '--resume a finished run (no NaN% table)', {
    args: tinyTrain(dir, ['--resume', path.join(dir, 'checkpoint-last')]), preserve: dir, timeout: 60,
    expect: (r) => (/NaN/.test(r.stdout) ? 'NaN in the table' : exitIs(0)(r)),
  });
  const recipe = (extra = []) => ['train', '--data-set', 'SYNTHETIC', '--input-size', '16', '--train-subset', '64', '--eval-subset', '32', '--batch-size', '16',
    '--epochs', '1', '--teacher-epochs', '1', '--teacher-path', 'train', '--compare-scratch', '--model-overrides', STUDENT, '--teacher-model', 'deit_tiny_patch16_224',
    '--teacher-overrides', TEACHER, '--s-id', '0', '1', '--t-id', '1', '2', '--K', '16', '--teacher-check', '16', '--workers', '0', '--output-dir', p('recipe'), ...extra];
  await attack('re-run', 'recipe with --teacher-path train --compare-scratch (quickstart-like), first run', { args: recipe(), timeout: 90, expect: exitIs(0) });
  await attack('re-run', 'the same recipe again (teacher, scratch and student reused)', { args: recipe(), preserve: p('recipe'), timeout: 90, expect: says(/reusing the teacher/, 0) });
  await attack('re-run', 'the recipe with other --teacher-overrides', {
    args: recipe(['--teacher-overrides', '{"embedDim":64,"depth":3,"numHeads":2,"patchSize":4}']), preserve: p('recipe'), timeout: 90, expect: says(/already holds a (student|teacher) run .* with another config/, 1),
  });
}

// ================================================================================================================
// Model overrides and sizes
// ================================================================================================================
for (const [name, extra, expected] of [
  ['--model-overrides embedDimm (typo)', ['--model-overrides', '{"embedDimm":32}'], /unknown field 'embedDimm' \(did you mean 'embedDim'\?\)/],
  ['--model-overrides embedDim "32" (a string)', ['--model-overrides', '{"embedDim":"32"}'], /'embedDim' must be a positive integer, got the string "32"/],
  ['--model-overrides mlpRatio 1e9', ['--model-overrides', '{"mlpRatio":1e9}'], /'mlpRatio' is too large/],
  ['--model-overrides embedDim 1e6', ['--model-overrides', '{"embedDim":1000000,"numHeads":1}'], /'embedDim' is too large/],
  ['--model-overrides depth 1e6', ['--model-overrides', '{"depth":1000000}'], /'depth' is too large/],
  ['--model-overrides numClasses 100', ['--model-overrides', '{"numClasses":100}'], /'numClasses' cannot be overridden/],
  ['--teacher-overrides depht (typo)', ['--teacher-overrides', '{"depht":3}'], /unknown field 'depht' \(did you mean 'depth'\?\)/],
  ['--model-overrides not JSON', ['--model-overrides', '{embedDim:32'], /must be a JSON object/],
  ['--input-size 100000 (activations)', ['--input-size', '100000', '--model-overrides', '{"patchSize":4}'], /too large/],
  ['--batch-size 1000000000', ['--batch-size', '1000000000', '--train-subset', '0'], /out of memory|too large|larger than/],
  ['--lr nan', ['--lr', 'nan'], /'lr' must be a number/],
]) {
  await attack('sizes and values', name, { args: tinyTrain(p(`ov-${name.replace(/\W+/g, '-')}`), extra), timeout: 60, expect: says(expected, 1) });
}

// ================================================================================================================
// Threads, processes and other resource limits
// ================================================================================================================
await attack('resource limit', 'MDISTILL_THREADS=99999 eval', {
  env: { MDISTILL_THREADS: '99999' }, args: ['eval', '--weights', p('teacher.safetensors'), '--data-set', 'SYNTHETIC', '--input-size', '16', '--eval-subset', '32'],
  timeout: 40, expect: says(/more than the \d+ cores/, 0),
});
await attack('resource limit', 'eval --threads 1000', {
  args: ['eval', '--weights', p('teacher.safetensors'), '--data-set', 'SYNTHETIC', '--input-size', '16', '--eval-subset', '32', '--threads', '1000'],
  timeout: 40, expect: says(/more than the \d+ cores/, 0),
});
await attack('resource limit', 'OMP_NUM_THREADS=99999 eval', {
  env: { OMP_NUM_THREADS: '99999' }, args: ['eval', '--weights', p('teacher.safetensors'), '--data-set', 'SYNTHETIC', '--input-size', '16', '--eval-subset', '32'],
  timeout: 40, expect: exitIs(0),
});
await attack('resource limit', 'info --threads 100000', { args: ['info', '--threads', '100000'], timeout: 40, expect: says(/more than the \d+ cores/, 0) });
await attack('resource limit', 'train --workers 1000 (ImageFolder)', {
  setup: () => ({ root: imageFolder('workers-1000') }), args: (ctx) => folderTrain(ctx.root, p('workers-1000-run'), ['--workers', '1000']),
  timeout: 60, expect: says(/--workers 1000 is more than/, 0),
});
await attack('resource limit', `--nproc-per-node ${4 * CORES + 1}`, {
  unsafeBefore: 'it would start that many trainers at once', args: tinyTrain(p('nproc-many'), ['--nproc-per-node', String(4 * CORES + 1)]),
  timeout: 30, expect: says(/at most/, 1),
});
await attack('resource limit', 'open files limit (ulimit -n 40) with 2 decode workers', {
  setup: () => ({ root: imageFolder('emfile') }), shell: 'ulimit -n 40; exec $CLI',
  args: (ctx) => folderTrain(ctx.root, p('emfile-run'), ['--workers', '2']), timeout: 60, expect: (r) => (r.code === 0 || /too many open files/.test(r.stderr) ? '' : 'expected success or "too many open files"'),
});
await attack('resource limit', 'address space limit (ulimit -v 3 GiB), a large model', {
  shell: 'ulimit -v 3145728; exec $CLI',
  args: tinyTrain(p('rlimit-as'), ['--model-overrides', '{"embedDim":2048,"depth":12,"numHeads":8,"patchSize":4}', '--distillation-type', 'none', '--batch-size', '64', '--train-subset', '128']),
  timeout: 90, expect: says(/out of memory|too large/, 1),
});
await attack('environment', 'MDISTILL_ADDON=/nonexistent', { env: { MDISTILL_ADDON: '/nonexistent/mdistill.node' }, args: ['info'], timeout: 30, expect: says(/MDISTILL_ADDON.*could not be loaded/, 0) });
await attack('environment', 'MDISTILL_ADDON=/dev/null', { env: { MDISTILL_ADDON: '/dev/null' }, args: ['info'], timeout: 30, expect: says(/MDISTILL_ADDON.*could not be loaded/, 0) });
await attack('environment', '--distillation-type none with --teacher-path', { args: tinyTrain(p('none-teacher'), ['--distillation-type', 'none']), timeout: 60, expect: says(/is not used/, 0) });
await attack('environment', '--distillation-type none, preset pairs --s-id 0 1 2 3 on a 2-block student', {
  args: tinyTrain(p('none-sid'), ['--distillation-type', 'none', '--s-id', '0', '1', '2', '3', '--t-id', '1', '2', '4', '5']), timeout: 60, expect: exitIs(0),
});

// ================================================================================================================
// Signals
// ================================================================================================================
const longRun = (dir, extra = []) => tinyTrain(dir, ['--epochs', '3', '--train-subset', '512', ...extra]);
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]]) {
  const dir = p(`sig-${signal}`);
  await attack('signal', `${signal} mid-epoch`, {
    args: longRun(dir), signal: { name: signal, when: () => stepsIn(dir) >= 3 }, timeout: 60,
    expect: (r) => (r.code === code && existsSync(path.join(dir, 'checkpoint-last', 'state.json')) ? '' : `expected exit ${code} with checkpoint-last`),
  });
}
{
  const dir = p('sig-twice');
  await attack('signal', 'SIGINT twice (exit at once), earlier checkpoint kept', {
    setup: async () => { await runCli({ args: tinyTrain(dir), orphanWait: 0 }); },
    args: longRun(dir, ['--resume', path.join(dir, 'checkpoint-last')]),
    signal: { name: 'SIGINT', when: () => stepsIn(dir) >= 10, then: async (pid) => { await sleep(5); try { process.kill(pid, 'SIGINT'); } catch { /* gone */ } } },
    timeout: 60, expect: (r) => (r.code === 130 ? checkpointIntact(dir) : `expected 130, got ${r.code}`),
  });
}
{
  const dir = p('sig-quit');
  await attack('signal', 'SIGQUIT mid-epoch (no handler: the earlier checkpoint is intact)', {
    setup: async () => { await runCli({ args: tinyTrain(dir), orphanWait: 0 }); },
    args: longRun(dir, ['--resume', path.join(dir, 'checkpoint-last')]),
    signal: { name: 'SIGQUIT', when: () => stepsIn(dir) >= 10 }, timeout: 60, expect: () => checkpointIntact(dir),
  });
}
{
  const root = imageFolder('sig-listing', { n: 2 });
  await attack('signal', 'SIGINT while opening the data (before the first step)', {
    args: folderTrain(root, p('sig-listing-run')), signal: { name: 'SIGINT', when: (() => { const t0 = Date.now(); return async () => Date.now() - t0 > 1200; })() },
    timeout: 40, expect: (r) => (/; checkpoint-last is saved/.test(r.stderr) && !existsSync(p('sig-listing-run', 'checkpoint-last')) ? 'claims a checkpoint that is not there' : ''),
  });
}
await attack('signal', 'SIGPIPE: info | head -c 20 (stdout closed early)', { shell: '$CLI | head -c 20 >/dev/null; exit ${PIPESTATUS[0]}', args: ['info', '--json'], timeout: 30, expect: exitIs(0) });
await attack('signal', 'SIGPIPE: train --help | head -1', { shell: '$CLI | head -1 >/dev/null; exit ${PIPESTATUS[0]}', args: ['train', '--help'], timeout: 30, expect: exitIs(0) });
await attack('signal', 'SIGPIPE: train … | true (stdout gone before the table)', {
  shell: '$CLI | true; exit ${PIPESTATUS[0]}', args: tinyTrain(p('sigpipe-train')), timeout: 60,
  expect: (r) => (existsSync(p('sigpipe-train', 'checkpoint-last', 'state.json')) ? '' : 'no checkpoint'),
});
const workersOf = (launcher) => {
  const out = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === launcher) out.push(Number(e));
    } catch { /* gone */ }
  }
  return out.sort((a, b) => a - b);
};
for (const [signal, target, expect] of [
  ['SIGKILL', 'the launcher', (r) => ''],
  ['SIGTERM', 'the launcher', exitIs(143, 1)],
  ['SIGHUP', 'the launcher', exitIs(129, 1)],
  ['SIGKILL', 'rank 1', exitIs(1)],
  ['SIGSTOP', 'rank 1 (--dist-timeout 8)', (r) => (r.seconds < 40 ? '' : `took ${r.seconds.toFixed(0)} s`)],
]) {
  const dir = p(`launch-${signal}-${target.replace(/\W+/g, '-')}`);
  await attack('signal', `--nproc-per-node 2: ${signal} to ${target}`, {
    args: tinyTrain(dir, ['--nproc-per-node', '2', '--epochs', '50', '--train-subset', '512', '--threads', '1', ...(signal === 'SIGSTOP' ? ['--dist-timeout', '8'] : [])]),
    signal: { name: signal, when: () => stepsIn(dir) >= 3, target: (pid) => (target.startsWith('rank') ? workersOf(pid).slice(-1) : [pid]) },
    timeout: 150, orphanWait: 20000, expect,
  });
}
{
  for (let i = 0; i < 6; i++) {
    const dir = p(`kill9-${i}`);
    await attack('crash', `kill -9 during training #${i + 1} (${40 + 35 * i} ms after a checkpoint write starts), then eval, export and resume agree`, {
      setup: async () => { await runCli({ args: tinyTrain(dir), orphanWait: 0 }); },
      args: longRun(dir, ['--resume', path.join(dir, 'checkpoint-last'), '--epochs', '40', '--train-subset', '64']),
      signal: { name: 'SIGKILL', when: async () => existsSync(dir) && readdirSync(dir).some((f) => f.includes('.tmp-') || f.endsWith('.old')) && (await sleep(40 + 35 * i), true) },
      timeout: 90, orphanWait: 0,
      expect: () => {
        const ev = execFileSync(process.execPath, [CLI, 'eval', '--weights', path.join(dir, 'checkpoint-last'), '--data-set', 'SYNTHETIC', '--input-size', '16', '--eval-subset', '16', '--json'], { encoding: 'utf8', env: { ...process.env, MDISTILL_THREADS: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
        if (!JSON.parse(ev).samples) return 'eval failed';
        execFileSync(process.execPath, [CLI, ...tinyTrain(dir, ['--resume', path.join(dir, 'checkpoint-last'), '--epochs', '41', '--train-subset', '64'])], { env: { ...process.env, MDISTILL_THREADS: '1' }, stdio: 'ignore' });
        return '';
      },
    });
  }
}

// ---- the report ---------------------------------------------------------------------------------------------------
const count = (flag) => results.filter((r) => r.flags.includes(flag)).length;
process.stderr.write(`\n[${LABEL}] ${results.length} runs: ${count('HANG')} hangs, ${count('ORPHAN')} with orphans, ${count('LOSS')} with data loss, ` +
  `${count('RAW')} with raw text, ${count('WRONG')} not as expected\n`);
if (JSON_OUT) writeFileSync(JSON_OUT, JSON.stringify({ label: LABEL, cli: CLI, results }, null, 1));
