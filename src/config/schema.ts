// The one schema of a training run. Every key is both a YAML key (in --config files) and a CLI flag
// (`--<key>`), with the official ManifoldKD/DeiT names so the paper's command line carries over.

export type FieldType = 'number' | 'integer' | 'boolean' | 'string' | 'int-list' | 'json-object';

export interface Field {
  type: FieldType;
  default: unknown;
  help: string;
  /** Allowed values for strings. */
  choices?: readonly string[];
  /** Inclusive lower bound for numbers. */
  min?: number;
  max?: number;
  /** May be null (e.g. an optional path). */
  nullable?: boolean;
  group: 'model' | 'distillation' | 'optimizer' | 'augmentation' | 'data' | 'run' | 'machine' | 'distributed';
}

export const DATA_SETS = ['FASHION-MNIST', 'MNIST', 'CIFAR10', 'CIFAR100', 'IMNET', 'IMAGEFOLDER', 'SYNTHETIC'] as const;

export const SCHEMA = {
  // Models
  model: { type: 'string', default: 'deit_tiny_patch16_224', help: 'student preset (timm name)', group: 'model' },
  'model-overrides': { type: 'json-object', default: {}, help: 'student ModelConfig fields to override, e.g. {"embedDim":64,"depth":4}', group: 'model' },
  'teacher-model': { type: 'string', default: 'cait_s24_224', help: 'teacher preset (timm name)', group: 'model' },
  'teacher-overrides': { type: 'json-object', default: {}, help: 'teacher ModelConfig fields to override', group: 'model' },
  'teacher-path': { type: 'string', default: null, nullable: true, help: 'teacher weights: .safetensors (timm names), a .pth (the official/DeiT checkpoints), a checkpoint or a run directory; "train" trains one first', group: 'model' },
  'teacher-epochs': { type: 'integer', default: 0, min: 0, help: 'with --teacher-path train: epochs to train the teacher', group: 'model' },
  'compare-scratch': { type: 'boolean', default: false, help: 'also train the student from scratch (no teacher) and compare', group: 'model' },
  finetune: { type: 'string', default: null, nullable: true, help: 'start the student from these weights (checkpoint dir, .safetensors or .pth): head dropped when the classes differ, pos_embed resampled when the input size does', group: 'model' },
  'drop-path': { type: 'number', default: 0.1, min: 0, max: 1, help: 'stochastic depth rate of the student', group: 'model' },
  // Distillation
  'distillation-type': { type: 'string', default: 'soft', choices: ['none', 'soft', 'hard'], help: 'KD on the logits', group: 'distillation' },
  'distillation-alpha': { type: 'number', default: 1.0, min: 0, max: 1, help: 'weight of KD against CE: (1-α)·CE + α·KD', group: 'distillation' },
  'distillation-beta': { type: 'number', default: 1.0, min: 0, help: 'weight of the manifold terms', group: 'distillation' },
  'distillation-tau': { type: 'number', default: 1.0, min: 1e-6, help: 'KD temperature', group: 'distillation' },
  'w-sample': { type: 'number', default: 0.1, min: 0, help: 'weight of the sample (inter-image) relation', group: 'distillation' },
  'w-patch': { type: 'number', default: 4, min: 0, help: 'weight of the patch (intra-image) relation', group: 'distillation' },
  'w-rand': { type: 'number', default: 0.2, min: 0, help: 'weight of the random-token relation', group: 'distillation' },
  K: { type: 'integer', default: 192, min: 1, help: 'tokens sampled for the random relation (clamped to B·N)', group: 'distillation' },
  's-id': { type: 'int-list', default: [0, 1, 2, 3, 8, 9, 10, 11], help: 'student blocks of the layer pairs', group: 'distillation' },
  't-id': { type: 'int-list', default: [0, 1, 2, 3, 20, 21, 22, 23], help: 'teacher blocks of the layer pairs', group: 'distillation' },
  'max-patch-num': { type: 'integer', default: 0, min: 0, help: 'merge both grids down to at most this many tokens (0: off)', group: 'distillation' },
  'manifold-impl': { type: 'string', default: 'fused', choices: ['fused', 'naive'], help: 'manifold loss kernel', group: 'distillation' },
  // Optimizer and schedule
  epochs: { type: 'integer', default: 300, min: 1, help: 'training epochs', group: 'optimizer' },
  'batch-size': { type: 'integer', default: 64, min: 1, help: 'batch size per process', group: 'optimizer' },
  lr: { type: 'number', default: 5e-4, min: 0, help: 'base learning rate, scaled by global batch / 512', group: 'optimizer' },
  'warmup-epochs': { type: 'number', default: 5, min: 0, help: 'linear warmup epochs', group: 'optimizer' },
  'warmup-lr': { type: 'number', default: 1e-6, min: 0, help: 'learning rate at the start of warmup', group: 'optimizer' },
  'min-lr': { type: 'number', default: 1e-5, min: 0, help: 'learning rate at the end of the cosine', group: 'optimizer' },
  'weight-decay': { type: 'number', default: 0.05, min: 0, help: 'AdamW weight decay (not on 1-D params, biases, pos_embed, cls/dist tokens)', group: 'optimizer' },
  'clip-grad': { type: 'number', default: null, nullable: true, min: 0, help: 'clip the global gradient norm (off when unset)', group: 'optimizer' },
  'model-ema': { type: 'boolean', default: true, help: 'keep, evaluate and save an EMA of the student', group: 'optimizer' },
  'model-ema-decay': { type: 'number', default: 0.99996, min: 0, max: 1, help: 'EMA decay', group: 'optimizer' },
  // Augmentation
  mixup: { type: 'number', default: 0.8, min: 0, help: 'mixup alpha (0: off)', group: 'augmentation' },
  cutmix: { type: 'number', default: 1.0, min: 0, help: 'cutmix alpha (0: off)', group: 'augmentation' },
  'mixup-switch-prob': { type: 'number', default: 0.5, min: 0, max: 1, help: 'probability of cutmix when both are on', group: 'augmentation' },
  smoothing: { type: 'number', default: 0.1, min: 0, max: 1, help: 'label smoothing', group: 'augmentation' },
  aa: { type: 'string', default: 'rand-m9-mstd0.5-inc1', nullable: true, help: 'RandAugment policy (null: off)', group: 'augmentation' },
  'color-jitter': { type: 'number', default: 0.3, min: 0, help: 'color jitter, used only when --aa is off', group: 'augmentation' },
  reprob: { type: 'number', default: 0.25, min: 0, max: 1, help: 'random erasing probability', group: 'augmentation' },
  'repeated-aug': { type: 'boolean', default: true, help: 'repeated augmentation (3 repeats), also on one process', group: 'augmentation' },
  // Data
  'data-set': { type: 'string', default: 'FASHION-MNIST', choices: DATA_SETS, help: 'dataset kind', group: 'data' },
  'data-path': { type: 'string', default: '/usr/share/datasets/fashion-mnist', help: 'dataset root', group: 'data' },
  'input-size': { type: 'integer', default: 224, min: 8, help: 'image size fed to the models', group: 'data' },
  'train-subset': { type: 'integer', default: 0, min: 0, help: 'use only the first N training samples (0: all)', group: 'data' },
  'eval-subset': { type: 'integer', default: 0, min: 0, help: 'use only the first N validation samples (0: all)', group: 'data' },
  workers: { type: 'integer', default: null, nullable: true, min: 0, help: 'decode workers (default: cores left after the native threads)', group: 'data' },
  'max-bad-fraction': { type: 'number', default: 0.001, min: 0, max: 1, help: 'abort when more samples than this fail to decode', group: 'data' },
  // Run
  'output-dir': { type: 'string', default: 'runs/latest', help: 'run directory (config, log, checkpoints, report)', group: 'run' },
  seed: { type: 'integer', default: 0, min: 0, help: 'seed of every random decision', group: 'run' },
  resume: { type: 'string', default: null, nullable: true, help: 'checkpoint directory (or a run directory: its checkpoint-last) to continue from exactly (a .pth cannot be resumed: use --finetune)', group: 'run' },
  'log-every': { type: 'integer', default: 20, min: 1, help: 'log.jsonl step records every N steps', group: 'run' },
  'teacher-check': { type: 'integer', default: 512, min: 0, help: 'validation images for the teacher sanity check (0: off)', group: 'run' },
  // Machine
  threads: { type: 'integer', default: null, nullable: true, min: 1, help: 'libtorch intra-op threads (default: $MDISTILL_THREADS or all cores)', group: 'machine' },
  device: { type: 'string', default: 'cpu', choices: ['cpu', 'cuda'], help: 'where the models run', group: 'machine' },
  amp: { type: 'boolean', default: false, help: 'bf16 matrix products (fp32 master weights; the teacher runs in bf16)', group: 'machine' },
  // Distributed (data parallel over c10d: Gloo on CPU, NCCL on CUDA)
  'nproc-per-node': { type: 'integer', default: 1, min: 1, help: 'local worker processes to spawn (torchrun/SLURM variables also work)', group: 'distributed' },
  'global-sample-manifold': { type: 'boolean', default: false, help: 'sample relation over the global batch (all-gathered features), independent of the process count', group: 'distributed' },
  'dist-timeout': { type: 'number', default: 60, min: 1, help: 'seconds a rendezvous or collective may wait before every worker stops with an error', group: 'distributed' },
  'bucket-cap-mb': { type: 'number', default: 25, min: 0.001, help: 'gradient all-reduce bucket size (MB); each bucket starts as soon as its gradients are ready', group: 'distributed' },
  'dist-eval': { type: 'boolean', default: true, help: 'shard evaluation across the processes (counts are all-reduced)', group: 'distributed' },
} as const satisfies Record<string, Field>;

export type ConfigKey = keyof typeof SCHEMA;

/** A field's resolved value: a string with `choices` is the union of its choices. */
type ValueOf<F> = F extends { type: 'number' | 'integer' } ? (F extends { nullable: true } ? number | null : number)
  : F extends { type: 'boolean' } ? boolean
  : F extends { type: 'int-list' } ? number[]
  : F extends { type: 'json-object' } ? Record<string, unknown>
  : F extends { choices: readonly (infer Choice)[] } ? Choice
  : F extends { nullable: true } ? string | null : string;

/** A fully resolved run configuration, keyed by flag name. */
export type TrainConfig = { -readonly [K in ConfigKey]: ValueOf<(typeof SCHEMA)[K]> };
