// The official ManifoldKD command line, verbatim after `main.py`, in a dry run: it must resolve to the official
// configuration (the official parser's defaults plus the line's flags), read no data and no weights, and check that
// the paths it names exist.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { runCli } from '../../src/cli/main.js';
import { configToYaml } from '../../src/config/resolveConfig.js';
import type { TrainConfig } from '../../src/config/schema.js';
import { officialSpellings } from '../../src/cli/officialFlags.js';
import { PTH_DIR } from '../io/pthFixtures.js';

// The README's line (Hao840/manifold-distillation, README.md, "Training on ImageNet-1K"), after `main.py`:
const README_LINE = '--distributed --output_dir <output-dir> --data-path <dataset-dir> --teacher-path <path-of-teacher-checkpoint> ' +
  '--model deit_tiny_patch16_224 --teacher-model cait_s24_224 --distillation-type soft --distillation-alpha 1 --distillation-beta 1 ' +
  '--w-sample 0.1 --w-patch 4 --w-rand 0.2 --K 192 --s-id 0 1 2 3 8 9 10 11 --t-id 0 1 2 3 20 21 22 23 --drop-path 0';

// The official parser's defaults (Hao840/manifold-distillation, main.py, get_args_parser()), for every option
// with a counterpart here, under this CLI's name. An empty string ('' = unset there) is null here.
const OFFICIAL_DEFAULTS: Partial<TrainConfig> = {
  'batch-size': 64, epochs: 300,
  'distillation-beta': 1.0, 'w-sample': 1.0, 'w-patch': 1.0, 'w-rand': 1.0, K: 192,
  model: 'deit_base_patch16_224', 'input-size': 224, 'drop-path': 0.0,
  'model-ema': true, 'model-ema-decay': 0.99996,
  'clip-grad': null, 'weight-decay': 0.05,
  lr: 5e-4, 'warmup-lr': 1e-6, 'min-lr': 1e-5, 'warmup-epochs': 5,
  'color-jitter': 0.4, aa: 'rand-m9-mstd0.5-inc1', smoothing: 0.1, 'repeated-aug': true,
  reprob: 0.25, mixup: 0.8, cutmix: 1.0, 'mixup-switch-prob': 0.5,
  'teacher-model': 'cait_s24_224', 'teacher-path': null, 'distillation-type': 'none', 'distillation-alpha': 0.5, 'distillation-tau': 1.0,
  finetune: null, 'data-set': 'IMNET', seed: 0, resume: null, 'dist-eval': true,
};
// Official options that are fixed behaviour here, not settings (so not in the config): --drop 0 (no dropout),
// --opt adamw, --opt-eps 1e-8, --opt-betas None (AdamW 0.9/0.999), --sched cosine (its --cooldown-epochs,
// --decay-epochs, --decay-rate, --patience-epochs and --lr-noise* belong to other schedules), --mixup-prob 1,
// --mixup-mode batch, --cutmix-minmax None, --train-interpolation bicubic, --remode pixel, --recount 1, --resplit,
// --model-ema-force-cpu, --momentum (SGD), --inat-category, --pin-mem, --eval (`mdistill eval`), and the launcher's
// --distributed, --world_size, --dist_url, --local_rank, --start_epoch (see officialFlags.ts).
// Two machine settings keep this tool's defaults on purpose: --device cuda (here cpu unless --device cuda) and
// --num_workers 10 (here --workers, default: the cores left after the native threads).
const OUR_MACHINE_DEFAULTS: Partial<TrainConfig> = { device: 'cpu', workers: null };

function setup() {
  const work = mkdtempSync(path.join(tmpdir(), 'mdistill-official-'));
  const data = path.join(work, 'imagenet');
  mkdirSync(data);
  // Not a checkpoint at all: a dry run must not read it.
  const teacher = path.join(work, 'S24_224.pth');
  writeFileSync(teacher, 'not read by a dry run');
  const out = path.join(work, 'out');
  const args = README_LINE.replace('<output-dir>', out).replace('<dataset-dir>', data).replace('<path-of-teacher-checkpoint>', teacher).split(' ');
  return { work, data, teacher, out, args };
}

function capture() {
  const stdout: string[] = [];
  const stderr: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => (stdout.push(String(s)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => (stderr.push(String(s)), true));
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void stderr.push(a.join(' ')));
  return { stdout, stderr };
}

afterEach(() => vi.restoreAllMocks());

