// The ablation's rows: scratch, soft KD, KD + each manifold term alone, the full loss; each row is the preset with
// a few keys changed.
import type { TrainConfig } from '../config/schema.js';

export type AblationRowId = 'scratch' | 'kd' | 'kd-patch' | 'kd-sample' | 'kd-rand' | 'manifold';

export interface AblationRowSpec {
  id: AblationRowId;
  name: string;
  /** Keys that differ from the preset for this row. */
  overrides: Partial<TrainConfig>;
}

const MANIFOLD_WEIGHTS = ['w-sample', 'w-patch', 'w-rand'] as const;

/** The six rows. Each manifold row keeps the preset's weight for its term(s) and zeroes the others. */
export function ablationRows(config: TrainConfig): AblationRowSpec[] {
  const kd = config['distillation-type'];
  if (kd === 'none') {
    throw new Error(`ablate needs a distillation config: 'distillation-type' is none; use --distillation-type soft (or hard)`);
  }
  if (!(config['distillation-beta'] > 0)) {
    throw new Error(`ablate needs 'distillation-beta' > 0 (got ${config['distillation-beta']}): it scales every manifold term`);
  }
  for (const key of MANIFOLD_WEIGHTS) {
    if (!(config[key] > 0)) {
      throw new Error(`ablate needs '${key}' > 0 (got ${config[key]}): its row would repeat the KD-only row; give it a weight with --${key}`);
    }
  }
  const only = (keep: (typeof MANIFOLD_WEIGHTS)[number][]): Partial<TrainConfig> =>
    Object.fromEntries(MANIFOLD_WEIGHTS.map((k) => [k, keep.includes(k) ? config[k] : 0])) as Partial<TrainConfig>;
  return [
    { id: 'scratch', name: 'student from scratch (no teacher)', overrides: { 'distillation-type': 'none' } },
    { id: 'kd', name: `${kd} KD only`, overrides: only([]) },
    { id: 'kd-patch', name: `${kd} KD + patch manifold`, overrides: only(['w-patch']) },
    { id: 'kd-sample', name: `${kd} KD + sample manifold`, overrides: only(['w-sample']) },
    { id: 'kd-rand', name: `${kd} KD + random manifold`, overrides: only(['w-rand']) },
    { id: 'manifold', name: `${kd} KD + full manifold (patch + sample + random)`, overrides: only([...MANIFOLD_WEIGHTS]) },
  ];
}