describe('the official command line', () => {
  it('resolves, in a dry run, to the official defaults plus the README\'s flags, reading no data or weights', async () => {
    const { args, data, teacher, out } = setup();
    const io = capture();
    const code = await runCli(['node', 'mdistill', 'train', ...args, '--dry-run']);
    vi.restoreAllMocks();
    expect(io.stderr.join('')).not.toMatch(/mdistill:/);
    expect(code).toBe(0);
    const text = io.stdout.join('');
    const resolved = YAML.parse(text) as TrainConfig;
    const expected: Partial<TrainConfig> = {
      ...OFFICIAL_DEFAULTS,
      ...OUR_MACHINE_DEFAULTS,
      // the README's flags
      'output-dir': out, 'data-path': data, 'teacher-path': teacher, model: 'deit_tiny_patch16_224', 'teacher-model': 'cait_s24_224',
      'distillation-type': 'soft', 'distillation-alpha': 1, 'distillation-beta': 1, 'w-sample': 0.1, 'w-patch': 4, 'w-rand': 0.2, K: 192,
      's-id': [0, 1, 2, 3, 8, 9, 10, 11], 't-id': [0, 1, 2, 3, 20, 21, 22, 23], 'drop-path': 0,
    };
    for (const [key, value] of Object.entries(expected)) expect({ key, value: resolved[key as keyof TrainConfig] }).toEqual({ key, value });
    // The printed text is the YAML a run writes as its config.yaml.
    expect(configToYaml(resolved)).toBe(text);
    // The notes say which base applied and what --distributed did.
    expect(io.stderr.join('')).toContain("starting from the paper's recipe (configs/deit-tiny-cait-s24.yaml)");
    expect(io.stderr.join('')).toContain('--distributed: no launcher variables');
  });

  it('accepts what torch.distributed.launch appends (--local_rank=N) and the other underscore spellings', async () => {
    const { args } = setup();
    const io = capture();
    const code = await runCli(['node', 'mdistill', 'train', '--local_rank=0', ...args, '--num_workers', '3', '--world_size', '1', '--dist_url', 'env://', '--start_epoch', '0', '--dry-run']);
    vi.restoreAllMocks();
    expect(io.stderr.join('')).not.toMatch(/mdistill:/);
    expect(code).toBe(0);
    expect(YAML.parse(io.stdout.join('')).workers).toBe(3);
    expect(officialSpellings(['node', 'm', 'train', '--output_dir=x', '--data_path', 'y', '--no_such_flag', '--', '--output_dir'], new Set(['--output-dir', '--data-path'])))
      .toEqual(['node', 'm', 'train', '--output-dir=x', '--data-path', 'y', '--no_such_flag', '--', '--output_dir']);
  });

  it('refuses --start_epoch other than 0 and an unsupported --dist_url, naming the flag', async () => {
    const { args } = setup();
    for (const [extra, message] of [
      [['--start_epoch', '5'], /--start_epoch 5: a fresh run starts at epoch 0 here; to continue a run, pass --resume/],
      [['--dist_url', 'file:///tmp/x'], /--dist_url 'file:\/\/\/tmp\/x': only env:\/\/ .* and tcp:\/\/host:port/],
    ] as const) {
      const io = capture();
      const code = await runCli(['node', 'mdistill', 'train', ...args, ...extra, '--dry-run']);
      vi.restoreAllMocks();
      expect(code).toBe(1);
      expect(io.stderr.join('')).toMatch(message);
    }
  });

  it('fails a dry run that names paths that do not exist, listing each with its flag', async () => {
    const { args, work } = setup();
    const io = capture();
    const missingData = path.join(work, 'no-imagenet');
    const missingTeacher = path.join(work, 'no-teacher.pth');
    const code = await runCli(['node', 'mdistill', 'train', ...args, '--data-path', missingData, '--teacher-path', missingTeacher, '--dry-run']);
    vi.restoreAllMocks();
    expect(code).toBe(1);
    expect(io.stderr.join('')).toContain(`mdistill: --dry-run: these paths do not exist: --data-path ${missingData}; --teacher-path ${missingTeacher}`);
    // The YAML is printed all the same, for inspection.
    expect(YAML.parse(io.stdout.join('')).model).toBe('deit_tiny_patch16_224');
  });

  it('fails a dry run whose weights argument the run would refuse: the official --resume <checkpoint.pth>, pointing at --finetune', async () => {
    const { args } = setup();
    const io = capture();
    const checkpoint = path.join(PTH_DIR, 'deit_checkpoint_zip.pth');
    const code = await runCli(['node', 'mdistill', 'train', ...args, '--resume', checkpoint, '--dry-run']);
    vi.restoreAllMocks();
    expect(code).toBe(1);
    expect(io.stderr.join('')).toContain(`mdistill: --dry-run: --resume ${checkpoint}: a PyTorch checkpoint cannot be resumed here`);
    expect(io.stderr.join('')).toContain(`pass --finetune ${checkpoint} instead`);
  });

  it('keeps the quickstart as the base without --model, and a given --config over either', async () => {
    const { out } = setup();
    for (const [args, dataSet] of [[[], 'FASHION-MNIST'], [['--model', 'deit_small_patch16_224', '--config', 'quickstart'], 'FASHION-MNIST'], [['--model', 'deit_small_patch16_224'], 'IMNET']] as const) {
      const io = capture();
      const code = await runCli(['node', 'mdistill', 'train', ...args, '--output-dir', out, '--teacher-path', 'train', '--data-path', tmpdir(), '--dry-run']);
      vi.restoreAllMocks();
      expect(code).toBe(0);
      expect(YAML.parse(io.stdout.join(''))['data-set']).toBe(dataSet);
    }
  });
});
